# The pagemap words of the three PTE markers, bit for bit: swap type 31 with the marker bits
# as offset: uffd-wp 0x420000000000003f, guard 0x440000000000009f, poison 0x400000000000005f
# (checked on this kernel with mmlab diff). Markers are "swap PTEs", so PM_SWAP is set.
# POISON needs a true none PTE (EEXIST over a marker); on shared shmem COPY and ZEROPAGE
# may replace a uffd-wp marker (shmem_mfill_atomic_pte() → mfill_atomic_install_pte()).
scenario "PTE marker pagemap words"
memfd F 4p
mmap B F shared rw
uffd U features=poison
uffd U register B wp,missing
uffd U wp B[0..1]
madvise B[2] guard_install
uffd U poison B[3]
expect pagemap B[0..1] = 0x420000000000003f
expect pagemap B[0] present=0 swap=1 uffd_wp=1 file=0 exclusive=0 guard=0
expect pagemap B[2] = 0x440000000000009f
expect pagemap B[3] = 0x400000000000005f
uffd U poison B[1] -> EEXIST
uffd U copy B[0] = 0x7
expect pagemap B[0] present=1 file=1 uffd_wp=0
expect read B[0] == 0x7
uffd U zeropage B[1]                                # shared shmem: the marker is replaced
expect pagemap B[1] present=1 file=1 uffd_wp=0
expect read B[1] == 0x0
read B[3] -> SIGBUS
