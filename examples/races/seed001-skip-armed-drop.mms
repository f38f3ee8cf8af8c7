# explore: fails
# The 2020 patch alone (fault-around skipped for every uffd-armed VMA) with the old zap that
# drops the uffd-wp bit: fault-around no longer maps page 9, but the writer's own fault
# still maps it writable once the punch's first step dropped the protection. The patch does
# not close the hole; the uffd-wp marker (5.19) does.
scenario "seed 001: skip_armed without markers"
design uffd_wp.file_zap = drop
design fault_around.uffd = skip_armed
memfd F 16p
mmap A F shared rw
write A = 0x1
uffd U
uffd U register A wp
uffd U wp A
thread punch {
  punch F[8..15]
}
thread reader {
  read A[12]
}
thread writer {
  write A[9] = 0x2
}
check no_silent_write
