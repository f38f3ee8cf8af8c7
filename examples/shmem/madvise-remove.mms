# MADV_REMOVE punches the file range behind a shared mapping; it needs VM_SHARED and
# VM_MAYWRITE (EACCES on a private mapping, even a writable one; allowed on a read-only
# shared mapping of a writable fd) and a file (EINVAL on anon). Checked on Linux 6.18 (case 13).
scenario "madvise remove"
memfd F 8p
mmap B F shared rw
write B = 0x42
mmap C F private rw
read C[1]
write C[2] = 0xc2
madvise B[0..3] remove
expect pagemap B[0..3] = 0x0
expect pagemap C[1] = 0x0
expect pagemap C[2] present=1 exclusive=1 file=0
expect read B[0] == 0x0
expect read B[4] == 0x42
madvise C[0] remove -> EACCES
mmap A anon private rw 2p
madvise A remove -> EINVAL
mmap R F shared r
madvise R[6..7] remove
expect read B[6..7] == 0x0
