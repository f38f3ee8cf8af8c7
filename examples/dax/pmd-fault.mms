# A read fault on a 2 MiB-aligned device maps the whole 2 MiB with one PMD
# (dev_dax_huge_fault → vmf_insert_folio_pmd): every subpage reads present|file in pagemap,
# and PAGEMAP_SCAN reports them huge. A 4 KiB-aligned device maps one page per fault (no
# fault-around: device-dax has no map_pages). Past the device's end: SIGBUS. A zap of part
# of a PMD mapping clears the whole PMD. Checked against the 6.18 source (no device-dax here).
scenario "device-dax faults"
dax D 4M align=2M
mmap M D shared rw
read M[3]
expect pagemap M[0..511] present=1 file=1 exclusive=1
expect pagemap M[512..1023] = 0x0
expect pagemap_scan M[0..511] huge=0..511 present=0..511
write M[600] = 0x66
expect pagemap M[512..1023] present=1
expect read M[600] == 0x66
dax S 64K align=4K
mmap N S shared rw 128K
read N[2]
expect pagemap N[2] present=1 file=1
expect pagemap N[3] = 0x0
expect pagemap_scan N[2] huge=none
read N[20] -> SIGBUS                                # past the 64 KiB device
madvise M[700] dontneed                             # a partial zap of a PMD mapping clears it whole
expect pagemap M[512..1023] = 0x0                   # (__split_huge_pmd_locked() on a file PMD)
expect pagemap M[0..511] present=1
expect read M[600] == 0x66                          # the device keeps its data; the fault maps 2 MiB again
expect pagemap M[512..1023] present=1
