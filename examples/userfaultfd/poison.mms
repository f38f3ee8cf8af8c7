# UFFDIO_POISON installs a poison marker in a none PTE (pagemap 0x400000000000005f); an
# access raises SIGBUS (BUS_MCEERR_AR). It needs a true none PTE: EEXIST over a page.
scenario "userfaultfd poison"
mmap A anon private rw 4p
write A[1] = 0x1
uffd U features=poison
uffd U register A missing
uffd U poison A[0]
expect pagemap A[0] = 0x400000000000005f
read A[0] -> SIGBUS
uffd U poison A[1] -> EEXIST
