# explore: holds
# transact_test's intent (tools/testing/selftests/mm/pagemap_ioctl.c) across two PTE tables:
# PAGEMAP_SCAN with WP_MATCHING walks one table at a time under mmap_lock held for read
# (pagemap_scan_pmd_entry() under each table's lock), so the writers' stores interleave with
# the scan between its tables. A store to a page the scan has already reset faults first
# (WP_ASYNC resolves it and the page reads written again for the next scan); a store to a
# table the scan has not reached yet lands and is reported by this scan. No store completes
# silently on a protected page and none is lost.
scenario "writers racing a WP_ASYNC scan-and-reset across two PTE tables"
mmap A anon private rw 8p align=2040K                # A[0..1] end one PTE table, A[2..7] begin the next
uffd U features=wp_async,wp_unpopulated
uffd U register A wp
uffd U wp A
thread w1 {
  write A[0] = 0x1
  write A[5] = 0x2
}
thread w2 {
  write A[1] = 0x3
}
thread scanner {
  pagemap_scan A wp_matching check_wpasync
}
check no_silent_write
check no_lost_write
check consistent
