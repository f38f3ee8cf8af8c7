# mmap rounded the length up with (length + 4095): a trap for a length within 4095 of
# 2^64. The kernel: PAGE_ALIGN(len) wraps to 0, ENOMEM.
mmap A anon private rw 0xffffffffffffffff -> ENOMEM
mmap B anon private rw 0xfffffffffffff001 -> ENOMEM
memfd F 4p
mmap C F shared rw 0xffffffffffffffff -> ENOMEM
mmap D F shared rw 1p offset=0xfffffffffffff000 -> EOVERFLOW
