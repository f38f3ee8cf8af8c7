# pwrite(2) into a memfd goes through the page cache only (shmem_file_write_iter() →
# generic_perform_write(), shmem_get_folio(SGP_WRITE) without a VMA): a mapped page changes
# under every mapping at once, MAP_PRIVATE ones included until they copied the page; a hole
# gets a new page-cache page but no PTE, so pagemap says nothing until a load maps it. A
# private COW copy keeps its own data. Checked on Linux 6.18 with `mmlab diff`.
scenario "pwrite into a memfd"
memfd F 8p
mmap A F shared rw
mmap P F private rw
write A[0..1] = seq(0x10)
read P[0..1]                                        # P maps the page-cache pages
write P[1] = 0x77                                   # P[1] is now P's own copy
pwrite F[0..1] = seq(0x50)
expect read A[0..1] == seq(0x50)
expect read P[0] == 0x50                            # same page as A[0]
expect read P[1] == 0x77                            # the copy is untouched
pwrite F[4] = 0x44                                  # a hole: a new page, no PTE
expect pagemap A[4] = 0x0
pread F[4]
expect read A[4] == 0x44
expect pagemap A[4] present=1 file=1
pwrite F[5..7] = 0x5
expect read P[5..7] == 0x5
