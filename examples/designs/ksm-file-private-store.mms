# Seed 002, a store through MAP_PRIVATE after a merge. VM1 maps F1 shared and, through P,
# privately (P reads the page-cache page, a read-only PTE); VM2 maps F2. on: F1[0] and F2[0]
# merge, and the merge replaces every PTE of F1[0], P's too. P's store is an ordinary COW
# (do_wp_page() never reuses a KSM folio): P gets an anonymous copy, no alias breaks, the
# files keep the KSM page. off: the same COW from the page-cache page. Both designs read the
# same data everywhere.
scenario "seed 002: a MAP_PRIVATE store is an ordinary COW"
memfd F1 2p
memfd F2 2p
mmap G1 F1 shared rw
mmap P F1 private rw
read G1[0]
read P[0]
madvise G1 mergeable
fork vm2
in vm2 {
  munmap G1
  munmap P
  mmap G2 F2 shared rw
  read G2[0]
  madvise G2 mergeable
}
ksm run
ksm scan 2
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=1
  expect pagemap P[0] frame=same(G1[0])
  expect pagemap P[0] present=1 file=0
}
write P[0] = 0x7
expect read P[0] == 0x7
expect pagemap P[0] present=1 file=0 exclusive=1
expect read G1[0] == 0x0
pread F1[0]
in vm2 {
  expect read G2[0] == 0x0
}
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=1
  expect pagemap G1[0] present=1 file=0
}
when design ksm.file_pages = off {
  expect pagemap G1[0] present=1 file=1
}
