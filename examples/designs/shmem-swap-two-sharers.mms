# Seed 000, row "two sharers": main and its child both map the page (the child faulted it in
# through its own PTE). MADV_PAGEOUT skips a folio mapped by more than one process
# (madvise_cold_or_pageout_pte_range(): folio_maybe_mapped_shared()), so the page stays
# resident and mapped in both, and every design reports it present in both.
scenario "seed 000: two sharers, MADV_PAGEOUT skips the shared folio"
swap 16M
memfd F 4p
mmap A F shared rw
write A[0] = 0x5
fork child
in child {
  read A[0]
}
madvise A[0] pageout
expect pagemap A[0] present=1 swap=0
in child {
  expect pagemap A[0] present=1 swap=0
}
