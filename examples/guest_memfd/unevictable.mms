# guest_memfd folios are unevictable (the mapping is inaccessible): MADV_PAGEOUT and
# MADV_COLD leave them mapped, even with swap, and pagemap never shows them swapped.
# MADV_DONTNEED only zaps the PTEs: the page cache keeps the data.
scenario "guest_memfd memory is unevictable"
swap 64M
guest_memfd G 4p flags=mmap,init_shared
mmap A G shared rw
write A = seq(0x40)
pagemap A[0]
madvise A pageout
expect pagemap A present=1 swap=0 file=1
expect pagemap A[0] frame=id(1)
madvise A cold
expect pagemap A present=1 swap=0
madvise A dontneed
expect pagemap A = 0x0
expect read A == seq(0x40)
expect pagemap A[0] frame=id(1)                   # the same folio, from the page cache
