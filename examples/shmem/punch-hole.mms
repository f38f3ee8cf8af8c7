# fallocate(PUNCH_HOLE) zaps the page-cache PTEs of every mapping (unmap_mapping_range),
# keeps COWed private copies, then truncates; reads of the hole allocate new zeroed
# page-cache pages. Checked on Linux 6.18 (case 12).
scenario "punch hole"
memfd F 16p
mmap B F shared rw
write B = seq(0xa00)
mmap C F private rw
write C[9] = 0xc9                                  # a private copy
read C[10]
punch F[8..15]
expect pagemap B[8..15] = 0x0
expect pagemap C[8] = 0x0
expect pagemap C[10..15] = 0x0
expect pagemap C[9] = 0x8100000000000000           # the COW copy survives
expect read C[9] == 0xc9
expect read B[8] == 0x0
expect pagemap B[8] present=1 file=1 exclusive=1
expect read C[10] == 0x0
expect pagemap C[10] present=1 file=1
expect read B[0..7] == seq(0xa00)
