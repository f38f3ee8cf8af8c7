# MADV_FREE queues a lazyfree folio on the per-CPU lru_lazyfree batch, which holds a folio
# reference until the batch drains (lru_add_drain(): MADV_PAGEOUT/COLD, MADV_DONTNEED, MADV_FREE
# itself, munmap, exit, or 31 folios). After fork the parent's folios are no longer marked
# exclusive, so a write fault asks wp_can_reuse_anon_folio(), and the batch's reference makes it
# copy where it would otherwise reuse. Checked on the kernel (the worker runs on one CPU).
scenario "MADV_FREE and copy-on-write after fork"
mmap A anon private rw 4p
mmap B anon private rw 1p
write A = seq(0x41)
fork child
in child {
  exit
}
pagemap A[2]                                          # frame #1
write A[2] = 0x77                                     # the child is gone: reuse
expect pagemap A[2] frame=id(1)
pagemap A[3]
madvise A[3] free
write A[3] = 0x78                                     # in the lazyfree batch: copied
expect pagemap A[3] frame=new
pagemap A[1]                                          # frame #4
madvise A[1] free
madvise B pageout                                     # drains the batch
write A[1] = 0x79                                     # reused
expect pagemap A[1] frame=id(4)
expect read A[1] == 0x79
expect read A[2] == 0x77
expect read A[3] == 0x78
