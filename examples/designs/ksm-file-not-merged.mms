# Seed 002, pages the specification does not merge: two VMs hold the same data (zeros) in
# four pages each. Page 0 was only read in both: clean, it merges under on. Page 1 was stored
# to in VM2 with the data it already had: the PTE is dirty, the merge's folio_mkclean() walk
# moves the dirty bit into the folio, and the page is never merged, though identical. Page 2
# was written in both (PG_dirty from the write fault): never merged. Page 3 was only read, but
# VM2 holds a long-term GUP pin on it (`pin`, io_uring fixed buffers): its references exceed
# its mappings and the page cache's, and it is not merged while pinned (F1[3], clean, joins
# the KSM page). A guest_memfd mapping is no candidate at all (ksm_compatible() refuses it
# under both designs: KVM reaches its folios through the file, not through PTEs). A model
# page-cache folio is never under writeback. off: nothing merges.
scenario "seed 002: dirty and pinned pages are not merged"
memfd F1 4p
memfd F2 4p
guest_memfd M 2p flags=mmap,init_shared
mmap G1 F1 shared rw
read G1[0..1]
write G1[2] = 0x42
read G1[3]
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
  read G2[3]
  pin P G2[3]
  madvise G2 mergeable
}
ksm run
ksm scan 2
when design ksm.file_pages = off {
  expect ksm pages_shared=0 pages_sharing=0 pages_volatile=0
}
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=3 pages_unshared=0 pages_volatile=4
  expect pagemap G1[0..1] present=1 file=0
  expect pagemap G1[2] present=1 file=1
  expect pagemap G1[3] present=1 file=0
}
expect pagemap K present=1 file=1
in vm2 {
  when design ksm.file_pages = on {
    expect pagemap G2[0] present=1 file=0
  }
  expect pagemap G2[1..3] present=1 file=1 exclusive=1
}
ksm scan 1
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=3 pages_volatile=4
}
in vm2 {
  unpin P
}
expect read G1[0..1] == 0x0
expect read G1[2] == 0x42
