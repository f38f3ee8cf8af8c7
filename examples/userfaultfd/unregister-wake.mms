# UFFDIO_UNREGISTER wakes the faults pending in a VMA registered for MISSING faults
# (userfaultfd_unregister(): "so they will not hang permanently"); a fault pending in a WP or
# MINOR registration stays asleep until UFFDIO_WAKE, and then retries without userfaultfd
# (fs/userfaultfd.c; found by the random differential test, checked on this kernel).
scenario "unregister wakes MISSING faults only"
mmap A anon private rw 4p
uffd U
uffd U register A missing
thread T1 {
  write A[0] = 0x1
}
expect event U pagefault A[0] write
uffd U unregister A[0]                              # wakes T1: it retries without userfaultfd
join T1
expect read A[0] == 0x1
memfd F 4p
mmap B F shared rw
write B = 0x2
uffd U register B wp
uffd U wp B
thread T2 {
  write B[1] = 0x3
}
expect event U pagefault B[1] wp write
uffd U unregister B[1]                              # a WP registration: T2 sleeps on
expect pagemap B[1] uffd_wp=0
uffd U wake B[1]
join T2
expect read B[1] == 0x3
