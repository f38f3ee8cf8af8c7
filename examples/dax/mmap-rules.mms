# device-dax mmap rules (drivers/dax/device.c check_vma(), dev_dax_may_split()), checked
# against the 6.18 source (linux-6.18 digest §10): this machine has no device-dax, so these
# expectations are not live-checked. MAP_PRIVATE is refused; the VMA start and end must be
# aligned to the device alignment; a split off the alignment is refused; userfaultfd cannot
# register it (not anon, shmem or hugetlb).
scenario "device-dax mmap rules"
dax D 8M align=2M
mmap P D private rw 2M -> EINVAL
mmap Q D shared rw 3M -> EINVAL                     # end not 2 MiB aligned
mmap M D shared rw 4M
munmap M[0..255] -> EINVAL                          # would split at 1 MiB
mprotect M[512..1023] r                             # a split on the 2 MiB boundary is fine
munmap M[512..1023]
uffd U
uffd U register M[0..511] missing -> EINVAL
dax E 3M align=2M -> EINVAL                         # size not a multiple of the alignment
dax G 8M align=64K -> EINVAL                        # 4K, 2M or 1G only
