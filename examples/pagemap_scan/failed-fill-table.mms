# mfill_atomic() allocates the PTE table (mm_alloc_pmd(), __pte_alloc()) before it tries
# the page, so a UFFDIO_ZEROPAGE that fails with EEXIST (the shmem page is in the page cache
# already: the private mapping's COW faults read it in) still leaves a table behind. Its none
# PTEs are then `written` to PAGEMAP_SCAN, as a none PTE in any table is (6.18.44's "fix
# PAGEMAP_SCAN written state for unpopulated ptes"), where the same range without a table
# has no category on a VMA not registered for uffd-wp. pagemap itself reads 0 either way.
# (Found by `mmlab diff --random 300 --seed 13000`, seed 13175.)
scenario "PAGEMAP_SCAN: the PTE table a failed UFFDIO_ZEROPAGE leaves"
memfd F 16p
mmap B F private rw
mmap D F shared r
uffd U features=minor_shmem,poison,wp_async
uffd U register D[14] wp
write B = seq(0x200)                          # the page cache of F is filled
pagemap_scan D[11]                            # no table yet: no category
expect pagemap_scan D[11] written=none
uffd U zeropage D[14] -> EEXIST
expect pagemap D[10..15] = 0
pagemap_scan D[11]                            # a none PTE of the new table: written
expect pagemap_scan D[11] written=11
