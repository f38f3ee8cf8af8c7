# try_to_merge_two_pages() makes the scanned page KSM (with a NULL stable node) before it
# tries the unstable tree's page; when that one cannot be merged (here: a long-term pin),
# break_cow() breaks only the scanned item's mapping. A fork's other mapping of the page
# still maps the KSM-flagged page, and it can never be merged: write_protect_page() fails
# with -EFAULT on any KSM folio (page_address_in_vma() finds no anon_vma: folio_anon_vma()
# is NULL for a KSM mapping), so the child's item fails before anything is broken, scan
# after scan, and after the pin is gone too. The other three zero pages merge.
# (Found by `mmlab diff --random 10000 --seed 900000`, seed 904386; the kernel's side read
# with the ksm_merge_with_ksm_page tracepoint: error -14 on that page in every scan.)
scenario "KSM: a failed pair's KSM page mapped by a forked child"
memfd F 20p
mmap A F private rw
mmap B anon private rw 24p
ksm run
madvise B[14] populate_write                  # one zero-filled anonymous page
pin P1 A[0]                                   # a zero-filled COW copy, pinned (refcount + 1024)
prctl memory_merge on
fork c1                                       # the child gets its own copy of the pinned page; B[14] is shared
ksm scan 1
expect ksm pages_shared=0 pages_sharing=0 pages_unshared=0
ksm scan 2
expect ksm pages_shared=0 pages_sharing=0
pagemap B[14]                                 # the parent's COW copy made by break_cow()
in c1 {
  pagemap B[14]                               # still the KSM-flagged page, mapped once
  expect pagemap B[14] present=1 exclusive=1
  expect read B[14] == 0
}
expect read B[14] == 0
unpin P1
ksm scan 2                                    # three merge; the child's KSM-flagged page stays out
expect ksm pages_shared=1 pages_sharing=2
pagemap A[0]
pagemap B[14]
in c1 {
  pagemap A[0]
  pagemap B[14]
  expect pagemap B[14] present=1 exclusive=1
  write B[14] = 7                             # a KSM page: the write copies it
  expect read B[14] == 7
}
expect ksm pages_shared=1 pages_sharing=2
