# UFFD_FEATURE_WP_ASYNC: writes to protected pages resolve at once without a message, and
# clear the uffd-wp bit; WP_ASYNC implies WP_UNPOPULATED, so empty anon pages get markers.
scenario "userfaultfd wp_async"
mmap A anon private rw 4p
write A[0] = 0x1
uffd U features=wp_async
uffd U register A wp
uffd U wp A
expect pagemap A[0] uffd_wp=1
expect pagemap A[1] = 0x420000000000003f            # a marker, thanks to WP_UNPOPULATED
write A[0] = 0x2
write A[1] = 0x3
expect no event U
expect pagemap A[0..1] present=1 uffd_wp=0
expect pagemap A[2..3] = 0x420000000000003f
