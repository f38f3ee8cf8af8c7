# Seed 000, row "uffd-wp PTEs": a uffd-wp protected shmem page paged out leaves the 6.18
# uffd-wp marker (pte_install_uffd_wp_if_needed()); the PTE is then not none, so no design
# looks up the page cache, and the pageout marker is not installed (the uffd-wp marker wins).
# Every design reports PM_SWAP | PM_UFFD_WP with the marker frame 31 | 1 << 5 = 63.
scenario "seed 000: uffd-wp protected page paged out"
swap 16M
memfd F 4p
mmap A F shared rw
write A[0] = 0x5
uffd U
uffd U register A wp
uffd U wp A[0]
madvise A[0] pageout
expect pagemap A[0] = 0x420000000000003f
