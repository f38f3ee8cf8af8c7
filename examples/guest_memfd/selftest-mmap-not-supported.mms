# Follows guest_memfd_test.c test_mmap_not_supported: without GUEST_MEMFD_FLAG_MMAP
# kvm_gmem_mmap() refuses with ENODEV, whatever the mapping type; INIT_SHARED alone is a
# valid flag set on a VM without private memory but does not allow mmap either.
scenario "selftest guest_memfd_test mmap not supported"
guest_memfd G 4p
mmap A G shared rw -> ENODEV
mmap B G private rw -> ENODEV                     # ENODEV is checked before MAP_SHARED
guest_memfd S 4p flags=init_shared
mmap C S shared rw -> ENODEV
mmap D S shared r 1p offset=1p -> ENODEV
punch S[0..1]
