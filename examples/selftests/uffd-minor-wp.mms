# Follows uffd-unit-tests.c "minor-wp": registered minor and wp; the resolver maps the
# pages with UFFDIO_CONTINUE in MODE_WP, so they come back write-protected.
scenario "selftest uffd minor-wp"
memfd F 2p
mmap D F shared rw
mmap B F shared rw
uffd U features=minor_shmem,wp_hugetlbfs_shmem
uffd U register B minor,wp
write D = 0x9
thread R {
  read B[0]
}
expect event U pagefault B[0] minor
uffd U continue B[0] wp
join R
expect pagemap B[0] present=1 uffd_wp=1
thread W {
  write B[0] = 0xa
}
expect event U pagefault B[0] wp write
uffd U unwp B[0]
join W
expect read D[0] == 0xa
