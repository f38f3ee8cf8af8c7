# Follows uffd-unit-tests.c "sigbus" and "sigbus-wp": with UFFD_FEATURE_SIGBUS a missing
# fault raises SIGBUS; the test then copies the page in and retries; with wp the write
# raises SIGBUS again until unprotected. No userfault message is ever queued.
scenario "selftest uffd sigbus and sigbus-wp"
mmap A anon private rw 2p
uffd U features=sigbus
uffd U register A missing,wp
read A[0] -> SIGBUS
uffd U copy A[0] = 0x5 wp
expect read A[0] == 0x5
write A[0] = 0x6 -> SIGBUS
uffd U unwp A[0]
write A[0] = 0x6
expect read A[0] == 0x6
expect no event U
