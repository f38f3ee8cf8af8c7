# The struct page cost of device-dax under the three memmap designs of seed 003: run with
# `mmlab run --stats` (full: 64 B per 4 KiB page; dedup: two vmemmap pages per 2 MiB or
# 1 GiB compound page, plus one vmemmap PTE table per 128 MiB; none: PFNMAP without struct
# page, not modelled yet). This one uses the vmemmap deduplication (examples/designs/
# dax-memmap.mms states every design's bytes).
scenario "device-dax memmap cost, vmemmap deduplicated"
design dax.memmap = dedup
dax D 1G align=2M
dax E 1G align=1G
mmap M D shared rw
read M[0]
expect read M[0] == 0x0
