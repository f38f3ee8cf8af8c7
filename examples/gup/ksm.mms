# KSM does not merge a pinned page: write_protect_page() finds more references than
# mappings (GUP_PIN_COUNTING_BIAS) and gives up. After unpin, the two pages merge.
scenario "KSM skips a pinned page"
mmap A anon private rw 2p
write A[0..1] = 0x7
madvise A mergeable
pin P A[0]
ksm run
ksm scan 3
expect ksm pages_shared=0 pages_sharing=0
unpin P
ksm scan 2
expect ksm pages_shared=1 pages_sharing=1
