# Seed 000, row "MADV_DONTNEED after pageout": the zap drops a pageout marker (marker: nothing
# left), but the page-cache slot still holds the swap entry and the PTE table stays (the model
# has no PT_RECLAIM), so pagecache and exact still report the real slot; 6.18 nothing.
scenario "seed 000: MADV_DONTNEED after pageout"
swap 16M
memfd F 4p
mmap A F shared rw
write A[0] = 0x5
madvise A[0] pageout
madvise A[0] dontneed
when design pagemap.shmem_swap = none, marker {
  expect pagemap A[0] = 0x0
}
when design pagemap.shmem_swap = pagecache, exact {
  expect pagemap A[0] present=0 swap=1
}
expect read A[0] == 0x5
