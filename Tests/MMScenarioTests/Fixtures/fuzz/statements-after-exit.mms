# expect-status: 2
# Found by libFuzzer (a mutated examples/races/transact-tables.mms whose second line became
# `exit`): the statements after `exit` ran in the torn-down address space of main, and the
# model's invariants broke ("frame 1: mapcount 1, page tables map it 0 times"), with a frame
# leaked at the end. Now a process that exited runs nothing more: the runner stops with
# "expected a statement of a process that has not exited, found one of 'main', which exited
# at line 9" (exit 2, on the model and the kernel alike), and the model answers ESRCH to any
# call of a process that is gone.
exit
mmap A anon private rw 8p align=2040K
uffd U features=wp_async,wp_unpopulated
uffd U register A wp
uffd U wp A
thread w1 {
  write A[2] = 0x1
  write A[5] = 0x2
}
thread w2 {
  write A[0] = 0x3
}
thread scanner {
  pagemap_scan A wp_matching check_wpasync
}
check no_silent_write
check no_lost_write
check consistent
