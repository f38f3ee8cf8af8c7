# Seed 000, row "the only mapper reclaims": one process maps a memfd page, MADV_PAGEOUT writes
# it to swap. What pagemap says of it under each pagemap.shmem_swap design (mmlab compare
# examples/designs/shmem-swap-only-mapper.mms --design pagemap.shmem_swap=none,pagecache,exact,marker):
# 6.18 nothing; pagecache and exact PM_SWAP with the real swap slot (looked up in the page
# cache); marker the pageout marker word 0x400000000000011f. A[1], never written, is a none
# PTE with an empty slot: nothing under every design.
scenario "seed 000: the only mapper reclaims"
swap 16M
memfd F 4p
mmap A F shared rw
write A[0] = 0x5
madvise A[0] pageout
when design pagemap.shmem_swap = none {
  expect pagemap A[0] = 0x0
}
when design pagemap.shmem_swap = pagecache, exact {
  expect pagemap A[0] present=0 swap=1 file=0 exclusive=0
}
when design pagemap.shmem_swap = marker {
  expect pagemap A[0] = 0x400000000000011f
}
expect pagemap A[1] = 0x0
pagemap A[0..1]
expect read A[0] == 0x5
expect pagemap A[0] present=1 swap=0
