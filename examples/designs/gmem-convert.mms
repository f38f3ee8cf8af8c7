# Seed 004: guest_memfd conversion, 6.18 against the in-place series (design
# guest_memfd.conversion = none | in_place; mmlab compare FILE --design
# guest_memfd.conversion=none,in_place). 6.18 has no conversion ioctl: ENOTTY, and every page
# of an INIT_SHARED file stays shared. In place (v7): the attributes are ranges of the file;
# converting to private unmaps every host mapping of the range, after which a host access is
# SIGBUS (the contents stay: the model has no encryption). The attributes belong to the file:
# a forked child sees them, and a punch frees the folios but keeps them. Converting back to
# shared lets the host map the pages again, with what they held (or zeros after the punch).
scenario "seed 004: convert G[range] private|shared"
guest_memfd G 8p flags=mmap,init_shared
mmap A G shared rw
write A[0..7] = 0x5
when design guest_memfd.conversion = none {
  convert G[0..3] private -> ENOTTY
  expect pagemap A[0] present=1
}
when design guest_memfd.conversion = in_place {
  expect guest_memfd G[0..7] shared
  convert G[0..3] private
  expect guest_memfd G[0..3] private
  expect guest_memfd G[4..7] shared
  expect pagemap A[0..3] present=0
  expect pagemap A[4] present=1
  read A[0] -> SIGBUS
  write A[3] = 0x6 -> SIGBUS
  expect read A[4] == 0x5
}
fork child
in child {
  when design guest_memfd.conversion = none {
    expect read A[1] == 0x5
  }
  when design guest_memfd.conversion = in_place {
    expect guest_memfd G[0..3] private
    read A[1] -> SIGBUS
  }
}
punch G[2]
when design guest_memfd.conversion = in_place {
  expect guest_memfd G[2] private
  convert G[0..3] shared
  expect guest_memfd G[0..7] shared
  expect read A[0] == 0x5
  expect read A[2] == 0x0
}
when design guest_memfd.conversion = none {
  expect read A[2] == 0x0
}
expect read A[7] == 0x5
