# Seed 000, costs: what one pagemap read of every word costs under each design, counted (not
# timed): PTE reads, page-cache lookups and the xarray nodes they visit (each lookup weighted by
# the tree's depth, ⌈log64(512)⌉ = 2 for this 512-page file), and for marker the PTE writes
# reclaim adds and the marker decodes faults add. A 512-page memfd, every other page written
# ("50 % dirty"), all of it paged out, then the pagemap of every page, then every written page
# read back (swap-in). tools/designs/shmem-swap-claims.sh runs the same shapes at the threads'
# sizes (16 GiB, 1 GiB) and prints the ratios docs/designs.md puts next to the claims.
scenario "seed 000: pagemap cost per design"
swap 16M
memfd F 512p
mmap A F shared rw
write A[0..511] = 0x0
madvise A dontneed
write A[0] = 0x1
write A[2] = 0x1
write A[4] = 0x1
write A[6] = 0x1
madvise A pageout
expect pagemap A[0..511] present=0
when design pagemap.shmem_swap = pagecache, exact {
  expect pagemap A[0] swap=1
}
expect read A[0] == 0x1
