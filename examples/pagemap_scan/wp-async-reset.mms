# The write-tracking loop of a checkpointer or a VMM: register WP with WP_ASYNC, protect,
# let the workload write, then PAGEMAP_SCAN with WP_MATCHING reports the written pages and
# protects them again in the same call (selftests pagemap_ioctl intent).
scenario "PAGEMAP_SCAN WP_ASYNC and WP_MATCHING"
mmap A anon private rw 8p
uffd U features=wp_async
uffd U register A wp
uffd U wp A
expect pagemap_scan A written=none wpallowed=0..7
write A[1] = 0x1
write A[4..5] = 0x2
expect pagemap_scan A written=1,4,5 present=1,4,5
pagemap_scan A wp_matching check_wpasync            # read and reset
expect pagemap_scan A written=none
write A[5] = 0x3
expect pagemap_scan A written=5
mmap N anon private rw 2p
pagemap_scan N wp_matching check_wpasync -> EPERM   # not wp-async: refused with CHECK_WPASYNC
