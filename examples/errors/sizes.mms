# Sizes at the kernel's own limits, on x86-64 (checked against the 6.18 source and, with
# `mmlab diff`, on the running kernel). Beyond a limit the kernel refuses with its errno;
# within it a size works however large, because nothing is allocated for what is not touched:
# a 16 TiB mapping of an 8 EiB memfd with one page written costs one page.
#   memfd_create + ftruncate: the length is an off_t, so 2^63 or more is negative (EINVAL);
#     tmpfs's s_maxbytes is MAX_LFS_FILESIZE = LLONG_MAX, so every other size is accepted.
#   mmap: file_mmap_ok() wants the mapping to end within MAX_LFS_FILESIZE (EOVERFLOW);
#     get_unmapped_area() refuses more than TASK_SIZE, 2^47 - 4K (ENOMEM); a length that
#     PAGE_ALIGN() wraps to 0 is ENOMEM.
#   Private read-only and shared memfd mappings are not accounted, so 16 TiB of them map on
#   any machine (private writable memory beyond RAM + swap is another matter: overcommit.mms).
scenario "sizes beyond the kernel's limits get its errnos; sizes within them work"
memfd Big 0x8000000000000000 -> EINVAL                     # ftruncate(): a negative length
memfd F 0x7fffffffffffffff                                 # MAX_LFS_FILESIZE
mmap Over F shared rw 1p offset=0x7ffffffffffff000 -> EOVERFLOW   # ends 1 byte past the limit
mmap Over2 F shared rw 2p offset=0x7fffffffffffe000 -> EOVERFLOW
mmap Last F shared rw 1p offset=0x7fffffffffffe000         # the last whole page that may map
write Last[0] = 0x77
pread F[2251799813685246]                                  # the same page through the file
mmap B F shared rw 16384G                                  # 16 TiB of it
write B[4294967295] = 0x42
expect read B[4294967295] == 0x42
pread F[4294967295]
expect pagemap B[4294967295] present=1 file=1 exclusive=1
expect pagemap B[0] present=0
mmap Huge anon private rw 131072G -> ENOMEM                # 128 TiB: more than TASK_SIZE
mmap Wrap anon private rw 0xffffffffffffffff -> ENOMEM     # PAGE_ALIGN(len) == 0
mmap E anon private r 16384G                               # not accounted: maps
read E[4294967295]
expect pagemap E[4294967295] present=1 frame=zero
munmap E[1..4294967294]
expect read E[0] == 0x0
