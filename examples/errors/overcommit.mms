# The kernel's overcommit heuristic (vm.overcommit_memory = 0, __vm_enough_memory() in
# mm/util.c): a private writable mapping is accounted, and one larger than RAM + swap fails
# with ENOMEM at mmap (and making a large read-only mapping writable fails at mprotect). The
# model has no memory size and maps it: a deviation by nature, listed in docs/deviations.md.
# Read-only private mappings and shared memfd mappings are not accounted and map on both.
scenario "16 TiB of private writable memory is more than this machine may commit"
mmap W anon private rw 16384G                              # the kernel: ENOMEM (deviation)
mmap R anon private r 16384G
read R[0]
expect pagemap R[0] present=1 frame=zero
mprotect R[0] rw                                           # one page accounted: fine
write R[0] = 0x1
expect read R[0] == 0x1
