# A guest_memfd mapping is MAP_SHARED with no anon_vma: fork copies no page tables, and
# the child's first access faults in the same page-cache folio.
scenario "guest_memfd across fork"
guest_memfd G 2p flags=mmap,init_shared
mmap A G shared rw
write A = seq(0x5)
pagemap A[0]                                      # frame #1
fork child
in child {
  expect pagemap A = 0x0
  expect read A == seq(0x5)
  expect pagemap A[0] present=1 exclusive=0 frame=id(1)
  write A[1] = 0x66
}
expect read A[1] == 0x66
