# Follows tools/testing/selftests/mm/guard-regions.c basics: install guards on every other
# page, every guarded access faults, the others work; removing them restores access (anon
# pages read zero); guards survive MADV_DONTNEED and are inherited by fork.
scenario "selftest guard-regions basics"
mmap A anon private rw 6p
write A = 0x1
madvise A[0] guard_install
madvise A[2] guard_install
madvise A[4] guard_install
read A[0] -> SIGSEGV
read A[2] -> SIGSEGV
read A[4] -> SIGSEGV
expect read A[1] == 0x1
expect read A[3] == 0x1
madvise A dontneed
read A[2] -> SIGSEGV
fork child
in child {
  read A[4] -> SIGSEGV
  expect read A[5] == 0x0
}
madvise A guard_remove
expect read A[0] == 0x0
expect pagemap A[0..5] guard=0
