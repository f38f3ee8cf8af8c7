# PAGEMAP_SCAN categories as ranges of pages. A none PTE counts as written (6.18.44); a range
# without a PTE table only on a uffd-wp VMA (a never-touched mapping: no category); uffd-wp
# and guard markers are "swapped" (linux-6.18 digest appendix: checked on this kernel).
scenario "PAGEMAP_SCAN categories"
swap 16M
mmap A anon private rw 8p
read A[0]
write A[1..3] = 0x1
madvise A[3] pageout
madvise A[5] guard_install
pagemap_scan A
expect pagemap_scan A written=0..7 present=0..2 pfnzero=0 swapped=3,5 guard=5 file=none
memfd F 4p
mmap B F shared rw
write B[0] = 0x2
expect pagemap_scan B present=0 file=0 written=0..3
memfd G 4p
mmap N G shared rw                                  # never touched: no PTE table
expect pagemap_scan N written=none present=none
uffd U
uffd U register N wp
expect pagemap_scan N written=0..3                  # a hole on a uffd-wp VMA reads as written
mmap M anon private rw 4p
uffd V
uffd V register M missing
expect pagemap_scan M written=none                  # no PTE table yet
thread T {
  read M[2]
}
expect event V pagefault M[2]
expect pagemap_scan M written=0..3                  # do_anonymous_page() made the table before handle_userfault()
uffd V zeropage M[2]
join T
