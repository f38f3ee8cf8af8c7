# A page swapped in by a read, then shared by fork: the parent's write copies it, the
# child keeps the swap-cache frame. Checked on Linux 6.18 (case 21).
scenario "swap-in, fork, write"
swap 16M
mmap A anon private rw 2p
write A[0] = 0x21
madvise A[0] pageout
read A[0]
pagemap A[0]                                        # frame #1, still in the swap cache
fork child
expect pagemap A[0] present=1 exclusive=0
write A[0] = 0x22
expect pagemap A[0] present=1 exclusive=1 frame=new
in child {
  expect pagemap A[0] present=1 exclusive=1 frame=id(1)
  expect read A[0] == 0x21
}
