# Without a swap device, MADV_PAGEOUT of anon memory changes nothing (the folio is only
# activated). Checked on Linux 6.18 (case 3).
scenario "anon pageout without swap"
mmap A anon private rw 4p
write A = 0x7
madvise A pageout
expect pagemap A = 0x8100000000000000
expect read A == 0x7
