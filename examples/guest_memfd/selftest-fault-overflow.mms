# Follows guest_memfd_test.c test_fault_overflow: a mapping larger than the file is allowed,
# but an access at or beyond i_size raises SIGBUS (kvm_gmem_fault_user_mapping); so does a
# mapping that starts beyond it.
scenario "selftest guest_memfd_test fault overflow"
guest_memfd G 4p flags=mmap,init_shared
mmap A G shared rw 8p
write A[0..3] = 0x7
expect read A[0..3] == 0x7
read A[4] -> SIGBUS
write A[7] = 0x1 -> SIGBUS
expect pagemap A[4..7] = 0x0
mmap B G shared rw 2p offset=4p
read B[0] -> SIGBUS
madvise A populate_read -> EFAULT                 # GUP stops at i_size
