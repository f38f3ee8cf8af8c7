# KSM merges identical private anonymous pages: a page's checksum must be unchanged for a
# full scan before it enters the unstable tree, so merging happens in the second scan; then
# 16 KSM pages back 32 mappings (pages_shared 16, pages_sharing 16), neither side is
# exclusive, and the page scanned second becomes the KSM page. Shared mappings are ignored
# silently. (linux-6.18 digest §8 and appendix; not yet run by mmlab live.)
scenario "KSM merges two identical regions"
mmap A anon private rw 16p
mmap B anon private rw 16p
write A = seq(0x100)
write B = seq(0x100)
pagemap B[0]                                        # frame #1 (A's frames come later)
madvise A mergeable
madvise B mergeable
ksm run
ksm scan 1
expect ksm pages_shared=0 pages_sharing=0 full_scans=1
ksm scan 1
expect ksm pages_shared=16 pages_sharing=16 pages_unshared=0 pages_volatile=0 full_scans=2
expect pagemap A present=1 exclusive=0 file=0
expect pagemap B present=1 exclusive=0
expect pagemap A[0] frame=same(B[0])
expect pagemap A[0] frame=id(1)                     # B's page, scanned second, is the KSM page
expect pagemap A[15] frame=same(B[15])
expect read A == seq(0x100)
memfd F 4p
mmap S F shared rw
write S = 0x100
madvise S mergeable                                 # a shared mapping: silently ignored
ksm scan 2
expect ksm pages_shared=16 pages_sharing=16
