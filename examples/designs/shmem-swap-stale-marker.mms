# Seed 000, row "swap-in by another sharer": both processes end up with a marker (each paged
# the page out while it was the only mapper), then main faults the page back in. The child's
# marker is now stale: the child reports PM_SWAP for a resident page until it faults or zaps.
# pagecache and exact look up the page cache, find the folio, and report nothing; 6.18 reports
# nothing. (The child forked before main touched the page, so it has no PTE to begin with.)
scenario "seed 000: a stale marker after swap-in by another sharer"
swap 16M
memfd F 4p
mmap A F shared rw
fork child
write A[0] = 0x5
madvise A[0] pageout
in child {
  read A[0]
  madvise A[0] pageout
}
expect read A[0] == 0x5
expect pagemap A[0] present=1
in child {
  when design pagemap.shmem_swap = marker {
    expect pagemap A[0] = 0x400000000000011f
  }
  when design pagemap.shmem_swap = none, pagecache, exact {
    expect pagemap A[0] = 0x0
  }
  expect read A[0] == 0x5
  expect pagemap A[0] present=1
}
