# Seed 002, a store through MAP_SHARED after a merge. VM1 maps F1, VM2 maps F2, and VM2's
# device backend (a second process, as a vhost-user backend maps guest memory) maps F2 too;
# every page is zero-filled and clean. on: the four slots merge into one KSM page, mapped
# read-only by all three processes (file=0: a KSM folio is anonymous-typed). VM2's store to
# F2[0] breaks F2's alias there: a new page, a copy, stored in F2's slot; the PTEs of F2 at 0
# in VM2 and in the backend are replaced (the backend reads the new data: it was not left
# on the KSM page), then the store takes the normal write path. F1 and F2[1] keep the KSM
# page. The break costs one allocation and copy, one i_mmap walk, two PTE writes and one slot
# store (`mmlab compare … --design ksm.file_pages=off,on`). off: the three processes share
# the page-cache pages all along, and every read sees the same data.
scenario "seed 002: a MAP_SHARED store breaks one file's alias"
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
  fork backend
}
in backend {
  read G2
}
ksm run
ksm scan 2
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=3
  expect pagemap G1 present=1 file=0
}
in backend {
  when design ksm.file_pages = on {
    expect pagemap G2[0] present=1 file=0
  }
  when design ksm.file_pages = off {
    expect pagemap G2[0] present=1 file=1
  }
}
in vm2 {
  write G2[0] = 0x9
  expect read G2[0] == 0x9
  expect pagemap G2[0] present=1 file=1 exclusive=0
}
in backend {
  expect pagemap G2[0] present=1 file=1 exclusive=0   # replaced, not zapped
  expect read G2[0] == 0x9
  expect read G2[1] == 0x0
}
expect read G1 == 0x0
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=2
  expect pagemap G1 present=1 file=0
}
in vm2 {
  when design ksm.file_pages = on {
    expect pagemap G2[1] present=1 file=0             # F2[1] is still the KSM page's alias
  }
}
pread F1[0]
pread F2[0]
