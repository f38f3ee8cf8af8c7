# With max_page_sharing 2 a KSM page takes two mappings; a third page of the same content
# finds it full and, with no partner in the unstable tree, stays unshared. Zap one of the
# two (here guard_install; munmap or MADV_DONTNEED do the same): its rmap item leaves the
# stable tree when the next scan passes its address (get_next_rmap_item() frees the items
# below the next page it finds; remove_trailing_rmap_items() those after the last), so the
# KSM page has room again within that same scan, and the third page merges into it.
# (Found by `mmlab diff --random 300 --seed 13000`, seed 13061: the model dropped the
# vanished items only at the end of the scan.)
scenario "KSM: a zapped sharer makes room in the same scan"
mmap A anon private rw 8p
ksm max_page_sharing 2
write A = 0x2e3
madvise A[5..7] mergeable
ksm run
ksm scan 3
expect ksm pages_shared=1 pages_sharing=1 pages_unshared=1
expect pagemap A[5..6] present=1 exclusive=0
expect pagemap A[7] present=1 exclusive=1
madvise A[0..5] guard_install
ksm scan 1
expect ksm pages_shared=1 pages_sharing=1 pages_unshared=0
pagemap A[5..7]
expect pagemap A[6..7] present=1 exclusive=0
expect read A[7] == 0x2e3
