# guest_memfd's vm_ops have .fault but no .map_pages, so a read fault never maps the
# neighbouring page-cache pages (a memfd maps 16 at once), MAP_SHARED pages are writable
# from the first read, and MADV_REMOVE punches the file like fallocate.
scenario "guest_memfd faults one page at a time"
guest_memfd G 16p flags=mmap,init_shared
mmap A G shared rw
write A = seq(0x10)
madvise A dontneed                                # the page cache still holds all 16
expect read A[5] == 0x15
expect pagemap A[5] present=1 file=1 exclusive=1
expect pagemap A[0..4] = 0x0
expect pagemap A[6..15] = 0x0
memfd F 16p
mmap B F shared rw
write B = seq(0x20)
madvise B dontneed
expect read B[5] == 0x25
expect pagemap B[0..15] present=1                 # fault-around mapped the window
madvise A[5] remove
expect pagemap A[5] = 0x0
expect read A[5] == 0x0
