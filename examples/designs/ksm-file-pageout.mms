# Seed 002, MADV_PAGEOUT of a merged page. VM2 unmaps its memory after the merge (its file
# keeps the alias), so VM1 is the only mapper and MADV_PAGEOUT takes the page to reclaim.
# off: a clean shmem page is simply dropped from the page cache (__remove_mapping(): it is
# zero-filled and was never written, nothing to save), and VM1's PTE is gone. on: the KSM page
# stands in for slots of F1 and F2 and is never written back: shmem_writeout() would store a
# swap entry in one file's slot, the stable node is no address_space, and the other alias would
# lose its page; reclaim activates it and keeps it, still mapped.
scenario "seed 002: an aliased KSM page is never written back"
memfd F1 1p
memfd F2 1p
mmap G1 F1 shared rw
read G1
madvise G1 mergeable
fork vm2
in vm2 {
  munmap G1
  mmap G2 F2 shared rw
  read G2
  madvise G2 mergeable
}
ksm run
ksm scan 2
in vm2 {
  munmap G2
}
madvise G1 pageout
when design ksm.file_pages = off {
  expect pagemap G1 = 0x0
}
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=1
  expect pagemap G1 present=1 file=0
}
expect read G1 == 0x0
pread F2[0]
