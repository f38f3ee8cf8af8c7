# Seed 002, a hole punched in one file after a merge. on: unmap_mapping_range() zaps F2's
# PTE of the KSM page (should_zap_folio() treats the file's alias as the file's page, not as
# an anonymous one), then shmem_undo_range() removes only F2's alias: F1 keeps the KSM page,
# which still stands in for three slots. VM2's next read faults a new zero-filled page into
# the hole. off: the same zap and truncation of F2's own page. Both designs read zeros (every
# page here is zero-filled: only clean pages merge).
scenario "seed 002: punch removes only the file's alias"
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
punch F2[0]
in vm2 {
  expect pagemap G2[0] = 0x0
  when design ksm.file_pages = on {
    expect pagemap G2[1] present=1 file=0
  }
  expect read G2[0] == 0x0
  expect pagemap G2[0] present=1 file=1
}
expect read G1 == 0x0
when design ksm.file_pages = on {
  expect ksm pages_shared=1 pages_sharing=2
  expect pagemap G1 present=1 file=0
}
