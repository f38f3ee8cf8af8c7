# What fork does with markers (copy_pte_marker()): guard and poison markers are always
# copied; uffd-wp markers only into a child VMA that stays uffd-wp registered (EVENT_FORK).
# Page tables of a shared shmem VMA are copied only because guard_install gave it an
# anon_vma, or the child VMA is uffd-wp.
scenario "markers across fork"
memfd F 4p
mmap B F shared rw
uffd U features=poison
uffd U register B wp,missing
uffd U wp B[0]
madvise B[1] guard_install
uffd U poison B[2]
fork child
in child {
  expect pagemap B[0] = 0x0                         # no EVENT_FORK: the uffd-wp marker is dropped
  expect pagemap B[1] = 0x440000000000009f
  expect pagemap B[2] = 0x400000000000005f
}
