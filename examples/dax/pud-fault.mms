# A 1 GiB-aligned device maps 1 GiB with one PUD on the first fault (vmf_insert_folio_pud);
# two processes mapping it share the frames (exclusive cleared in both). Checked against the
# 6.18 source (no device-dax here).
scenario "device-dax 1 GiB mappings"
dax D 1G align=1G
mmap M D shared rw
write M[5] = 0x5
expect pagemap M[0] present=1 file=1 exclusive=1
expect pagemap M[262143] present=1 file=1
fork child
in child {
  expect pagemap M[5] = 0x0                         # shared: no page tables copied
  expect read M[5] == 0x5
  expect pagemap M[5] present=1 exclusive=0
}
expect pagemap M[0] exclusive=0
