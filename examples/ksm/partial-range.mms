# MADV_MERGEABLE and MADV_UNMERGEABLE apply to the advised range only: ksm_madvise() computes
# the new flags, madvise_update_vma() → vma_modify_flags() splits the VMA at the range's ends
# (madvise_vma_behavior() in mm/madvise.c). Pages outside the range keep their state: after
# unmerging half of a merged VMA, the other half stays merged, and the next scan keeps its
# rmap items (ksm_functional_tests.c's test_unmerge_discarded shape, checked on the kernel).
scenario "KSM advice on part of a VMA"
mmap A anon private rw 8p
write A[0..7] = 0x5
madvise A[0..5] mergeable
ksm run
ksm scan 2
expect ksm pages_shared=1 pages_sharing=5
pagemap A
madvise A[4..5] unmergeable
expect pagemap A[4..5] exclusive=1
ksm scan 1
expect ksm pages_shared=1 pages_sharing=3 pages_unshared=0
pagemap A[0..5]
madvise A[6..7] mergeable
ksm scan 2
expect ksm pages_shared=1 pages_sharing=5
madvise A[0..1] unmergeable
ksm scan 1
expect ksm pages_shared=1 pages_sharing=3
