# Read faults on a shared memfd map up to 16 neighbours already in the page cache
# (fault-around), in a window aligned on the virtual address. Holes are not filled, and a
# write fault maps one page. Checked on Linux 6.18 (docs/kernel-checks.md, case 7).
scenario "fault-around on a shared memfd"
memfd F 16p
mmap B F shared rw
write B = seq(0x700)
madvise B dontneed
expect pagemap B = 0x0
read B[5]
expect pagemap B = 0xa100000000000000              # all 16 present | file | exclusive
memfd G 16p
mmap C G shared rw
write C[0..3] = 0x1
madvise C dontneed
read C[9]
expect pagemap C[0..3] present=1
expect pagemap C[4..8] = 0x0                        # holes: nothing to map
expect pagemap C[9] present=1 file=1
expect pagemap C[10..15] = 0x0
madvise C dontneed
write C[5] = 0x2                                    # write faults do no fault-around
expect pagemap C[5] present=1
expect pagemap C[0..4] = 0x0
