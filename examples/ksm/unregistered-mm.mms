# An mm stays registered with KSM (MMF_VM_MERGEABLE) until a full scan finds no VM_MERGEABLE
# VMA in it: scan_get_next_rmap_item() then drops its slot, and with no mm left ksmd stops
# (ksmd_should_run()), so full_scans counts that scan and no more. prctl(PR_SET_MEMORY_MERGE, 0)
# and MADV_UNMERGEABLE leave the mm registered until then; a new mapping of an mm with
# MMF_VM_MERGE_ANY registers it again (ksm_vma_flags()). mm/ksm.c; found by the random
# differential test, checked on this kernel.
scenario "KSM drops an mm without mergeable VMAs at its next scan"
ksm run
prctl memory_merge on
prctl memory_merge off
ksm scan 3
expect ksm full_scans=1                   # the first scan drops the mm; then nothing runs
mmap A anon private rw 4p
write A = 0x5
madvise A mergeable
madvise A unmergeable
ksm scan 3
expect ksm full_scans=2 pages_shared=0
munmap A
prctl memory_merge on                     # registered again, with no mapping to merge
ksm scan 1
expect ksm full_scans=3                   # ... and dropped by this scan
ksm scan 2
expect ksm full_scans=3                   # nothing registered: ksmd does not run
mmap B anon private rw 4p                 # MMF_VM_MERGE_ANY: mergeable, and registered again
write B = 0x7
ksm scan 2
expect ksm full_scans=5 pages_shared=1 pages_sharing=3
