# Seed 004, the case cloud-hypervisor reported (SEV-SNP with VFIO): a VMM that passes a
# device through pins all the guest's shared memory for DMA (VFIO_IOMMU_MAP_DMA, a long-term
# pin of every page; here one `pin` per DMA mapping).
# * 6.18 (`none`): shared memory is a memfd S, private memory a guest_memfd P without mmap.
#   A conversion to private is the VMM's business: it punches the shared backing S[4..7]
#   (and the guest's memory then lives in P). The punch takes the pages out of S (the VMM
#   reads zeros there), but the pins keep their frames allocated until the DMA mapping goes:
#   the punch frees nothing while the device holds the pages.
# * in place (`in_place`): one guest_memfd G holds both. The pins of its shared pages keep
#   the conversion from succeeding (EAGAIN, error offset G[4]) until the VMM drops the DMA
#   mapping of the range; then it converts and pins the pages that stay shared again.
# mmlab compare FILE --design guest_memfd.conversion=none,in_place shows both and their costs.
scenario "seed 004: a VMM with VFIO pins all shared memory"
memfd S 16p
guest_memfd P 16p
mmap B S shared rw
write B[0..15] = 0x2
pin W B[0..15]
punch S[4..7]
expect read B[4] == 0x0
expect pagemap B[5] present=0
unpin W
expect read B[3] == 0x2
guest_memfd G 16p flags=mmap,init_shared
mmap A G shared rw
write A[0..15] = 0x1
pin V A[0..15]
when design guest_memfd.conversion = none {
  convert G[4..7] private -> ENOTTY
}
when design guest_memfd.conversion = in_place {
  convert G[4..7] private -> EAGAIN
  expect guest_memfd G[0..15] shared
}
unpin V
pin V1 A[0..3]
pin V2 A[8..15]
when design guest_memfd.conversion = in_place {
  convert G[4..7] private
  expect guest_memfd G[4..7] private
  expect guest_memfd G[8..15] shared
  read A[4] -> SIGBUS
  convert G[8..9] private -> EAGAIN
}
expect read A[0] == 0x1
unpin V1
unpin V2
