# fork does not copy page tables of shared shmem mappings (no anon_vma): the child's
# pagemap is empty until it touches them; its first read maps the parent's frames (with
# fault-around) and clears the exclusive bit on both sides. Checked on Linux 6.18 (case 8).
scenario "fork with a shared memfd mapping"
memfd F 16p
mmap B F shared rw
write B = seq(0x80)
fork child
in child {
  expect pagemap B = 0x0
  read B[0]
  expect pagemap B present=1 file=1 exclusive=0
}
expect pagemap B present=1 file=1 exclusive=0
in child {
  expect read B == seq(0x80)
}
