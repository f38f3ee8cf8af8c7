# Seed 004: a conversion to private needs every folio of the range at its baseline refcount
# (in place, v7: folio_ref_count() == folio_nr_pages() + 1 after the unmap). A long-term pin
# keeps GUP_PIN_COUNTING_BIAS references, so the ioctl fails with EAGAIN and reports the first
# such folio in error_offset; nothing is converted (the unmapping happened, the shared pages
# fault back in). Once unpinned the same conversion succeeds. To shared always succeeds.
# Under 6.18 every convert is ENOTTY.
scenario "seed 004: EAGAIN and the error offset while a page is pinned"
guest_memfd G 8p flags=mmap,init_shared
mmap A G shared rw
write A[0..7] = 0x7
pin P A[5]
when design guest_memfd.conversion = in_place {
  convert G[0..7] private -> EAGAIN
  expect guest_memfd G[0..7] shared
  expect pagemap A[0] present=0
  expect read A[0] == 0x7
  convert G[0..4] private
  expect guest_memfd G[0..4] private
  expect guest_memfd G[5..7] shared
  convert G[2..3] shared
  expect guest_memfd G[2..3] shared
}
when design guest_memfd.conversion = none {
  convert G[0..7] private -> ENOTTY
}
unpin P
when design guest_memfd.conversion = in_place {
  convert G[5..7] private
  expect guest_memfd G[0..1] private
  expect guest_memfd G[4..7] private
  read A[6] -> SIGBUS
}
expect read A[2] == 0x7
