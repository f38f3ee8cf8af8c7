# KSM merging pages that came back from swap: two equal pages are paged out, read back in
# (a read fault leaves each folio in the swap cache, still owning its slot), then merged. The
# page KSM replaces is mapped nowhere after replace_page(), which therefore calls
# folio_free_swap(): it leaves the swap cache and is freed, with its slot. The KSM page stays
# in the swap cache; when the last of its mappings is copied on write, wp_page_copy() calls
# free_swap_cache() and it goes too. The model used to leave both in the swap cache (a frame
# and a slot still held after every process exited); found by the random scenarios of
# ksm.file_pages = on. Checked on Linux 6.18 with `mmlab diff`.
scenario "KSM merges pages that sit in the swap cache"
swap 16M
mmap B anon private rw 4p
madvise B mergeable
write B[2..3] = 0x3ec
madvise B pageout
expect pagemap B[2..3] present=0 swap=1
read B[2..3]
expect pagemap B[2..3] present=1
ksm run
ksm scan 2
expect ksm pages_shared=1 pages_sharing=1
expect pagemap B[2] frame=same(B[3])
expect read B[2..3] == 0x3ec
write B[3] = 0x1
write B[2] = 0x2
expect pagemap B[2..3] present=1 exclusive=1
expect read B[2] == 0x2
munmap B
