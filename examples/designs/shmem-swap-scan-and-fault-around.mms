# Seed 000, rows "PAGEMAP_SCAN" and "fault-around over marked slots", without swap so that the
# page stays resident (see shmem-swap-no-swap.mms). W's PTE is zapped first so that A is the
# only mapper (MADV_PAGEOUT skips shared folios). PAGEMAP_SCAN reads PTEs only, so the
# page-cache designs change nothing; a pageout marker is a non-present swap PTE without
# uffd-wp: SWAPPED (and WRITTEN). After A[1..3] are zapped, a read fault on A[1] faults around
# (16 pages) and maps every resident page whose PTE is none: A[0] too under 6.18, pagecache and
# exact, but under marker filemap_map_folio_range() skips the marked slot, which keeps its
# (false) PM_SWAP.
scenario "seed 000: PAGEMAP_SCAN and fault-around over a marked slot"
memfd F 4p
mmap W F shared rw
write W[0..3] = seq(0x10)
mmap A F shared r
read A[0]
madvise W[0] dontneed
madvise A[0] pageout
pagemap_scan A
when design pagemap.shmem_swap = marker {
  expect pagemap_scan A[0] swapped=0
}
when design pagemap.shmem_swap = none, pagecache, exact {
  expect pagemap_scan A[0] swapped=none
}
madvise A[1..3] dontneed
read A[1]
when design pagemap.shmem_swap = none, pagecache, exact {
  expect pagemap A[0] present=1
}
when design pagemap.shmem_swap = marker {
  expect pagemap A[0] = 0x400000000000011f
}
expect pagemap A[2] present=1
expect read A[0] == 0x10
