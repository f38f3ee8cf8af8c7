# MADV_PAGEOUT of anon pages: the PTE becomes a swap entry (type 0, no exclusive bit in
# pagemap), the folio stays in the swap cache, and a read brings back the same frame,
# exclusive again. Checked on Linux 6.18 (docs/kernel-checks.md, case 2).
scenario "anon pageout and swap-in"
swap 64M
mmap A anon private rw 16p
write A[0..3] = seq(0x100)
pagemap A[0..3]                                     # frames #1..#4
madvise A[0..3] pageout
expect pagemap A[0..3] = 0x4000000000000000        # swap, type 0; the offset is an identity
expect pagemap A[0] present=0 swap=1 exclusive=0 file=0
read A[1]
expect pagemap A[1] present=1 exclusive=1 frame=id(2)   # the same frame, from the swap cache
expect read A[0..3] == seq(0x100)
write A[2] = 0x55                                   # a write-fault swap-in
expect read A[2] == 0x55
expect pagemap A[2] present=1 exclusive=1 frame=id(3)
