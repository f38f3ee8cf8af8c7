# Pins of file pages: a guest_memfd mapped with GUEST_MEMFD_FLAG_MMAP, a private memfd mapping
# (the write fault of GUP makes an anonymous COW copy first, which is what gets pinned: the
# file's page cache is untouched), and a shared memfd mapping (the page-cache folio itself is
# pinned, its PTEs made writable). Checked on the kernel.
scenario "pins of guest_memfd and memfd pages"
guest_memfd G 4p flags=mmap,init_shared
mmap A G shared rw
write A[0] = 0x5
pin P A[0]
unpin P
memfd F 2p
mmap B F private rw
write B[0] = 0x6
pin Q B[0..1]
unpin Q
mmap C F shared rw
pin R C[0..1]
expect pagemap C[0..1] present=1
unpin R
expect read B[0] == 0x6
pread F[0..1]
