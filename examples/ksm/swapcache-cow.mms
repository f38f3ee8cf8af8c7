# A KSM page that sits in the swap cache: two equal pages are paged out, read back in (a
# read fault leaves each folio in the swap cache, owning its slot) and merged; the page that
# becomes the KSM page stays in the swap cache (swapcache-merge.mms: the replaced one leaves
# it). When its last mapping is copied on write, wp_page_copy() calls free_swap_cache(): the
# KSM page, mapped nowhere, leaves the swap cache and is freed, with its slot. The model used to
# leave it there (a frame and a slot still held after every process exited); found by the
# random scenarios of ksm.file_pages = on. Checked on Linux 6.18 with `mmlab diff`.
scenario "the last COW of a KSM page in the swap cache frees it"
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
write B[3] = 0x1
write B[2] = 0x2
expect pagemap B[2..3] present=1 exclusive=1
expect read B[2] == 0x2
munmap B
check consistent
