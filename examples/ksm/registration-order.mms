# A scan visits mms in the order they registered with KSM (the mm_slot list), not in the
# order they were created: here the child registers first, so main's page is scanned second
# and becomes the KSM page. Checked on this kernel with mmlab diff.
scenario "KSM scan order follows registration"
mmap A anon private rw 2p
fork c
write A = seq(0x30)
pagemap A[0]                                        # frame #1: main's page
in c {
  write A = seq(0x30)
  madvise A mergeable
}
madvise A mergeable
ksm run
ksm scan 2
expect ksm pages_shared=2 pages_sharing=2
in c {
  expect pagemap A[0] frame=id(1)                   # the child maps main's page
}
