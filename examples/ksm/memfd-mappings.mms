# Linux 6.18 and memfd mappings (seed 002, ksm.file_pages = off). madvise(MADV_MERGEABLE) on
# a MAP_SHARED mapping succeeds and does nothing: ksm_compatible() refuses VM_SHARED, so the
# VMA never becomes VM_MERGEABLE and the mm is not even registered with ksmd; two memfds with
# identical pages (two guests' memory, cloud-hypervisor #4832) get pages_shared 0. A
# MAP_PRIVATE mapping of the same memfd is compatible: its anonymous COW copies merge, its
# page-cache pages (mapped read-only until written) are not scanned at all (no rmap item:
# pages_volatile stays 0). Checked on Linux 6.18 with `mmlab diff`.
scenario "KSM and memfd mappings on 6.18"
memfd F 4p
memfd G 4p
mmap A F shared rw
mmap B G shared rw
write A = seq(0x100)
write B = seq(0x100)
madvise A mergeable
madvise B mergeable
ksm run
ksm scan 2
expect ksm pages_shared=0 pages_sharing=0 pages_unshared=0 pages_volatile=0
mmap P F private rw
read P[0..1]                                        # the memfd's own pages, read-only
write P[2..3] = 0x500                               # two anonymous COW copies, equal
madvise P mergeable
ksm scan 2
expect ksm pages_shared=1 pages_sharing=1 pages_unshared=0 pages_volatile=0
expect pagemap P[2] frame=same(P[3])
expect pagemap P[0] present=1 file=1
expect read A == seq(0x100)                         # the copies never reach the file
expect read P[0..1] == seq(0x100)
