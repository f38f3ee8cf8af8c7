# Follows uffd-unit-tests.c "wp-fork-with-event" on shmem: with EVENT_FORK the child keeps
# the uffd-wp bit on the present PTE and, after MADV_DONTNEED, the marker (shared memory is
# zapped with DONTNEED instead of paged out, as the test does).
scenario "selftest uffd wp-fork-with-event"
memfd F 4p
mmap B F shared rw
uffd U features=event_fork
uffd U register B wp
write B[0] = 0x1
uffd U wp B[0]
expect pagemap B[0] present=1 uffd_wp=1
thread T1 {
  fork c1
}
expect event U fork
join T1
in c1 {
  expect pagemap B[0] present=1 uffd_wp=1
}
madvise B[0] dontneed
expect pagemap B[0] = 0x420000000000003f
thread T2 {
  fork c2
}
expect event U fork
join T2
in c2 {
  expect pagemap B[0] = 0x420000000000003f
}
uffd U unwp B[0]
expect pagemap B[0] uffd_wp=0
write B[0] = 0x2
expect pagemap B[0] uffd_wp=0
