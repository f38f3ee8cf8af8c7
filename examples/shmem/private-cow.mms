# A MAP_PRIVATE mapping of a memfd maps the page-cache page until written; the write copies
# it into a new anonymous exclusive frame (no file bit). Checked on Linux 6.18 (case 11).
scenario "private file mapping COW"
memfd F 16p
mmap B F shared rw
write B[0] = 0xb0
pagemap B[0]                                        # frame #1
mmap C F private rw
read C[0]
expect pagemap C[0] present=1 file=1 exclusive=0 frame=id(1)
expect pagemap B[0] present=1 file=1 exclusive=0
write C[0] = 0xc0
expect pagemap C[0] present=1 file=0 exclusive=1 frame=new
expect pagemap C[0] = 0x8100000000000000           # anon, exclusive
expect pagemap B[0] present=1 file=1 exclusive=1
expect read B[0] == 0xb0
expect read C[0] == 0xc0
