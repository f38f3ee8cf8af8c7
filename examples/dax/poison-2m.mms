# Memory failure on a 2 MiB-aligned device-dax (kconfig MEMORY_FAILURE = y). `poison M[3]` is
# madvise(MADV_HWPOISON) → madvise_inject_error() → memory_failure() →
# memory_failure_dev_pagemap() → mf_generic_kill_procs() (mm/memory-failure.c): the folio head
# is marked PG_hwpoison; collect_procs_file() collects only the current task (early kill is
# off by default), with the address of the folio HEAD in its VMA (M[0]) and
# dev_pagemap_mapping_shift() = 21 (a PMD maps it); unmap_and_kill() unmaps the whole 2 MiB
# from every process (the child too) and sends SIGBUS BUS_MCEERR_AR, si_addr M[0], lsb 21.
# The run prints `SIGBUS (BUS_MCEERR_AR, lsb 21, si_addr M[0]) at M[3]`.
# The frame stays bad: device-dax faults do not check for poison, so a later fault maps the
# folio again, and a load from M[3] (by any process) is a machine check that does the same
# again; the other subpages read their data, and a store completes. Checked against the 6.18
# source (mm/memory-failure.c, mm/madvise.c, drivers/dax/device.c), not live: this machine
# has no device-dax and no CONFIG_MEMORY_FAILURE.
scenario "memory failure on a 2 MiB device-dax folio"
kconfig MEMORY_FAILURE = y
dax D 4M align=2M
mmap M D shared rw
write M[3] = 0x33
write M[4] = 0x44
write M[600] = 0x66                                 # the second 2 MiB folio
fork child
in child {
  expect read M[3] == 0x33                          # the child faults the first folio in
  expect pagemap M[0..511] present=1 file=1 exclusive=0
}
poison M[3] -> SIGBUS                               # BUS_MCEERR_AR, lsb 21, si_addr M[0]
expect pagemap M[0..511] = 0x0                      # the whole folio is unmapped
expect pagemap M[512..1023] present=1 file=1        # the other folio is not
in child {
  expect pagemap M[0..511] = 0x0                    # unmap_mapping_range(): every process
  read M[3] -> SIGBUS                               # re-faulted, then a machine check
  expect pagemap M[0..511] = 0x0                    # unmapped again
  expect read M[4] == 0x44                          # same folio, good subpage: re-faults, reads
  expect pagemap M[0..511] present=1 file=1
  expect read M[600] == 0x66
}
write M[3] = 0x99                                   # stores do not machine-check
expect pagemap M[0..511] present=1 file=1
read M[3] -> SIGBUS                                 # the frame is still bad
expect pagemap M[0..511] = 0x0
expect read M[5] == 0x0
