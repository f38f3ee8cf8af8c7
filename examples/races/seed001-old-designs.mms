# explore: fails
# Seed 001 under the designs before Linux 5.19 and the 2020 patch: a shmem hole punch unmaps
# first (unmap_mapping_range) and truncates later (shmem_truncate_range); the zap drops the
# uffd-wp protection (no marker), so between the two steps a fault maps page 9 again and the
# write lands without a wp fault: the handler never learns of it. `mmlab explore` finds it.
scenario "fault-around maps a page behind uffd-wp during a hole punch"
design uffd_wp.file_zap = drop
design fault_around.uffd = never_skip
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
