# Seed 000, row "no swap": MADV_PAGEOUT of a dirty shmem page without swap. Reclaim unmaps the
# folio (try_to_unmap()) before shmem_writeout() finds no swap and redirties it: the page stays
# resident in the page cache, and this process's PTE is gone. 6.18, pagecache and exact report
# nothing (the lookup finds the folio); marker reports PM_SWAP for a resident page — a false
# positive (derived from the RFC: the marker is set at unmap time, before writeout can fail).
scenario "seed 000: MADV_PAGEOUT without swap"
memfd F 4p
mmap A F shared rw
write A[0] = 0x5
madvise A[0] pageout
when design pagemap.shmem_swap = none, pagecache, exact {
  expect pagemap A[0] = 0x0
}
when design pagemap.shmem_swap = marker {
  expect pagemap A[0] = 0x400000000000011f
}
expect read A[0] == 0x5
expect pagemap A[0] present=1
