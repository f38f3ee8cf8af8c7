# Benchmark of explore (docs/performance.md): four threads race under uffd-wp, a hole punch,
# a reader and two writers over one shmem file (seed 001 under 6.18, with a second writer).
scenario "a hole punch, a reader and two writers under uffd-wp"
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
thread writer2 {
  write A[14] = 0x3
}
check no_silent_write
