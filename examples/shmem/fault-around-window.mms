# The fault-around window is aligned on the virtual address, and when the VMA start cuts
# into it, it is shifted to start at the VMA (do_fault_around() keeps 16 pages).
# The mappings sit 3 pages past a 2 MiB boundary. Checked on Linux 6.18 (case 7, B3/B4).
scenario "fault-around window alignment"
memfd F 32p
mmap B F shared rw
write B = 0x5
mmap C F shared r 32p align=12K                     # 3 pages past a 2 MiB boundary
read C[5]                                           # PTE index 8: window shifted to 3..18
expect pagemap C[0..15] present=1 file=1 exclusive=0
expect pagemap C[16..31] = 0x0
munmap C
mmap D F shared r 32p align=12K
read D[20]                                          # PTE index 23: window 16..31 = pages 13..28
expect pagemap D[0..12] = 0x0
expect pagemap D[13..28] present=1 file=1
expect pagemap D[29..31] = 0x0
