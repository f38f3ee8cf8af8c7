# explore: holds
# The intent of tools/testing/selftests/mm/pagemap_ioctl.c transact_test, in small: writers
# race a PAGEMAP_SCAN that reports written pages and write-protects them again (WP_MATCHING
# with WP_ASYNC). No update may be lost: a store after a reset must clear the protection
# again, so the next scan sees it (no_silent_write), and every store reads back.
scenario "writers racing a WP_ASYNC scan-and-reset"
mmap A anon private rw 4p
uffd U features=wp_async
uffd U register A wp
uffd U wp A
thread w1 {
  write A[0] = 0x1
  write A[1] = 0x2
}
thread w2 {
  write A[1] = 0x3
  write A[2] = 0x4
}
thread scanner {
  pagemap_scan A wp_matching check_wpasync
  pagemap_scan A wp_matching check_wpasync
}
check no_silent_write
check no_lost_write
check consistent
