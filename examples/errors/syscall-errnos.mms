# System calls that the kernel refuses, with the errno a user can expect: every misuse is
# an expectable result, never a crash.
scenario "errnos of mmap, madvise, mprotect and clear_refs"
memfd F 4p
mmap Z anon private rw 0 -> EINVAL                  # length 0
mmap O F shared rw 2p offset=100 -> EINVAL          # offset not page aligned
mmap A anon private rw 8p
munmap A[4..7]
madvise A[2..5] dontneed -> ENOMEM                  # partly unmapped (the mapped part is still done)
mprotect A[2..5] r -> ENOMEM
madvise A remove -> EINVAL                          # no file behind an anonymous mapping
mmap S F shared rw
madvise S wipeonfork -> EINVAL                      # only private anonymous memory
clear_refs 6 -> EINVAL
