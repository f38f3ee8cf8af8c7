# MADV_DONTNEED on anon memory drops the page: the next read sees zeros from the zero page.
# Checked on Linux 6.18 (docs/kernel-checks.md, case 4).
scenario "anon dontneed"
mmap A anon private rw 4p
write A = seq(0x100)
madvise A[0..1] dontneed
expect pagemap A[0..1] = 0x0
expect pagemap A[2..3] present=1 exclusive=1
expect read A[0] == 0x0
expect pagemap A[0] frame=zero
expect read A[2..3] == seq(0x102)
