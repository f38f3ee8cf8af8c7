# explore: holds
# The fix for the 6.18 behaviour of ksm-uffd-wp-618.mms (explore: fails there): under
# `design ksm.uffd_wp = keep`, replace_page() carries the replaced PTE's uffd-wp (and
# soft-dirty) bit into the PTE of the KSM page, as break_ksm()'s copy already does. A store
# after the merge then write-faults on a uffd-wp PTE and sleeps in handle_userfault() until
# the tracker resolves it (no handler here: the writer is reported asleep), so no write is
# silent on any schedule: explore: holds. Docs: docs/designs.md, docs/findings.md.
design ksm.uffd_wp = keep
scenario "KSM merge vs a store to a uffd-wp protected page (ksm.uffd_wp = keep)"
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
