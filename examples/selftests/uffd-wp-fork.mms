# Follows uffd-unit-tests.c "wp-fork" on anon: without EVENT_FORK the child has no uffd-wp
# bit, neither on a present PTE nor on a swap entry; the bit persists over pageout; unprotect
# clears the swap bit; the swap-in is then not protected.
scenario "selftest uffd wp-fork"
swap 16M
mmap A anon private rw 4p
uffd U
uffd U register A wp
write A[0] = 0x1
uffd U wp A[0]
expect pagemap A[0] present=1 uffd_wp=1
fork c1
in c1 {
  expect pagemap A[0] uffd_wp=0
  exit                                              # the test's child exits before the pageout
}
madvise A[0] pageout
expect pagemap A[0] swap=1 uffd_wp=1
fork c2
in c2 {
  expect pagemap A[0] swap=1 uffd_wp=0
}
uffd U unwp A[0]
expect pagemap A[0] uffd_wp=0
write A[0] = 0x2
expect pagemap A[0] present=1 uffd_wp=0
