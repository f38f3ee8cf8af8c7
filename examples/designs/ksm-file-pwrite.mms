# Seed 002, pwrite(2) after a merge. on: the write's page-cache lookup
# (shmem_get_folio(SGP_WRITE)) finds F2's slot pointing at the KSM page and breaks F2's alias
# there, before anything is written: a copy in F2's slot, VM2's PTE replaced by one of the
# copy, then the data lands in the copy; VM2 reads it through its mapping, VM1 and F1 keep the
# KSM page. off: the write lands in F2's own page. No fault either way (the write goes
# through the page cache).
scenario "seed 002: pwrite breaks the file's alias at the lookup"
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
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=3
}
pwrite F2[0] = 0x42
in vm2 {
  expect pagemap G2[0] present=1 file=1
  expect read G2[0] == 0x42
  when design ksm.file_pages = on {
    expect pagemap G2[1] present=1 file=0
  }
}
expect read G1 == 0x0
pread F1[0..1]
pread F2[0..1]
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=2
  expect pagemap G1 present=1 file=0
}
