# The struct page cost of device-dax under the three memmap designs of seed 003: run with
# `mmlab run --stats` (full: 64 B per 4 KiB page; dedup: two vmemmap pages per 2 MiB or
# 1 GiB compound page; none: PFNMAP without struct page, not modelled yet). This one uses
# the 6.18 default; metadata-dedup.mms the vmemmap deduplication.
scenario "device-dax memmap cost"
dax D 1G align=2M
dax E 1G align=1G
mmap M D shared rw
read M[0]
expect read M[0] == 0x0
