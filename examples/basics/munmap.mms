# munmap of the middle of a mapping splits it; the hole reads 0 in pagemap and faults with
# SIGSEGV (SEGV_MAPERR). Checked on Linux 6.18 (case 15).
scenario "munmap the middle"
mmap A anon private rw 16p
write A = seq(0x100)
munmap A[4..7]
expect pagemap A[4..7] = 0x0
read A[5] -> SIGSEGV
write A[6] = 0x1 -> SIGSEGV
expect pagemap A[0..3] present=1 exclusive=1
expect read A[3] == 0x103
expect read A[8] == 0x108
madvise A[2..9] dontneed -> ENOMEM                 # partly unmapped: ENOMEM, mapped parts still zapped
expect pagemap A[8] = 0x0
expect pagemap A[2..3] = 0x0
