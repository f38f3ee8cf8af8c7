# Seed 003, dax.memmap = none (Joao Martins' RFC): a device-dax mapping without struct page
# is VM_PFNMAP, so GUP refuses it (check_vma_flags(): EFAULT) and a long-term pin, as VFIO or
# io_uring would take for DMA or O_DIRECT, fails and pins nothing; MADV_PAGEOUT and KSM have
# nothing to do with it either way. The same pin under full or dedup (6.18) works:
# examples/designs/dax-memmap-services.mms and examples/gup/.
scenario "seed 003: no struct page, no GUP"
design dax.memmap = none
dax D 4M align=2M
mmap M D shared rw
write M[0] = 0x1
pin P M[0] -> EFAULT
pin Q M[0..511] -> EFAULT
unpin P -> ENXIO
expect pagemap M[0] present=1 file=0 exclusive=0
expect read M[0] == 0x1
