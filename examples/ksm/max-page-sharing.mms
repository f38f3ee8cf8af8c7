# Stable-node chains (mm/ksm.c: stable_node_dup(), stable_tree_insert() with need_chain): a
# KSM page takes at most max_page_sharing mappings (default 256). A page whose content matches
# only full KSM pages is not merged into them: it goes to the unstable tree and, with the
# next page of that content, makes a new KSM page, a "dup" in the same stable-node chain.
# Later pages join the dup with the most mappings that still has room. `ksm max_page_sharing
# N` (an mmlab extension) writes the knob, which the kernel accepts only while no KSM page
# exists (EBUSY) and only from 2 up (EINVAL).
scenario "KSM stable-node chains"
mmap A anon private rw 600p
write A = 0x5
madvise A mergeable
ksm run
ksm scan 2
expect ksm pages_shared=3 pages_sharing=597 pages_unshared=0 pages_volatile=0
expect pagemap A[0..255] frame=same(A[0])           # the first KSM page: A[0] and A[1..255]
expect pagemap A[256..257] frame=same(A[256])       # then a new one from A[256] and A[257]
ksm max_page_sharing 4 -> EBUSY                     # KSM pages exist
ksm max_page_sharing 1 -> EINVAL
munmap A
ksm scan 1
expect ksm pages_shared=0 pages_sharing=0
ksm max_page_sharing 4
mmap B anon private rw 10p
write B = 0x7
madvise B mergeable
ksm scan 2
expect ksm pages_shared=3 pages_sharing=7 pages_unshared=0
expect pagemap B[0..3] frame=same(B[0])
expect pagemap B[4..7] frame=same(B[4])
expect pagemap B[8..9] frame=same(B[8])
