# Memory failure on a 4 KiB-aligned device-dax (kconfig MEMORY_FAILURE = y): the folios are
# single pages, so mf_generic_kill_procs() (mm/memory-failure.c) finds the page mapped by a
# PTE (dev_pagemap_mapping_shift() = 12), unmap_and_kill() unmaps that one page from every
# process, and the SIGBUS is BUS_MCEERR_AR with si_addr the page itself and lsb 12
# (`SIGBUS (BUS_MCEERR_AR, lsb 12, si_addr M[3]) at M[3]`). A range poisons page by page
# (madvise_inject_error() steps by the folio size): each page gets its memory_failure(), and
# the first SIGBUS is the one delivered (a second SIGBUS is not queued while one is pending).
# get_user_pages_fast() failing (past the device's end) makes the madvise EFAULT. Checked
# against the 6.18 source (mm/memory-failure.c collect_procs_file(), unmap_and_kill(),
# mm/madvise.c), not live: this machine has no device-dax and no CONFIG_MEMORY_FAILURE.
scenario "memory failure on a 4 KiB device-dax page"
kconfig MEMORY_FAILURE = y
dax D 64K align=4K
mmap M D shared rw
write M[0..7] = seq(0x10)
fork child
in child {
  expect read M[2..4] == seq(0x12)
}
poison M[3] -> SIGBUS                               # BUS_MCEERR_AR, lsb 12, si_addr M[3]
expect pagemap M[3] = 0x0                           # only that page is unmapped
expect pagemap M[2] present=1 file=1
expect pagemap M[4] present=1 file=1
in child {
  expect pagemap M[3] = 0x0                         # in the child too
  expect pagemap M[2] present=1 file=1 exclusive=0
  read M[3] -> SIGBUS                               # a machine check on the child's load
  expect read M[2] == 0x12
}
poison M[5..6] -> SIGBUS                            # the SIGBUS delivered is M[5]'s
expect pagemap M[5..6] = 0x0
expect read M[7] == 0x17
expect read M[8] == 0x0
mmap N D shared rw 128K                             # 32 pages over a 16-page device
poison N[20] -> EFAULT                              # the GUP fault is SIGBUS: EFAULT
