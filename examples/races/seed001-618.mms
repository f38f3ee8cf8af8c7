# explore: holds
# Seed 001 under Linux 6.18: the zap of a uffd-wp shmem PTE leaves a uffd-wp marker, and
# fault-around is off for uffd-wp VMAs; the write always reaches the handler first (it
# sleeps on the wp fault: the threads that sleep at the end are reported, not errors).
scenario "the seed 001 race under 6.18"
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
