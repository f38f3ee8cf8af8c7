# PAGEMAP_SCAN categories as ranges of pages. On a VMA without async uffd-wp every page,
# holes included, counts as written; uffd-wp and guard markers are "swapped" (linux-6.18
# digest appendix: checked on this kernel).
scenario "PAGEMAP_SCAN categories"
swap 16M
mmap A anon private rw 8p
read A[0]
write A[1..3] = 0x1
madvise A[3] pageout
madvise A[5] guard_install
pagemap_scan A
expect pagemap_scan A written=0..7 present=0..2 pfnzero=0 swapped=3,5 guard=5 file=none
memfd F 4p
mmap B F shared rw
write B[0] = 0x2
expect pagemap_scan B present=0 file=0 written=0..3
