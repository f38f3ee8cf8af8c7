# Follows uffd-unit-tests.c "minor" (shmem): filling the pages through the unregistered
# alias raises no fault; reading each page through the registered mapping raises exactly
# one minor fault, resolved by UFFDIO_CONTINUE; no missing fault.
scenario "selftest uffd minor"
memfd F 4p
mmap D F shared rw
mmap B F shared rw
uffd U features=minor_shmem
uffd U register B minor
write D = seq(0x70)
expect no event U
thread R {
  read B[0]
  read B[1]
}
expect event U pagefault B[0] minor
uffd U continue B[0]
expect event U pagefault B[1] minor
uffd U continue B[1]
join R
expect no event U
expect read B[0..1] == seq(0x70)
