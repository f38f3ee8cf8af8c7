# fork duplicates swap entries: parent and child show the same slot. MADV_PAGEOUT skips a
# page mapped by both. A swap-in of the shared slot maps the swap-cache frame, shown as
# exclusive while only one process maps it. Checked on Linux 6.18 (case 6).
scenario "fork with swap entries"
swap 16M
mmap A anon private rw 4p
write A[0..1] = seq(0x60)
pagemap A[0]                                        # frame #1
madvise A[0] pageout
fork child
expect pagemap A[0] = 0x4000000000000000
in child {
  expect pagemap A[0] = 0x4000000000000000
  expect pagemap A[0] frame=same(A[0])
}
madvise A[1] pageout                                 # mapped by both: skipped
expect pagemap A[1] present=1 exclusive=0
in child {
  read A[0]
  expect pagemap A[0] present=1 exclusive=1 frame=id(1)
}
expect pagemap A[0] swap=1
read A[0]
expect pagemap A[0] present=1 exclusive=0 frame=id(1)
expect read A[0..1] == seq(0x60)
