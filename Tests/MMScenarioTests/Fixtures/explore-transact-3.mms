# Benchmark of explore (docs/performance.md): examples/races/transact.mms with one more
# store in each writer, against the same two scan-and-resets.
scenario "writers racing a WP_ASYNC scan-and-reset, three stores each"
mmap A anon private rw 4p
uffd U features=wp_async
uffd U register A wp
uffd U wp A
thread w1 {
  write A[0] = 0x1
  write A[1] = 0x2
  write A[3] = 0x5
}
thread w2 {
  write A[1] = 0x3
  write A[2] = 0x4
  write A[0] = 0x6
}
thread scanner {
  pagemap_scan A wp_matching check_wpasync
  pagemap_scan A wp_matching check_wpasync
}
check no_silent_write
check no_lost_write
check consistent
