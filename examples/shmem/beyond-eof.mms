# A mapping larger than its file: pages past EOF raise SIGBUS (BUS_ADRERR), and
# MADV_POPULATE_READ over them fails with EFAULT. Checked on Linux 6.18 (case 17).
scenario "access beyond the end of a memfd"
memfd F 16p
mmap B F shared rw 32p
expect read B[15] == 0x0
read B[20] -> SIGBUS
write B[16] = 0x1 -> SIGBUS
madvise B[14..17] populate_read -> EFAULT
