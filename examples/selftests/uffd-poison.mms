# Follows uffd-unit-tests.c "poison": UFFDIO_POISON on missing pages makes later accesses
# raise SIGBUS (BUS_MCEERR_AR); the other pages resolve normally.
scenario "selftest uffd poison"
mmap A anon private rw 4p
uffd U features=poison
uffd U register A missing
uffd U poison A[1]
uffd U poison A[3]
uffd U copy A[0] = 0x10
uffd U copy A[2] = 0x12
read A[1] -> SIGBUS
write A[3] = 0x1 -> SIGBUS
expect read A[0] == 0x10
expect read A[2] == 0x12
