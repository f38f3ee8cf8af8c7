# A pin holds its pages, not the mapping: after munmap the pinned page lives on (the device
# could still write it) until unpin frees it. A write pin of a page shared copy-on-write with a
# child breaks COW first (the write fault of GUP), so the pinned page is the parent's own.
# Errors: EFAULT for a page with no VMA, a read-only VMA (FOLL_WRITE) and PROT_NONE; a pin
# that fails pins nothing, and unpinning it is ENXIO (IORING_UNREGISTER_BUFFERS of a ring
# without buffers).
scenario "pin lifetime and errors"
mmap A anon private rw 2p
write A[0..1] = 0x1
fork child
pin P A[0]
expect pagemap A[0] present=1 exclusive=1
in child {
  expect read A[0] == 0x1
}
munmap A[0]
unpin P
mmap R anon private r 1p
pin Q R[0] -> EFAULT
unpin Q -> ENXIO
mmap N anon private none 1p
pin S N[0] -> EFAULT
pin T A[0..1] -> EFAULT
expect read A[1] == 0x1
mmap X anon shared rw 2p
uffd U
uffd U register X wp
uffd U poison X[0]
pin V X[0] -> EFAULT                                # VM_FAULT_HWPOISON: EFAULT without FOLL_HWPOISON
madvise X[0] populate_read -> EHWPOISON             # populate asks for FOLL_HWPOISON
