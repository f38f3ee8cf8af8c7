# Pages that change between scans stay volatile (their checksum never settles); unique
# pages that were checked repeatedly are "unshared".
scenario "KSM volatile and unshared pages"
mmap A anon private rw 4p
write A = seq(0x1)
madvise A mergeable
ksm run
ksm scan 1
write A[0] = 0x9
ksm scan 1
expect ksm pages_shared=0 pages_sharing=0 pages_unshared=3 pages_volatile=1
