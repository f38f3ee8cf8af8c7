# fork and userfaultfd: without EVENT_FORK the child loses the registration and the uffd-wp
# bits, so its writes raise nothing. With EVENT_FORK, fork returns once the FORK message was
# read; the child keeps its markers and wp bits and faults on its own new userfaultfd,
# named U_child here (linux-6.18 digest appendix: checked on this kernel).
scenario "userfaultfd and fork"
memfd F 4p
mmap B F shared rw
write B = 0x1
uffd U
uffd U register B wp
uffd U wp B
fork plain
in plain {
  expect pagemap B = 0x0                            # shared shmem: no page tables copied
  write B[0] = 0x2
}
expect no event U
mmap A anon private rw 4p
write A = 0x5
uffd V features=event_fork
uffd V register A wp
uffd V wp A
thread FK {
  fork child
}
expect event V fork
join FK
in child {
  expect pagemap A present=1 uffd_wp=1
  thread W {
    write A[0] = 0x6
  }
}
expect event V_child pagefault A[0] wp write
uffd V_child unwp A[0]
in child {
  join W
  expect read A[0] == 0x6
}
expect read A[0] == 0x5
