# MADV_PAGEOUT skips a shmem page that another process maps too (mapcount 2).
# Checked on Linux 6.18 (case 10).
scenario "shmem pageout skips pages mapped twice"
swap 16M
memfd F 4p
mmap B F shared rw
write B = 0x3
fork child
in child {
  read B[0]                                         # fault-around maps all 4 in the child
  munmap B[1..3]
}
madvise B pageout
expect pagemap B[0] present=1 file=1 exclusive=0    # mapped by both: skipped
expect pagemap B[1..3] = 0x0                        # mapped only here: paged out
