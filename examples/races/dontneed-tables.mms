# explore: holds
# MADV_DONTNEED is not atomic over its range: madvise_dontneed_single_vma() zaps one PTE
# table at a time, holding mmap_lock for read, so a store of another thread can come between
# two tables. The writer stores to A[0] (first table), then to A[600] (second table); the
# zap can discard the later store and keep the earlier one:
#   mmlab replay examples/races/dontneed-tables.mms --schedule v1.01110
# (A[0] reads 0x2, A[600] reads 0x0). That is 4 distinct final states, where a zap of the
# whole range in one step would allow 3. Every discarded store was discarded by the zap
# (no_lost_write) and the model stays consistent.
scenario "stores racing MADV_DONTNEED across PTE tables"
mmap A anon private rw 1024p
write A[0] = 0x1
write A[600] = 0x1
thread zapper {
  madvise A dontneed
}
thread writer {
  write A[0] = 0x2
  write A[600] = 0x3
}
check no_lost_write
check consistent
