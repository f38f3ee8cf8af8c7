# MADV_UNMERGEABLE breaks every KSM page at once, but the scanner keeps its records (with
# their checksums) until a scan skips the range: counters do not move until then, and making
# the range mergeable again merges it in the very next scan. Checked on this kernel with
# mmlab diff.
scenario "KSM unmerge and merge again"
mmap A anon private rw 4p
mmap B anon private rw 4p
write A = seq(0x10)
write B = seq(0x10)
madvise A mergeable
madvise B mergeable
ksm run
ksm scan 2
expect ksm pages_shared=4 pages_sharing=4
madvise A unmergeable
expect pagemap A present=1 exclusive=1
expect ksm pages_shared=4 pages_sharing=4           # unchanged until the next scan
madvise A mergeable
ksm scan 1
expect ksm pages_shared=4 pages_sharing=4 pages_volatile=0
