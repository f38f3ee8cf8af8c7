# clear_refs: 1..5 are accepted, anything else is EINVAL. This kernel is built without
# CONFIG_MEM_SOFT_DIRTY, so "4" changes nothing and bit 55 is never set. Checked on Linux
# 6.18 (case 19). See examples/softdirty for the model with soft-dirty configured.
scenario "clear_refs without soft-dirty"
mmap A anon private rw 4p
write A[0] = 0x1
clear_refs 4
expect pagemap A[0] = 0x8100000000000000
write A[0] = 0x2
expect pagemap A[0] soft_dirty=0
clear_refs 6 -> EINVAL
clear_refs 0 -> EINVAL
clear_refs 1
