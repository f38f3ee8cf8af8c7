# Private anonymous memory: a read fault maps the shared zero page, a write fault a new
# exclusive frame. Checked on Linux 6.18 (docs/kernel-checks.md, case 1).
scenario "anon read and write faults"
mmap A anon private rw 16p
expect pagemap A[0..1] = 0x0                        # untouched: no PTE
read A[0]
expect read A[0] == 0x0
expect pagemap A[0] present=1 exclusive=0 file=0 frame=zero
expect pagemap A[1] = 0x0                           # anon memory has no fault-around
write A[1] = 0x11
expect pagemap A[1] present=1 exclusive=1 file=0 frame=new
expect pagemap A[1] = 0x8100000000000000            # present | exclusive
expect read A[1] == 0x11
write A[0] = 0x22                                   # write to the zero page: COW to a new frame
expect pagemap A[0] present=1 exclusive=1 frame=new
expect read A[0] == 0x22
expect read A[1] == 0x11
