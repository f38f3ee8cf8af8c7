# Guard regions (MADV_GUARD_INSTALL / REMOVE): a guard marker (pagemap 0x440000000000009f)
# makes any access SIGSEGV (SEGV_MAPERR) and MADV_POPULATE fail with EFAULT; it survives
# MADV_DONTNEED, MADV_PAGEOUT and fork (install gives the VMA an anon_vma); installing
# discards anon content, while shmem content stays in the page cache and is seen again
# after removal (selftests guard-regions intent).
scenario "guard regions on anon and shmem"
swap 16M
mmap A anon private rw 8p
write A = seq(0x10)
madvise A[2..3] guard_install
expect pagemap A[2..3] = 0x440000000000009f
read A[2] -> SIGSEGV
write A[3] = 0x1 -> SIGSEGV
madvise A[2..3] populate_read -> EFAULT
madvise A dontneed
madvise A pageout
expect pagemap A[2..3] = 0x440000000000009f
fork child
in child {
  expect pagemap A[2..3] = 0x440000000000009f
  read A[3] -> SIGSEGV
}
madvise A[2..3] guard_remove
expect pagemap A[2..3] = 0x0
expect read A[2] == 0x0                             # anon content was discarded
memfd F 4p
mmap B F shared rw
write B = seq(0x50)
madvise B[1] guard_install
expect pagemap B[1] = 0x440000000000009f
read B[1] -> SIGSEGV
madvise B[1] guard_remove
expect read B[1] == 0x51                            # the page cache kept it
munmap A[2..3]
expect pagemap A[2..3] = 0x0
