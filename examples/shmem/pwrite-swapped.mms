# pwrite(2) of a memfd page that was paged out: shmem_get_folio(SGP_WRITE) swaps it back
# into the page cache first (shmem_swapin_folio(), which frees the swap entry), then the
# write lands in it. No PTE is made: pagemap stays 0 until a load maps the page again, and
# the page is then the written one. Checked on Linux 6.18 with `mmlab diff`.
scenario "pwrite of a paged-out memfd page"
swap 16M
memfd F 4p
mmap A F shared rw
write A[0..1] = seq(0x20)
madvise A[0..1] pageout
expect pagemap A[0..1] = 0x0
pwrite F[0] = 0x99
expect pagemap A[0] = 0x0
pread F[0..1]
expect read A[0] == 0x99
expect read A[1] == 0x21                            # the other page comes back unchanged
expect pagemap A[0..1] present=1 file=1
