# Follows tools/testing/selftests/mm/pagemap_ioctl.c sanity and basics: on a WP_ASYNC
# registration nothing is written after protecting; writes show up as written; WP_MATCHING
# with CHECK_WPASYNC returns them and protects them again; CHECK_WPASYNC on an unregistered
# VMA is EPERM.
scenario "selftest pagemap_ioctl basics"
mmap A anon private rw 16p
uffd U features=wp_async
uffd U register A wp
uffd U wp A
expect pagemap_scan A written=none
write A[0..3] = 0x1
write A[10] = 0x1
expect pagemap_scan A written=0..3,10
pagemap_scan A wp_matching check_wpasync
expect pagemap_scan A written=none
mmap N anon private rw 4p
pagemap_scan N check_wpasync -> EPERM
