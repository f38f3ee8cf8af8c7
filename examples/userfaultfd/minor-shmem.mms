# MINOR mode on shmem: a fault on a page that is in the page cache (but not mapped) reports
# a minor fault (flag 0x4); UFFDIO_CONTINUE maps the existing page. Fault-around is off for
# MINOR registrations: one page per fault (linux-6.18 digest appendix). MINOR on anon → EINVAL.
scenario "userfaultfd minor on shmem"
memfd F 16p
mmap W F shared rw
write W = seq(0x40)
mmap B F shared rw
uffd U features=minor_shmem
uffd U register B minor
thread T {
  read B[6]
}
expect event U pagefault B[6] minor
uffd U continue B[6]
join T
expect read B[6] == 0x46
expect pagemap B[5] = 0x0                           # no fault-around
expect pagemap B[7] = 0x0
uffd U continue B[6] -> EEXIST
mmap A anon private rw 2p
uffd U register A minor -> EINVAL
