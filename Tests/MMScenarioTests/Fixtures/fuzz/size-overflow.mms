# The checker counted the pages of a size with (bytes + 4095) / 4096: an arithmetic
# overflow trap for a size within 4095 of 2^64. Now EINVAL (a negative off_t).
memfd F 0xffffffffffffffff -> EINVAL
dax D 0xffffffffffffffff align=4K -> EINVAL
dax E 0xfffffffffffff000 align=4K -> ENOSPC
guest_memfd G 0xfffffffffffff000 flags=mmap -> EINVAL
