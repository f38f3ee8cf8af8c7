# Seed 002, pages the specification does not merge. Pins do not exist in the language yet
# (no GUP statement), and a model page-cache folio is never under writeback, so this shows
# dirty pages: two VMs hold the same data in three pages each. Page 0 was only read in both
# (clean): it merges under on. Page 1 was stored to in VM2 with the data it already had (0):
# the PTE is dirty, the merge's folio_mkclean() walk moves the dirty bit into the folio, and
# the page is never merged, though identical. Page 2 was written in both (PG_dirty from the
# write fault): never merged. A guest_memfd mapping is no candidate at all (ksm_compatible()
# refuses it under both designs: KVM reaches its folios through the file, not through PTEs).
# off: nothing merges.
scenario "seed 002: dirty pages are not merged"
memfd F1 4p
memfd F2 4p
guest_memfd M 2p flags=mmap,init_shared
mmap G1 F1 shared rw
read G1[0..1]
write G1[2] = 0x42
madvise G1 mergeable
mmap K M shared rw
read K
madvise K mergeable
fork vm2
in vm2 {
  munmap G1
  munmap K
  mmap G2 F2 shared rw
  read G2[0..1]
  write G2[1] = 0x0
  write G2[2] = 0x42
  madvise G2 mergeable
}
ksm run
ksm scan 2
when design ksm.file_pages = off {
  expect ksm pages_shared=0 pages_sharing=0 pages_volatile=0
}
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=2 pages_unshared=0 pages_volatile=3
  expect pagemap G1[0..1] present=1 file=0
  expect pagemap G1[2] present=1 file=1
}
expect pagemap K present=1 file=1
in vm2 {
  when design ksm.file_pages = on {
    expect pagemap G2[0] present=1 file=0
  }
  expect pagemap G2[1..2] present=1 file=1 exclusive=1
}
ksm scan 1
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=2 pages_volatile=3
}
expect read G1[0..1] == 0x0
expect read G1[2] == 0x42
