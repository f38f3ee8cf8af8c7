# MADV_FREE (mm/madvise.c madvise_free_pte_range()): anonymous private pages are freed lazily.
# The pages stay mapped (pagemap unchanged) but their PTEs become old and clean and the folios
# lazyfree (no longer swap-backed), so reclaim may drop them without swap; a page written
# again before reclaim is kept. Here `madvise pageout` plays reclaim, on a machine without
# swap: only the clean lazyfree page goes, and reads back as zeros. MADV_FREE is refused
# (EINVAL) on file and shared anonymous (shmem) mappings.
scenario "MADV_FREE frees lazily"
mmap A anon private rw 4p
write A = seq(0x41)
madvise A[0..1] free
expect pagemap A[0..3] present=1 exclusive=1          # nothing is unmapped yet
write A[1] = 0x99                                     # redirtied: it will be kept
madvise A pageout                                     # no swap: anon pages stay, except...
expect pagemap A[0] = 0x0                             # ...the clean lazyfree one, dropped
expect pagemap A[1..3] present=1
expect read A[0] == 0x0
expect read A[1] == 0x99
expect read A[2..3] == seq(0x43)
memfd F 1p
mmap M F shared rw
madvise M free -> EINVAL
mmap S anon shared rw 1p
madvise S free -> EINVAL
