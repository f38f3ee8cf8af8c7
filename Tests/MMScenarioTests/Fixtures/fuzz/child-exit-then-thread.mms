# expect-status: 2
# The same finding through a child and a thread: the child exits, then a thread of it would
# write to memory it no longer has. The thread's statement is refused like any other of a
# process that exited.
mmap A anon private rw 4p
write A[0] = 0x1
fork c
in c {
  exit
}
in c {
  thread t {
    write A[1] = 0x2
  }
}
expect read A[0] == 0x1
