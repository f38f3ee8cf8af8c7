# fork shares anon pages copy-on-write: both processes map the same frame, not exclusive.
# The first writer gets a copy; the other is exclusive again (mapcount 1) and reuses its
# frame on its own write. Checked on Linux 6.18 (docs/kernel-checks.md, case 5).
scenario "fork and COW of anon pages"
mmap A anon private rw 4p
write A[0] = 0x50001
pagemap A[0]                                        # frame #1
fork child
expect pagemap A[0] present=1 exclusive=0
in child {
  expect pagemap A[0] present=1 exclusive=0 frame=id(1)
}
write A[0] = 0x50002                                # parent copies
expect pagemap A[0] present=1 exclusive=1 frame=new
in child {
  expect pagemap A[0] present=1 exclusive=1 frame=id(1)   # mapcount is 1 again, before any write
  write A[0] = 0x50003                              # reuses its frame: no copy
  expect pagemap A[0] frame=id(1)
  expect read A[0] == 0x50003
}
expect read A[0] == 0x50002
