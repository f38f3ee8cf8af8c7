# MADV_POPULATE_READ maps the zero page on anon memory, POPULATE_WRITE allocates frames;
# on a memfd POPULATE_READ allocates page-cache pages. Checked on Linux 6.18 (case 16).
scenario "populate read and write"
mmap A anon private rw 8p
madvise A[0..3] populate_read
expect pagemap A[0..3] present=1 exclusive=0 frame=zero
madvise A[4..7] populate_write
expect pagemap A[4..7] present=1 exclusive=1 file=0
madvise A[0..1] populate_write                      # replaces the zero page
expect pagemap A[0..1] present=1 exclusive=1
expect read A == 0x0
memfd F 8p
mmap B F shared rw
madvise B populate_read
expect pagemap B = 0xa100000000000000              # present | file | exclusive
mmap R anon private r 2p
madvise R populate_write -> EINVAL                  # no write permission
