# A write to a merged page always copies (do_wp_page never reuses a KSM folio); the
# counters change when ksmd next visits the page. MADV_PAGEOUT skips a KSM page mapped
# twice. Follows tools/testing/selftests/mm/ksm_functional_tests.c test_unmerge and the
# COW-break intent.
scenario "KSM copy on write and unmerge"
swap 16M
mmap A anon private rw 4p
mmap B anon private rw 4p
write A = 0x7
write B = 0x7
madvise A mergeable
madvise B mergeable
ksm run
ksm scan 2
expect ksm pages_shared=1 pages_sharing=7           # eight identical pages: one KSM page
madvise A[1] pageout                                # mapped eight times: skipped
expect pagemap A[1] present=1
write A[0] = 0x8
expect pagemap A[0] present=1 exclusive=1 frame=new
expect read A[0] == 0x8
expect read B[0] == 0x7
ksm scan 1
expect ksm pages_shared=1 pages_sharing=6
madvise B unmergeable                               # break_ksm(): every page copied
expect pagemap B present=1 exclusive=1
ksm scan 1
expect ksm pages_shared=1 pages_sharing=2
expect read B == 0x7
