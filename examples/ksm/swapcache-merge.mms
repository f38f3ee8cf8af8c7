# A page read back from swap stays in the swap cache, holding its slot, until something frees
# it; when KSM replaces it with the KSM page, replace_page() frees its swap copy once it is
# mapped nowhere (folio_free_swap()), so nothing lingers after the process is gone (the
# model's leak check after the run). mm/ksm.c; found by the random differential test.
scenario "KSM merges pages read back from swap"
swap 16M
mmap A anon private rw 4p
write A = 0x192
madvise A pageout
expect pagemap A present=0 swap=1
read A                                    # swapped in: still in the swap cache
expect read A == 0x192
madvise A mergeable
ksm run
ksm scan 2
expect ksm pages_shared=1 pages_sharing=3
expect pagemap A present=1 exclusive=0
check consistent
