# Follows uffd-unit-tests.c "wp-unpopulated" (anon, UFFD_FEATURE_WP_UNPOPULATED): protecting a
# none PTE installs a marker; unprotect removes it; MADV_DONTNEED on anon drops a marker; a
# fault after that is not protected; a read on a marker maps the zero page protected.
scenario "selftest uffd wp-unpopulated"
mmap A anon private rw 4p
uffd U features=wp_unpopulated
uffd U register A wp
uffd U wp A[0]
expect pagemap A[0] uffd_wp=1
uffd U unwp A[0]
expect pagemap A[0] uffd_wp=0
uffd U wp A[0]
madvise A[0] dontneed
expect pagemap A[0] uffd_wp=0
write A[0] = 0x1
expect pagemap A[0] uffd_wp=0
madvise A[0] dontneed
uffd U wp A[0]
read A[0]
expect pagemap A[0] present=1 uffd_wp=1 frame=zero
madvise A[0] dontneed
