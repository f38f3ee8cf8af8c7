# Seed 002, the case a cloud-hypervisor user reported (#4832): two VMs whose guest memory is a
# memfd mapped MAP_SHARED, with identical pages. Each guest wrote its first 8 pages (the same
# data in both) and only read the other 8 (zero-filled, never written). 6.18 (off): the
# madvise is accepted and ignored, nothing is scanned, pages_shared 0. on: the clean pages
# merge, 16 page-cache slots of two files behind one KSM page (pages_shared 1, pages_sharing
# 15, 15 frames freed: `mmlab compare … --design ksm.file_pages=off,on` prints them, and
# --stats the 16 struct page_alias); the written pages never merge, since a written shmem
# page is PG_dirty until it is swapped out and the specification merges clean folios only
# (their rmap items stay volatile). docs/designs.md, ksm.file_pages.
scenario "seed 002: two VMs' memfd guest memory"
memfd F1 16p
memfd F2 16p
mmap G1 F1 shared rw
write G1[0..7] = seq(0x1000)
read G1[8..15]
madvise G1 mergeable
fork vm2
in vm2 {
  munmap G1
  mmap G2 F2 shared rw
  write G2[0..7] = seq(0x1000)
  read G2[8..15]
  madvise G2 mergeable
}
ksm run
ksm scan 2
when design ksm.file_pages = off {
  expect ksm pages_shared=0 pages_sharing=0 pages_unshared=0 pages_volatile=0
}
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=15 pages_unshared=0 pages_volatile=16
  expect pagemap G1[8..15] present=1 file=0 exclusive=0
  expect pagemap G1[8] frame=same(G1[15])
}
expect pagemap G1[0..7] present=1 file=1 exclusive=1
expect read G1[0..7] == seq(0x1000)
expect read G1[8..15] == 0x0
in vm2 {
  expect read G2[0..7] == seq(0x1000)
  expect read G2[8..15] == 0x0
}
