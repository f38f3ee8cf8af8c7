# Zapping a swap PTE drops the data: the next read is an ordinary zero-page fault.
# Checked on Linux 6.18 (case 20).
scenario "pageout, dontneed, read"
swap 16M
mmap A anon private rw 2p
write A[0] = 0x31
madvise A[0] pageout
expect pagemap A[0] swap=1
madvise A[0] dontneed
expect pagemap A[0] = 0x0
expect read A[0] == 0x0
expect pagemap A[0] frame=zero
