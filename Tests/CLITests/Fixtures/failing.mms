# A scenario whose expectation fails.
mmap A anon private rw 4p
write A[0..1] = seq(0x10)
expect read A[0..1] == 0x10
expect pagemap A[1] present=1 swap=1
