# pwrite(2) and userfaultfd: the write looks the page cache up without a VMA, so no
# userfault can fire. A hole in a MISSING-registered mapping is filled without a message,
# and a later load through that mapping finds the page cached (no MISSING fault). A page
# write-protected with uffd-wp changes under the protection without a wp fault: the PTE keeps
# its uffd-wp bit, and with WP_ASYNC (the tracking CRIU and QEMU's dirty tracking use)
# PAGEMAP_SCAN still reports the page not written: a tracker of writes through the mapping
# does not see writes through the file. A store through the mapping is seen. Checked on
# Linux 6.18 with `mmlab diff`.
scenario "pwrite under userfaultfd"
memfd F 8p
mmap M F shared rw
uffd U
uffd U register M missing
pwrite F[3] = 0x33
read M[3]
expect no event U
expect read M[3] == 0x33
memfd G 4p
mmap W G shared rw
write W[0..1] = seq(0x60)
uffd V features=wp_async
uffd V register W wp
uffd V wp W
pwrite G[0] = 0x66
expect read W[0] == 0x66
expect pagemap W[0] present=1 uffd_wp=1
write W[1] = 0x67
pagemap_scan W[0..1]
expect pagemap_scan W[0..1] written=1
expect no event V
