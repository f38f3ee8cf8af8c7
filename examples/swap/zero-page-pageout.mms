# MADV_PAGEOUT skips PTEs that map the zero page (vm_normal_page() is NULL), and MADV_COLD
# changes no pagemap word. Checked on Linux 6.18 (cases 2 and 18).
scenario "pageout of the zero page, cold"
swap 16M
mmap A anon private rw 4p
read A[0]
madvise A[0] pageout
expect pagemap A[0] present=1 frame=zero
write A[1..2] = 0x9
madvise A[1..2] cold
expect pagemap A[1..2] = 0x8100000000000000
