# explore: holds
# The intent of tools/testing/selftests/mm/uffd-stress.c, in small: threads fault on missing
# pages while a resolver fills them with UFFDIO_COPY. In every interleaving each fault is
# resolved (no thread is left asleep), a second copy of the same page fails with EEXIST,
# and the pages read what was copied.
scenario "faulting threads and a copy resolver"
mmap A anon private rw 2p
uffd U
uffd U register A missing
thread f1 {
  read A[0]
}
thread f2 {
  expect read A[0] == 0x10
  expect read A[1] == 0x11
}
thread resolver {
  uffd U copy A[0..1] = seq(0x10)
  uffd U copy A[0] = 0x99 -> EEXIST
}
expect read A[0..1] == seq(0x10)
check consistent
check no_lost_write
