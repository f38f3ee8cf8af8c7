# Follows guest_memfd_test.c test_fault_private: without GUEST_MEMFD_FLAG_INIT_SHARED all
# memory is private: the mmap succeeds, but every access raises SIGBUS and GUP fails.
scenario "selftest guest_memfd_test fault private"
guest_memfd G 4p flags=mmap
mmap A G shared rw
read A[0] -> SIGBUS
write A[1] = 0x1 -> SIGBUS
read A[3] -> SIGBUS
madvise A populate_read -> EFAULT
madvise A populate_write -> EFAULT
expect pagemap A = 0x0
punch G                                           # fallocate works on private memory
