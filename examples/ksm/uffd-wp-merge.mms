# A page write-protected with userfaultfd loses its protection when KSM merges it (Linux
# 6.18, docs/findings.md). write_protect_page() keeps the uffd-wp bit of the page that becomes
# the KSM page (A[1] here, scanned second), but replace_page() maps the KSM page into the other
# PTE (A[0]) with mk_pte(kpage, vm_page_prot): A[0]'s uffd-wp bit is gone, and a store to it
# COWs without a wp fault and without a message. Checked on the kernel with `mmlab diff`.
scenario "KSM merge drops uffd-wp (6.18)"
mmap A anon private rw 2p
write A[0] = 0x7
write A[1] = 0x7
madvise A mergeable
ksm run
ksm scan 1
uffd U
uffd U register A wp
uffd U wp A
expect pagemap A[0..1] present=1 uffd_wp=1
ksm scan 1
expect ksm pages_shared=1 pages_sharing=1
expect pagemap A[0] present=1 uffd_wp=0
expect pagemap A[1] present=1 uffd_wp=1
pagemap A
write A[0] = 0x8
expect no event U
expect read A[0] == 0x8
