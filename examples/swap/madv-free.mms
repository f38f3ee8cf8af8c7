# MADV_FREE with swap and fork (mm/madvise.c madvise_free_pte_range()): a swapped-out page's
# swap entry is freed and the PTE cleared, so it reads back as zeros. A page written again
# after MADV_FREE is swapped out as usual by the next reclaim... once reclaim has seen it
# redirtied: the first pageout only makes it swap-backed again and keeps it. A folio still
# shared with a child after fork is made lazyfree too when it is clean (PG_dirty is not set on
# an anonymous folio until reclaim or swap-in): once the child is gone, reclaim drops it,
# without swap I/O.
scenario "MADV_FREE with swap and fork"
swap 64M
mmap A anon private rw 4p
write A = seq(0x41)
madvise A[0] pageout
expect pagemap A[0] swap=1
madvise A[0] free
expect pagemap A[0] = 0x0                             # the swap entry is freed
expect read A[0] == 0x0
madvise A[2] free
write A[2] = 0x77                                     # written again (no fault: the PTE is writable)
madvise A[2] pageout
expect pagemap A[2] present=1                         # redirtied: swap-backed again, kept
madvise A[2] pageout
expect pagemap A[2] swap=1                            # now it is swapped out
expect read A[2] == 0x77
fork child
madvise A[1] free                                     # shared with the child, clean: lazyfree
in child {
  expect read A[1] == 0x42                            # the child still sees the data
  exit
}
madvise A[1] pageout
expect pagemap A[1] = 0x0                             # dropped, not swapped
expect read A[1] == 0x0
