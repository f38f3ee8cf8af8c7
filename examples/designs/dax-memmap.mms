# Seed 003: the struct page bytes device-dax costs under each dax.memmap design (mmlab compare
# examples/designs/dax-memmap.mms --design dax.memmap=full,dedup). full: 64 B per 4 KiB page,
# 16 MiB per GiB (1.5625 %: "16 GB for each 1 TB"). dedup (6.18's compound devmap,
# vmemmap_populate_compound_pages()): the head's vmemmap page and one tail page per compound
# page — 8 KiB per 2 MiB compound, 8 KiB per 1 GiB compound — plus the vmemmap's PTE tables,
# one 4 KiB table per 128 MiB of device. none (PFNMAP, Joao Martins' RFC): nothing
# (what it loses instead: dax-memmap-services.mms, dax-none-gup.mms). Model only: this
# machine has no device-dax.
# The 1 TiB device T gives the thread's figure: 16 GiB of struct page under full ("16 GB for
# each 1 TB"), 4 GiB + 32 MiB of vmemmap PTE tables under dedup at 2 MiB alignment, 0 under none.
# compare also prints, per design, the services a device-dax mapping keeps or loses.
scenario "seed 003: struct page bytes per dax.memmap design"
dax D 1G align=2M
dax E 1G align=1G
dax F 64M align=4K
dax T 1024G align=2M
when design dax.memmap = full {
  expect memmap D bytes=16M
  expect memmap E bytes=16M
  expect memmap F bytes=1M
  expect memmap T bytes=16G
}
when design dax.memmap = dedup {
  expect memmap D bytes=4227072
  expect memmap E bytes=40960
  expect memmap F bytes=1M
  expect memmap T bytes=4328521728
}
when design dax.memmap = none {
  expect memmap D bytes=0
  expect memmap E bytes=0
  expect memmap F bytes=0
  expect memmap T bytes=0
}
