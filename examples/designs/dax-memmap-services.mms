# Seed 003: what device-dax loses without struct page (dax.memmap = none, Joao Martins' RFC)
# against 6.18's struct pages (full, or the vmemmap-deduplicated dedup: the same behaviour).
# mmlab compare FILE --design dax.memmap=full,none. Without struct page the VMA is VM_PFNMAP
# and faults insert special entries (vmf_insert_pfn*()): pagemap shows the page present but
# not PM_FILE and never PM_MMAP_EXCLUSIVE (vm_normal_page() finds no page); fork copies the
# page tables (vma_needs_copy() is true for VM_PFNMAP) but not huge entries of a non-anonymous
# VMA, so the child of a 2 MiB mapping refaults while the child of a 4 KiB one starts mapped;
# with struct pages fork copies nothing and the child faults lazily. Memory failure (kconfig
# MEMORY_FAILURE = y): with struct pages mf_generic_kill_procs() unmaps the page from every
# mapper and signals BUS_MCEERR_AR with si_addr and lsb; without, memory_failure() finds no
# page and no pgmap (ENXIO, "memory outside kernel control"), the machine check kills only the
# consumer with a plain SIGBUS (SI_KERNEL), and every mapping stays, so the child's load
# takes its own machine check. GUP: examples/designs/dax-none-gup.mms.
scenario "seed 003: the services dax.memmap = none loses"
kconfig MEMORY_FAILURE = y
dax D 4M align=2M
dax S 64K align=4K
mmap M D shared rw
mmap N S shared rw
write M[0] = 0x1
write N[0..3] = seq(0x10)
when design dax.memmap = full, dedup {
  expect pagemap M[0] present=1 file=1 exclusive=1
  expect pagemap N[1] present=1 file=1 exclusive=1
}
when design dax.memmap = none {
  expect pagemap M[0] present=1 file=0 exclusive=0
  expect pagemap N[1] present=1 file=0 exclusive=0
}
fork child
in child {
  when design dax.memmap = full, dedup {
    expect pagemap M[0] present=0
    expect pagemap N[1] present=0
  }
  when design dax.memmap = none {
    expect pagemap M[0] present=0
    expect pagemap N[1] present=1 file=0
  }
  expect read M[0] == 0x1
  expect read N[2] == 0x12
}
when design dax.memmap = full, dedup {
  poison N[1] -> SIGBUS
  expect pagemap N[1] = 0x0
}
when design dax.memmap = none {
  poison N[1] -> SIGBUS
  expect pagemap N[1] present=1
}
in child {
  when design dax.memmap = full, dedup {
    expect pagemap N[1] = 0x0
  }
  when design dax.memmap = none {
    expect pagemap N[1] present=1
  }
  read N[1] -> SIGBUS
  expect read N[3] == 0x13
}
