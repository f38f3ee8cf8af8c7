# MADV_PAGEOUT of shmem clears the PTEs; the swap entry lives in the page cache, so pagemap
# shows 0 (no swap bit). A read brings the same frame back from the swap cache, and
# fault-around does not map paged-out neighbours. Checked on Linux 6.18 (cases 9, 22).
scenario "shmem pageout"
swap 64M
memfd F 16p
mmap B F shared rw
write B = seq(0x900)
pagemap B[0..7]                                     # frames #1..#8
madvise B[4..7] pageout
expect pagemap B[4..7] = 0x0
expect pagemap B[0..3] present=1
madvise B dontneed
read B[5]
expect pagemap B[5] present=1 file=1 exclusive=1 frame=id(6)
expect pagemap B[4] = 0x0                           # still swapped: fault-around skips it
expect pagemap B[6..7] = 0x0
expect pagemap B[0..3] present=1
expect pagemap B[8..15] present=1
expect read B == seq(0x900)
