# use_zero_pages: KSM maps zero-filled anon pages to the shared zero page (a special PTE,
# marked dirty so that KSM can tell it from an ordinary zero-page mapping) instead of merging
# them with each other. They count in ksm_zero_pages, not in pages_shared/pages_sharing, and
# leave that count when written (wp_page_copy), unmerged (break_ksm) or zapped. Follows the
# intent of test_unmerge_zero_pages() in tools/testing/selftests/mm/ksm_functional_tests.c.
# `ksm use_zero_pages on|off` is an mmlab extension (docs/language.md).
scenario "KSM use_zero_pages"
mmap A anon private rw 6p
write A = 0                       # six anon pages full of zeros
madvise A mergeable
ksm use_zero_pages on
ksm run
ksm scan 1
expect ksm ksm_zero_pages=0 pages_shared=0    # first scan: checksums recorded only
ksm scan 1
expect ksm ksm_zero_pages=6 pages_shared=0 pages_sharing=0
expect pagemap A[0..5] present=1 exclusive=0 frame=zero
expect read A == 0
read A[0]                         # reading keeps the zero page
expect ksm ksm_zero_pages=6
write A[1] = 0x11                 # COW of the zero page: a new page
expect ksm ksm_zero_pages=5
expect pagemap A[1] present=1 exclusive=1 frame=new
madvise A[2] unmergeable          # break_ksm(): a fresh zeroed copy
expect ksm ksm_zero_pages=4
expect pagemap A[2] present=1 exclusive=1 frame=new
expect read A[2] == 0
madvise A[3] dontneed             # zap_pte_range() → ksm_might_unmap_zero_page()
expect ksm ksm_zero_pages=3
expect pagemap A[3] present=0
munmap A[4]
expect ksm ksm_zero_pages=2
expect pagemap A[0] present=1 frame=zero
expect pagemap A[5] present=1 frame=zero
