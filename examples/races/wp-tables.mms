# explore: holds
# UFFDIO_WRITEPROTECT walks its range one VMA piece per PTE table, holding mmap_lock for
# read throughout (mwriteprotect_range → uffd_wp_range → change_protection, each table under
# its PTE lock). Stores of another thread interleave at those table boundaries: a store to a
# table the walk has not reached yet lands without a fault (it came before the protection);
# a store to a table already protected sleeps on its wp fault (nobody resolves it here; the
# sleeping writer is reported, not an error). Either way no store completes silently on a
# protected page and none is lost. The munmap takes mmap_lock for write, so it runs before
# the walk or after it, never between two of its tables.
scenario "stores racing UFFDIO_WRITEPROTECT across PTE tables"
mmap A anon private rw 1024p
write A[0] = 0x1
write A[600] = 0x1
write A[1000] = 0x1
uffd U
uffd U register A wp
thread tracker {
  uffd U wp A
}
thread writer {
  write A[600] = 0x2
  write A[0] = 0x3
}
thread unmapper {
  munmap A[1000..1023]
}
check no_silent_write
check no_lost_write
check consistent
