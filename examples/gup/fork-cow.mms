# tools/testing/selftests/mm/cow.c, "R/W longterm GUP pin … fork()": a page pinned for
# writing (FOLL_WRITE | FOLL_LONGTERM, as io_uring fixed buffers) is exclusive; fork does not
# share it (folio_try_dup_anon_rmap_pte() refuses a maybe-pinned exclusive page, and
# copy_present_page() gives the child its own copy), so the parent's PTE stays writable and
# the device keeps writing the page the parent sees. Writes in parent and child stay apart.
scenario "a pinned page is copied for the child at fork"
mmap A anon private rw 2p
write A[0..1] = 0x1
pin P A[0]
fork child
expect pagemap A[0] present=1 exclusive=1
write A[0] = 0x2
write A[1] = 0x3
in child {
  expect read A[0] == 0x1
  expect read A[1] == 0x1
  write A[0] = 0x4
}
expect read A[0] == 0x2
in child {
  expect read A[0] == 0x4
}
unpin P
expect read A[0] == 0x2
