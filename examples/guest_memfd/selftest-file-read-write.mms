# Follows guest_memfd_test.c test_file_read_write: kvm_gmem_fops have no read or write, so
# pread(2) fails with ESPIPE (the file is not FMODE_PREAD; plain read(2)/write(2) give
# EINVAL, which the language has no statement for); a memfd reads back through the page cache.
scenario "selftest guest_memfd_test file read/write"
guest_memfd G 4p flags=mmap,init_shared
mmap A G shared rw
write A = 0x5
pread G[0] -> ESPIPE
pread G[3] -> ESPIPE
memfd F 4p
mmap B F shared rw
write B[1] = 0x77
pread F[1]
pread F[0..3]                                     # holes read zeros and stay holes
read B[0]                                         # fault-around maps cached pages only
expect pagemap B[1] present=1
expect pagemap B[2..3] = 0x0
expect read A == 0x5
