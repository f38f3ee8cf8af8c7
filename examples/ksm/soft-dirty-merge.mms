# The soft-dirty half of replace_page()'s fresh PTE (docs/findings.md): under
# CONFIG_MEM_SOFT_DIRTY, a page written after `clear_refs 4` reads soft-dirty in pagemap until
# KSM merges it; replace_page() maps the KSM page into the other PTE with mk_pte(), without
# _PAGE_SOFT_DIRTY, so A[0] (written since the last clear) then reads clean. Model only: this
# machine's kernel has no soft-dirty (the live backend skips the scenario).
kconfig MEM_SOFT_DIRTY = y
scenario "KSM merge drops soft-dirty (6.18, CONFIG_MEM_SOFT_DIRTY)"
mmap A anon private rw 2p
write A[0] = 0x1
write A[1] = 0x2
madvise A mergeable
clear_refs 4
expect pagemap A[0..1] soft_dirty=0
write A[0] = 0x7
write A[1] = 0x7
expect pagemap A[0..1] soft_dirty=1
ksm run
ksm scan 2
expect ksm pages_shared=1 pages_sharing=1
expect pagemap A[0] present=1 soft_dirty=0
expect pagemap A[1] present=1 soft_dirty=1
