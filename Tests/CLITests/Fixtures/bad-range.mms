mmap A anon private rw 4p
read A[3..1]
