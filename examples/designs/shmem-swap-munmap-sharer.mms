# Seed 000, row "munmap/exit of one sharer": main pages the page out while it is the only
# mapper; the child (which faulted another page of the table in earlier, so its table exists)
# sees the real slot under pagecache and exact, nothing under 6.18 and marker. Then the child
# unmaps and exits: main's answer does not change under any design.
scenario "seed 000: munmap and exit of one sharer"
swap 16M
memfd F 4p
mmap A F shared rw
fork child
in child {
  read A[1]
}
write A[0] = 0x5
madvise A[0] pageout
in child {
  when design pagemap.shmem_swap = none, marker {
    expect pagemap A[0] = 0x0
  }
  when design pagemap.shmem_swap = pagecache, exact {
    expect pagemap A[0] present=0 swap=1
  }
  munmap A
  exit
}
when design pagemap.shmem_swap = none {
  expect pagemap A[0] = 0x0
}
when design pagemap.shmem_swap = pagecache, exact {
  expect pagemap A[0] present=0 swap=1
}
when design pagemap.shmem_swap = marker {
  expect pagemap A[0] = 0x400000000000011f
}
