# mprotect: a read-only page refuses writes with SIGSEGV (SEGV_ACCERR); PROT_NONE PTEs still
# read as present in pagemap (x86 PROTNONE counts as present). Checked on Linux 6.18 (case 14).
scenario "mprotect r and none"
mmap A anon private rw 4p
write A[0] = 0x11
mprotect A[0..1] r
expect pagemap A[0] = 0x8100000000000000
write A[0] = 0x12 -> SIGSEGV
expect read A[0] == 0x11
mprotect A[0..1] none
expect pagemap A[0] present=1 exclusive=1
read A[0] -> SIGSEGV
read A[1] -> SIGSEGV                                # untouched page in the PROT_NONE VMA
mprotect A rw
expect read A[0] == 0x11
write A[1] = 0x12
expect read A[0..1] == seq(0x11)
