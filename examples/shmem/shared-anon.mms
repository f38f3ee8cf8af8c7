# MAP_SHARED|MAP_ANONYMOUS is shmem behind the scenes: pages are file pages in pagemap and
# are shared with a forked child.
scenario "shared anonymous memory"
mmap S anon shared rw 4p
write S[0] = 0x5a
expect pagemap S[0] = 0xa100000000000000
fork child
in child {
  expect read S[0] == 0x5a
  write S[1] = 0x5b
}
expect read S[1] == 0x5b
expect pagemap S[0] present=1 file=1 exclusive=0
madvise S[0..1] remove                              # punches the hidden shmem file
expect pagemap S[0..1] = 0x0
expect read S[0] == 0x0
in child {
  expect read S[0] == 0x0
}
