# EVENT_FORK is raised only when fork copies a VMA the userfaultfd registered
# (dup_userfaultfd()): a fork before any registration raises none, and the child gets no copy
# of the userfaultfd. The next fork's FORK event then names its own child's copy, U_c2
# (the runner pairs FORK events with the forks that waited for them; found by the random
# differential test, checked on this kernel).
scenario "EVENT_FORK only for registered VMAs"
mmap A anon private rw 4p
write A = 0x1
uffd U features=event_fork
fork c1                                             # nothing registered: no FORK event
expect no event U
uffd U register A[1] wp
uffd U wp A[1]
thread T1 {
  fork c2
}
expect event U fork
join T1
in c2 {
  thread T2 {
    write A[1] = 0x2
  }
}
expect event U_c2 pagefault A[1] wp write
uffd U_c2 unwp A[1]
in c2 {
  join T2
  expect read A[1] == 0x2
}
in c1 {
  write A[1] = 0x3                                  # c1 has no registration at all
  expect read A[1] == 0x3
}
