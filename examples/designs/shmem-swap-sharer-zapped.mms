# Seed 000, row "a sharer zapped before reclaim": the child's PTE was zapped (MADV_DONTNEED)
# before main paged the page out. Main: nothing (6.18), the real slot (pagecache, exact), the
# marker (marker). The child, whose PTE table still exists but whose PTE is none: nothing
# (6.18), the real slot (pagecache: a none PTE inside a table is looked up; exact), and nothing
# under marker — reclaim only marks PTEs that mapped the folio when it ran.
scenario "seed 000: a sharer zapped before reclaim"
swap 16M
memfd F 4p
mmap A F shared rw
write A[0] = 0x5
fork child
in child {
  read A[0]
  madvise A[0] dontneed
}
madvise A[0] pageout
when design pagemap.shmem_swap = none {
  expect pagemap A[0] = 0x0
}
when design pagemap.shmem_swap = pagecache, exact {
  expect pagemap A[0] present=0 swap=1
}
when design pagemap.shmem_swap = marker {
  expect pagemap A[0] = 0x400000000000011f
}
in child {
  when design pagemap.shmem_swap = none, marker {
    expect pagemap A[0] = 0x0
  }
  when design pagemap.shmem_swap = pagecache, exact {
    expect pagemap A[0] present=0 swap=1
  }
}
