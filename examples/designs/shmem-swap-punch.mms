# Seed 000, row "punch": a hole punched over a swapped page frees its swap slot
# (shmem_undo_range()) and zaps every PTE in the range (unmap_mapping_range(), which drops a
# pageout marker like any zap). Nothing is left to report under any design.
scenario "seed 000: punch after pageout"
swap 16M
memfd F 4p
mmap A F shared rw
write A[0] = 0x5
madvise A[0] pageout
punch F[0]
expect pagemap A[0] = 0x0
expect read A[0] == 0x0
