# MADV_POPULATE_READ/WRITE over a range registered for userfaultfd: madvise_populate() faults
# the pages in through GUP with FOLL_UNLOCKABLE, so a fault that traps sleeps in
# handle_userfault() (mmap_lock dropped) until the manager resolves it, and is then retried;
# the call returns 0 once every page is populated. UFFDIO_WAKE without resolving makes the
# retried fault trap again (a second message). A populate_write over a present zero page
# breaks COW without a userfault (missing mode traps only on none PTEs).
scenario "MADV_POPULATE sleeps on userfaults"
mmap A anon private rw 4p
uffd U
uffd U register A missing
uffd U copy A[0] = 0x10
thread P {
  madvise A populate_read
}
expect event U pagefault A[1]
expect no event U
uffd U wake A[1]
expect event U pagefault A[1]                       # woken but not resolved: it traps again
uffd U copy A[1] = 0x11
expect event U pagefault A[2]
uffd U zeropage A[2..3]
join P
expect pagemap A[0..1] present=1
expect pagemap A[2..3] present=1 frame=zero
expect read A[1] == 0x11
madvise A[2] populate_write                         # the zero page is present: a COW, no userfault
expect pagemap A[2] present=1 exclusive=1
expect no event U
