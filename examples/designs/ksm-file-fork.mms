# Seed 002, fork after a merge. A MAP_SHARED file VMA is not copied at fork (vma_needs_copy()
# is false): the child starts without PTEs under both designs. on: its first read maps the
# KSM page from F1's slot, read-only (a new mapping, not a new site: pages_sharing counts
# aliases, so it does not move); its store breaks F1's alias, and both its PTE and its
# parent's are replaced by the copy: the parent reads the child's data, as it must through a
# shared mapping. F2 keeps the KSM page. off: the child maps F1's own page; same data.
scenario "seed 002: fork copies nothing of shared file VMAs"
memfd F1 2p
memfd F2 2p
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
fork child
in child {
  expect pagemap G1 = 0x0
  read G1[0]
  expect pagemap G1[0] present=1 exclusive=0
  when design ksm.file_pages = on {
    expect pagemap G1[0] file=0
    expect ksm pages_shared=1 pages_sharing=3
  }
  write G1[0] = 0x5
  expect pagemap G1[0] present=1 file=1
}
expect read G1[0] == 0x5
expect pagemap G1[0] present=1 file=1 exclusive=0
when design ksm.file_pages = on {
  expect pagemap G1[1] present=1 file=0
  expect ksm pages_shared=1 pages_sharing=2
}
in vm2 {
  expect read G2 == 0x0
}
