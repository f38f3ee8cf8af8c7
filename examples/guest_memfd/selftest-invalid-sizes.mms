# Follows guest_memfd_test.c test_create_guest_memfd_invalid_sizes: a size of 0 or one
# that is not a multiple of the page size is EINVAL (kvm_gmem_create); page multiples work.
scenario "selftest guest_memfd_test invalid sizes"
guest_memfd Z 0 flags=mmap -> EINVAL
guest_memfd A 1 flags=mmap -> EINVAL
guest_memfd B 4095 -> EINVAL
guest_memfd C 4097 flags=mmap,init_shared -> EINVAL
guest_memfd D 8191 flags=init_shared -> EINVAL
guest_memfd E 1p flags=mmap,init_shared
guest_memfd F 2M flags=mmap,init_shared
mmap M F shared rw
write M[511] = 0x1ff
expect read M[511] == 0x1ff
