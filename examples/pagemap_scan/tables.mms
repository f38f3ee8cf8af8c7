# PAGEMAP_SCAN tells a none PTE (written) from a range without a PTE table (no category on a
# VMA without uffd-wp), so it shows which page tables exist. fork gives the child a table for
# every PMD the parent has one in, within the VMAs it copies, also where it copies no PTE
# (copy_pte_range()); a fill ioctl prepares the anon_vma of a private VMA at its lookup
# (find_vma_and_prepare_anon()), even when it then fails, so fork copies that VMA; and
# WP_MATCHING write-protects a guard marker with the swap uffd-wp bit (make_uffd_wp_pte()).
# Found by the random differential test, checked on this kernel.
scenario "page tables seen through PAGEMAP_SCAN"
mmap B anon private rw 8p
uffd U
uffd U register B missing
uffd V
uffd V zeropage B[3]                                # any userfaultfd may fill a registered VMA
fork c1
in c1 {
  expect pagemap_scan B written=0..7 pfnzero=3      # copied: the table and the zero page
}
mmap A anon private r 24p
read A[3]                                           # the zero page: no anon_vma yet
uffd U zeropage A[3] -> ENOENT                      # not registered, but the lookup made one
fork c2
in c2 {
  expect pagemap_scan A[21] written=21              # copied: the child has the table
}
memfd F 8p
mmap C F shared rw
write C = 0x1
uffd W features=event_fork
uffd W register C[4] wp
thread T {
  fork c3
}
expect event W fork
join T
in c3 {
  expect pagemap_scan C[5..7] written=5..7          # the table fork made for C[4]'s VMA
}
mmap G anon private rw 16p
uffd X features=wp_async
uffd X register G wp
madvise G[7..13] guard_install
pagemap_scan G wp_matching
expect pagemap G[10] = 0x460000000000009f           # a guard marker with the swap uffd-wp bit
