# KSM across fork and exit (mm/ksm.c ksm_fork(), __ksm_exit()): the child of a registered mm
# is registered too and its pages merge with the parent's; zero-filled pages merge with each
# other; a swapped-out page is not scanned; after the child exits, its rmap items keep
# counting until ksmd's next scan frees them. Checked on this kernel with mmlab diff.
scenario "KSM with fork and exit"
swap 16M
mmap A anon private rw 6p
write A[0..2] = 0x5
write A[3] = 0x0
write A[4] = 0x0
write A[5] = 0x6
madvise A mergeable
fork c
in c {
  write A[5] = 0x5
}
ksm run
ksm scan 1
expect ksm pages_shared=0 pages_sharing=0 pages_unshared=0 pages_volatile=12 full_scans=1
ksm scan 1
expect ksm pages_shared=2 pages_sharing=9 pages_unshared=1 pages_volatile=0 full_scans=2
madvise A[0] pageout                                # a KSM page mapped 7 times: skipped
expect pagemap A[0] present=1 exclusive=0
in c {
  exit
}
expect ksm pages_shared=2 pages_sharing=9           # the child's items count until the next scan
ksm scan 1
expect ksm pages_shared=2 pages_sharing=3 pages_unshared=1 full_scans=3
