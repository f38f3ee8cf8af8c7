# Seed 000, row "fork after pageout": shared shmem VMAs are not copied at fork
# (vma_needs_copy() is false), so the child starts with no PTE table at all. Its view of the
# swapped page: nothing (6.18), nothing under pagecache (pagemap_pte_hole() is unchanged by
# the posted patch), the real slot under exact (holes are looked up too), nothing under marker
# (no PTE to copy). Once the child faults another page of the same table in, the swapped
# page's none PTE sits inside a table and pagecache reports it too.
scenario "seed 000: fork after pageout"
swap 16M
memfd F 4p
mmap A F shared rw
write A[0..1] = 0x5
madvise A[0] pageout
fork child
in child {
  when design pagemap.shmem_swap = none, pagecache, marker {
    expect pagemap A[0] = 0x0
  }
  when design pagemap.shmem_swap = exact {
    expect pagemap A[0] present=0 swap=1
  }
  read A[1]
  when design pagemap.shmem_swap = none, marker {
    expect pagemap A[0] = 0x0
  }
  when design pagemap.shmem_swap = pagecache, exact {
    expect pagemap A[0] present=0 swap=1
  }
}
