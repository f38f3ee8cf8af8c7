# pwrite(2) on a guest_memfd: kvm_gmem_fops have no write_iter and the file is not
# FMODE_PWRITE, so ksys_pwrite64() fails with ESPIPE before any page is looked up; the page
# keeps its data. Checked on Linux 6.18 with `mmlab diff` (needs /dev/kvm).
scenario "pwrite on a guest_memfd"
guest_memfd G 4p flags=mmap,init_shared
mmap A G shared rw
write A[0] = 0x5
pwrite G[0] = 0x9 -> ESPIPE
pwrite G[1..3] = seq(0x10) -> ESPIPE
expect read A[0] == 0x5
guest_memfd H 4p
pwrite H[0] = 0x1 -> ESPIPE
