# KVM_CREATE_GUEST_MEMFD's size is a loff_t: kvm_gmem_create() refuses a size of 0, one that
# is not page-aligned, and one of 2^63 or more (negative), with EINVAL; any other size is the
# file's i_size, and nothing is allocated until a page is touched (checked with `mmlab diff`,
# which needs /dev/kvm). The mapping must end within MAX_LFS_FILESIZE (EOVERFLOW).
scenario "guest_memfd sizes: EINVAL beyond loff_t, anything below works"
guest_memfd Neg 0x8000000000000000 flags=mmap -> EINVAL
guest_memfd G 0x7ffffffffffff000 flags=mmap,init_shared
mmap Over G shared rw 2p offset=0x7ffffffffffff000 -> EOVERFLOW
mmap Last G shared rw 1p offset=0x7fffffffffffe000
write Last[0] = 0x5
expect read Last[0] == 0x5
mmap B G shared rw 16384G
write B[4294967295] = 0x6
expect read B[4294967295] == 0x6
punch G[4294967295]
expect read B[4294967295] == 0x0
