# shmem MADV_PAGEOUT unmaps even without swap: the PTEs are cleared, the pages stay in the
# page cache, and a read maps them all back (same frames, with fault-around). Unlike anon
# memory, where pageout without swap changes nothing. Checked on Linux 6.18 (case 9n).
scenario "shmem pageout without swap"
memfd F 16p
mmap B F shared rw
write B = 0x99
pagemap B[0]                                        # frame #1
madvise B pageout
expect pagemap B = 0x0
read B[0]
expect pagemap B present=1 file=1 exclusive=1
expect pagemap B[0] frame=id(1)
