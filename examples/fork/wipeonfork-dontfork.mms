# MADV_WIPEONFORK: the child gets the VMA with no pages (zero-filled on touch);
# MADV_DONTFORK: the child does not get the VMA at all.
scenario "wipeonfork and dontfork"
mmap W anon private rw 2p
mmap D anon private rw 2p
write W = 0x77
write D = 0x88
madvise W wipeonfork
madvise D dontfork
fork child
in child {
  expect pagemap W = 0x0
  expect read W == 0x0
  expect pagemap D = 0x0
  read D[0] -> SIGSEGV
}
expect read W == 0x77
expect read D == 0x88
