# A deliberately broken design for the explorer's tests: with uffd_wp.file_zap = drop, an
design uffd_wp.file_zap = drop
# MADV_DONTNEED of a write-protected shmem page loses the protection, so a racing write can
# land without a wp fault.
memfd F 4p
mmap A F shared rw
write A = 0x1
uffd U
uffd U register A wp
uffd U wp A
thread zapper {
  madvise A[1] dontneed
}
thread writer {
  write A[1] = 0x2
}
check no_silent_write
