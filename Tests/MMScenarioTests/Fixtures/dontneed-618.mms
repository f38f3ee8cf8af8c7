# The same race under Linux 6.18: the zap leaves a marker, so the write always faults first.
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
