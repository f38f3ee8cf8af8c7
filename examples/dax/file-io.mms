# pread(2) and pwrite(2) on a device-dax file: dax_fops (drivers/dax/device.c) has neither
# ->read/->read_iter nor ->write/->write_iter, so the file is opened without FMODE_CAN_READ
# and FMODE_CAN_WRITE and vfs_read()/vfs_write() fail with EINVAL; the memory is reached
# through mmap only (checked against the 6.18 source: no device-dax on this machine).
scenario "device-dax read and write"
dax D 2M align=4K
mmap M D shared rw
write M[0] = 0x5
pread D[0] -> EINVAL
pwrite D[0] = 0x9 -> EINVAL
expect read M[0] == 0x5
