# Follows uffd-unit-tests.c "events" and "events-wp": a forked child faults on its own
# userfaultfd (EVENT_FORK) and releasing pages raises a REMOVE event (EVENT_REMOVE); the
# monitor resolves faults with UFFDIO_COPY (in MODE_WP for events-wp).
scenario "selftest uffd events"
mmap A anon private rw 4p
uffd U features=event_fork,event_remove
uffd U register A missing,wp
thread F {
  fork child
}
expect event U fork
join F
in child {
  thread T {
    read A[0]
    madvise A dontneed
  }
}
expect event U_child pagefault A[0]
uffd U_child copy A[0] = 0x3 wp
expect event U_child remove A
in child {
  join T
  expect pagemap A = 0x0
}
expect no event U
