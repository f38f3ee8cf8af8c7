# Seed 004: FOLL_EXCLUSIVE (the 2024 RFC, rejected; design gup.exclusive = on). An exclusive
# long-term pin succeeds only on a folio nobody has pinned; while it is held, every other
# FOLL_PIN of the folio fails with EBUSY, from this process or another that maps the same
# page; the pinned anon page is PageAnonExclusive, so fork gives the child its own copy. Once
# it is released, ordinary pins work again, and an exclusive pin of a pinned folio is EBUSY.
# With gup.exclusive = off (Linux 6.18) `pin … exclusive` is a static error naming the switch.
scenario "seed 004: an exclusive pin refuses every other pin"
design gup.exclusive = on
mmap A anon private rw 4p
write A[0..3] = 0x1
pin X A[0] exclusive
pin Y A[0] -> EBUSY
pin Z A[0..1] exclusive -> EBUSY
# A pin that fails keeps nothing: A[1] can still be pinned exclusively.
pin W A[1] exclusive
unpin Z -> ENXIO
fork child
# Copied at fork, not shared: each side maps its own page once.
expect pagemap A[0] present=1 exclusive=1
expect pagemap A[2] present=1 exclusive=0
in child {
  expect pagemap A[0] present=1 exclusive=1
  expect read A[0] == 0x1
  write A[0] = 0x2
}
expect read A[0] == 0x1
unpin X
pin Y2 A[0]
pin X2 A[0] exclusive -> EBUSY
unpin Y2
pin X3 A[0] exclusive
unpin X3
unpin W
memfd F 2p
mmap S F shared rw
write S[0] = 0x3
pin XS S[0] exclusive
in child {
  mmap S2 F shared rw
  pin YS S2[0] -> EBUSY
  expect read S2[0] == 0x3
}
unpin XS
