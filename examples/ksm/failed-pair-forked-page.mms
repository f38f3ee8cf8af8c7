# try_to_merge_two_pages() makes the scanned page KSM (with a NULL stable node) before it
# tries the unstable tree's page; when that one cannot be merged (here: a long-term pin),
# break_cow() breaks only the scanned item's mapping. A fork's other mapping of the page
# still maps the KSM-flagged page; when ksmd reaches it, it is not "already in the stable
# tree": cmp_and_merge_page() sees no stable node and takes it through the checksum and the
# unstable tree again, which fails on the pinned page again and breaks that COW too. Nothing
# is ever merged while the pinned page of that content sits first in the unstable tree.
# (Found by `mmlab diff --random 10000 --seed 900000`, seed 904386.)
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
in c1 {
  expect pagemap B[14] present=1 exclusive=1
  expect read B[14] == 0
}
expect pagemap B[14] present=1 exclusive=1
expect read B[14] == 0
