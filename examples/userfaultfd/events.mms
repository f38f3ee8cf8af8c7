# Non-cooperative events are synchronous: MADV_DONTNEED with EVENT_REMOVE and munmap with
# EVENT_UNMAP sleep until the manager reads the event; while an event is unread, resolving
# ioctls fail with EAGAIN (mmap_changing). Page faults are read before events.
scenario "userfaultfd remove and unmap events"
mmap A anon private rw 8p
uffd U features=event_remove,event_unmap
uffd U register A missing
thread D {
  madvise A[0..1] dontneed
}
uffd U zeropage A[7] -> EAGAIN                      # the REMOVE event is not read yet
expect event U remove A[0..1]
join D
thread M {
  munmap A[4..5]
}
expect event U unmap A[4..5]
join M
expect pagemap A[4..5] = 0x0
