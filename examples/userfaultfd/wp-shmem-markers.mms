# uffd-wp on shmem survives zaps: MADV_DONTNEED, MADV_PAGEOUT, punch hole and MADV_REMOVE
# replace a protected PTE by a uffd-wp PTE marker (pagemap 0x420000000000003f), and a later
# write still raises a wp fault. Write-protecting an empty shmem range installs markers even
# without WP_UNPOPULATED; unprotect turns them back into none PTEs (linux-6.18 digest
# appendix: checked on this kernel).
scenario "uffd-wp markers on shmem"
swap 16M
memfd F 16p
mmap B F shared rw
write B[0..7] = seq(0x20)
uffd U
uffd U register B wp
uffd U wp B
expect pagemap B[0..7] present=1 uffd_wp=1 file=1
expect pagemap B[8..15] = 0x420000000000003f       # empty: markers
madvise B[0] dontneed
madvise B[1] pageout
punch F[2]
madvise B[3] remove
expect pagemap B[0..3] = 0x420000000000003f
thread T {
  write B[0] = 0x99
}
expect event U pagefault B[0] wp write
uffd U unwp B[0]
join T
expect read B[0] == 0x99
expect read B[1] == 0x21                            # paged out and back, still the same data
expect pagemap B[1] present=1 uffd_wp=1             # a read keeps the protection
uffd U unwp B[8..15]
expect pagemap B[8..15] = 0x0
uffd U unregister B
expect pagemap B[2..3] = 0x0                        # unregister clears the remaining markers
