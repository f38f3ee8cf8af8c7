# Follows tools/testing/selftests/kvm/guest_memfd_test.c test_mmap_supported (Linux 6.18):
# with GUEST_MEMFD_FLAG_MMAP|INIT_SHARED a MAP_PRIVATE mapping is refused (no COW of
# guest memory), a MAP_SHARED one reads zeros first, keeps what is written, and after
# fallocate(PUNCH_HOLE|KEEP_SIZE) the punched pages read zeros again (fresh folios).
scenario "selftest guest_memfd_test mmap supported"
guest_memfd G 8p flags=mmap,init_shared
mmap P G private rw -> EINVAL
mmap P2 G private r -> EINVAL                     # even read-only: VM_MAYSHARE is missing
mmap A G shared rw
expect read A == 0x0                              # zeroed on first use
write A = seq(0x100)
expect read A == seq(0x100)
expect pagemap A present=1 file=1 exclusive=1 swap=0
punch G[2..5]
expect pagemap A[2..5] = 0x0                      # truncation unmapped them
expect read A[2..5] == 0x0
expect pagemap A[2] present=1 file=1 exclusive=1
expect read A[0..1] == seq(0x100)
expect read A[6..7] == seq(0x106)
