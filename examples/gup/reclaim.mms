# Reclaim does not take a pinned page (folio_maybe_dma_pinned(), refcount ≥ 1024): an anon
# page gets no swap space and stays mapped (shrink_folio_list(): keep_locked); a shmem page is
# unmapped first, then kept in the page cache (activate_locked), so the process faults it back
# without I/O. Once unpinned, both go to swap.
scenario "MADV_PAGEOUT skips pinned pages"
swap 16M
mmap A anon private rw 1p
write A[0] = 0x1
memfd F 1p
mmap S F shared rw
write S[0] = 0x2
pin P A[0]
pin Q S[0]
madvise A[0] pageout
madvise S[0] pageout
expect pagemap A[0] present=1 swap=0
expect pagemap S[0] present=0 swap=0
expect read S[0] == 0x2
unpin P
unpin Q
madvise A[0] pageout
madvise S[0] pageout
expect pagemap A[0] present=0 swap=1
expect read A[0] == 0x1
expect read S[0] == 0x2
mmap L anon private rw 1p
write L = 0x9
madvise L free                                      # lazyfree and clean
pin PL L[0]                                         # gup_fast(): no fault, still clean
madvise L pageout
expect pagemap L present=1                          # ref_count != 1 + map_count: kept as it was
expect read L == 0x9
unpin PL
madvise L pageout
expect pagemap L = 0x0                              # the pin gone: a clean lazyfree page is dropped
