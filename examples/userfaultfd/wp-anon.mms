# Write-protect mode on anon memory: UFFDIO_WRITEPROTECT sets the uffd-wp bit (pagemap bit
# 57); a write sleeps and reports WP|WRITE; unprotecting wakes it. Without WP_UNPOPULATED an
# empty anon page cannot be protected, and MADV_DONTNEED drops the protection (linux-6.18
# digest appendix: checked on this kernel).
scenario "userfaultfd wp on anon"
mmap A anon private rw 8p
write A[0..1] = 0x1
uffd U
uffd U register A wp
uffd U wp A
expect pagemap A[0] present=1 uffd_wp=1 exclusive=1
expect pagemap A[4] = 0x0                           # nothing to protect: no marker without wp_unpopulated
thread T {
  write A[0] = 0x2
}
expect event U pagefault A[0] wp write
uffd U unwp A[0]
join T
expect read A[0] == 0x2
expect pagemap A[0] uffd_wp=0
write A[4] = 0x4                                    # empty when protected: no message
expect no event U
madvise A[1] dontneed                               # anon zap drops the protection
write A[1] = 0x5
expect no event U
expect read A[1] == 0x5
