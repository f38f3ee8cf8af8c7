# Follows uffd-unit-tests.c "zeropage": UFFDIO_ZEROPAGE resolves a missing fault with the
# zero page on private anon memory, and fails with EEXIST where a page is already mapped.
scenario "selftest uffd zeropage"
mmap A anon private rw 4p
uffd U
uffd U register A missing
uffd U zeropage A[0]
expect pagemap A[0] present=1 frame=zero
expect read A[0] == 0x0
uffd U copy A[1] = 0x1
uffd U zeropage A[1] -> EEXIST
