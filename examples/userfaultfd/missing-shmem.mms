# MISSING mode on shmem: only an empty page-cache slot traps; a page already in the cache
# (written through another mapping) is mapped without a message, and fault-around stays on
# for MISSING-only registrations (linux-6.18 digest, appendix). UFFDIO_COPY on a shared
# mapping inserts a new page into the page cache.
scenario "userfaultfd missing on shmem"
memfd F 16p
mmap W F shared rw
write W[0..7] = seq(0x10)
mmap B F shared rw
uffd U
uffd U register B missing
read B[2]                                           # cached: no message, fault-around maps 0..7
expect pagemap B[0..7] present=1 file=1
expect no event U
thread T {
  read B[9]
}
expect event U pagefault B[9]
uffd U copy B[9] = 0x99
join T
expect read W[9] == 0x99                            # the copy went into the page cache
uffd U copy B[9] = 0x1 -> EEXIST                    # the cache slot is taken
