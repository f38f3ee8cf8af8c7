# UFFD_FEATURE_SIGBUS: a trapped fault raises SIGBUS instead of queueing a message.
scenario "userfaultfd sigbus feature"
mmap A anon private rw 4p
uffd U features=sigbus
uffd U register A missing
read A[0] -> SIGBUS
write A[1] = 0x1 -> SIGBUS
expect no event U
uffd U copy A[1] = 0x7
expect read A[1] == 0x7
