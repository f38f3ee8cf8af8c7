# explore: fails
# KSM drops uffd-wp under Linux 6.18 (docs/findings.md). replace_page() in mm/ksm.c maps the
# KSM page with mk_pte(kpage, vma->vm_page_prot): the uffd-wp bit of the PTE it replaces is
# gone. A page that a tracker write-protected is merged by ksmd; a store after the merge
# takes the ordinary COW path of do_wp_page() (no uffd-wp bit, so no handle_userfault()) and
# completes without a wp fault: the tracker never learns of the write. `no_silent_write`
# fails on the schedule "ksmd, then writer". The same scenario under the fix
# (`design ksm.uffd_wp = keep`, ksm-uffd-wp-keep.mms) holds: explore: holds.
scenario "KSM merge vs a store to a uffd-wp protected page (6.18)"
mmap A anon private rw 2p
write A[0] = 0x7
write A[1] = 0x7
madvise A mergeable
ksm run
ksm scan 1
uffd U
uffd U register A wp
uffd U wp A
thread ksmd {
  ksm scan 1
}
thread writer {
  write A[0] = 0x8
}
check no_silent_write
