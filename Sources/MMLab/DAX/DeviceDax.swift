// SPDX-License-Identifier: Apache-2.0
//
// device-dax (drivers/dax/device.c, drivers/dax/bus.c): a character device whose memory is
// ZONE_DEVICE pages, mapped MAP_SHARED only, with VMAs aligned to the device alignment
// (4 KiB, 2 MiB or 1 GiB); faults map exactly `align`-sized entries (a PTE, a PMD or a PUD),
// so a 2 MiB device can never be mapped with 4 KiB PTEs. The model keeps one PTE per 4 KiB
// page also for PMD and PUD mappings, marked with the PSE bit (bit 7), which gives the same
// pagemap words (every subpage present, PFN = head + index) and lets PAGEMAP_SCAN report
// them as huge. Every device-dax rule of the model is in this file, except memory failure
// (MemoryFailure/: memory_failure_dev_pagemap() and mf_generic_kill_procs()).

/// A device-dax instance (struct dev_dax).
public struct DaxDevice: Hashable, Sendable {
    /// The device alignment (the `align` sysfs attribute): 4 KiB, 2 MiB or 1 GiB.
    public var align: UInt64
    /// The first PFN of the device's range (ZONE_DEVICE memory is physically contiguous).
    public var basePFN: PFN
}

extension PTE {
    /// _PAGE_PSE: a leaf PMD or PUD. The model sets it on the per-page entries of a huge mapping.
    public static let pse: UInt64 = 1 << 7
}

extension Kernel {
    /// Models creating a dax device (devm_create_dev_dax() with its ZONE_DEVICE pgmap):
    /// the size must be a non-zero multiple of the alignment, which must be 4K, 2M or 1G
    /// (EINVAL); a size the region cannot hold is ENOSPC (dev_dax_resize(): the model's
    /// physical address space is 2^32 page frames, RAM included).
    public mutating func daxCreate(name: String, bytes: UInt64, align: UInt64) -> Result<InodeID, Errno> {
        guard [pageSize, pmdSize, 1 << 30].contains(align) else { return .failure(.EINVAL) }   // dax_align_valid()
        guard bytes > 0, bytes % align == 0 else { return .failure(.EINVAL) }
        // The pgmap's pages exist from the start, contiguous; the device holds a reference to
        // each (DeviceRange: only the pages touched since cost model state).
        guard let base = frames.reserveDevice(bytes >> pageShift, alignPages: align >> pageShift,
                                              mapping: mappingID(InodeID(inodes.count))) else { return .failure(.ENOSPC) }
        let ino = createShmemInode(name: "dax:" + name, size: bytes)
        inodes[Int(ino)].dax = DaxDevice(align: align, basePFN: base)
        check()
        return .success(ino)
    }

    /// Models the end of a device-dax instance once no file and no mapping holds it: its
    /// ZONE_DEVICE range goes (memunmap_pages()).
    mutating func daxRelease(_ ino: InodeID) {
        guard let dev = inodes[Int(ino)].dax else { return }
        frames.releaseDevice(base: dev.basePFN)
    }

    func isDax(_ ino: InodeID) -> Bool { inodes[Int(ino)].dax != nil }
    func vmaIsDax(_ vma: VMA) -> Bool { vma.inode.map { isDax($0) } ?? false }

    /// Models dax_mmap() → check_vma(): MAP_SHARED only, start and end aligned to the
    /// device alignment (the placement pads to it, as dax_get_unmapped_area() does), offset too.
    func daxMmapCheck(_ ino: InodeID, shared: Bool, length: UInt64, offset: UInt64) -> Errno? {
        guard let dev = inodes[Int(ino)].dax else { return nil }
        if !shared { return .EINVAL }                                     // VM_MAYSHARE required
        if length % dev.align != 0 || offset % dev.align != 0 { return .EINVAL }
        return nil
    }

    /// Whether device-dax `ino` has struct pages: the one place the design switch dax.memmap
    /// is read for behaviour (`full`, `dedup`: ZONE_DEVICE pages with a pgmap, as 6.18; `none`:
    /// Joao Martins' RFC, PFNs without struct page or pgmap).
    func daxHasStructPages(_ ino: InodeID) -> Bool { design.daxMemmap != .none }

    /// What a device-dax mapping offers under this design, service by service, each answer
    /// decided by the rule the model runs for it (`daxHasStructPages()`: the VMA flags of
    /// `daxVMAFlags()` that check_vma_flags() and vma_needs_copy() read, and the pgmap that
    /// memory_failure() looks for). For `mmlab compare`'s rows: GUP, fork, pagemap, memory
    /// failure and the walks are what the model runs (examples/designs/dax-memmap-services.mms,
    /// dax-none-gup.mms); ptrace, O_DIRECT and KVM are not in the model and say so.
    public func daxServices() -> [(service: String, answer: String)] {
        let pfnmap = design.daxMemmap == .none   // daxVMAFlags() of any device-dax inode
        return [
            ("GUP / pin_user_pages", pfnmap ? "EFAULT (check_vma_flags: VM_PFNMAP)" : "works (ZONE_DEVICE pages, longterm-pinnable)"),
            ("ptrace access_process_vm", pfnmap ? "fails unless vm_ops->access (GUP refused; not modelled)" : "works (through GUP; not modelled)"),
            ("O_DIRECT to/from the mapping", pfnmap ? "fails (needs GUP; not modelled)" : "works (through GUP; not modelled)"),
            ("fork", pfnmap ? "PTEs copied eagerly; PMD/PUD entries refault" : "nothing copied; the child faults lazily"),
            ("pagemap", pfnmap ? "present, no PM_FILE, never PM_MMAP_EXCLUSIVE" : "present, PM_FILE"),
            ("memory-failure routing", pfnmap ? "ENXIO (no pgmap): only the consumer, SIGBUS SI_KERNEL; mappings stay"
                                              : "mf_generic_kill_procs: unmap in every mapper, BUS_MCEERR_AR with lsb"),
            ("KVM's path to the PFN", pfnmap ? "hva_to_pfn_remapped → follow_pfnmap_start() (not modelled)" : "GUP, hva_to_pfn_slow (not modelled)"),
            ("clear_refs, PAGEMAP_SCAN", pfnmap ? "skip the VMA" : "walk it"),
        ]
    }

    /// Models dax_mmap() under the RFC: without struct pages the VMA is VM_PFNMAP (vm_flags_set()),
    /// so faults insert special entries and GUP refuses it; 6.18 adds no flag.
    func daxVMAFlags(_ ino: InodeID) -> VMFlags {
        isDax(ino) && !daxHasStructPages(ino) ? [.pfnmap] : []
    }

    /// The placement alignment a dax mapping needs.
    func daxPlacementAlign(_ ino: InodeID) -> UInt64? { inodes[Int(ino)].dax.map { max($0.align, pmdSize) } }

    /// Models dev_dax_may_split(): a VMA may not be split off the device alignment.
    func daxMaySplit(_ m: Int, _ start: UInt64, _ end: UInt64) -> Errno? {
        for vma in mms[m].vmas where vma.end > start && vma.start < end && vmaIsDax(vma) {
            let align = inodes[Int(vma.inode!)].dax!.align
            for cut in [start, end] where cut > vma.start && cut < vma.end && cut % align != 0 { return .EINVAL }
        }
        return nil
    }

    /// Models dev_dax_huge_fault() / dev_dax_fault(): PUD, PMD or PTE fault by the device
    /// alignment; the whole aligned range must lie inside the VMA and the device (SIGBUS).
    mutating func daxFault(_ m: Int, _ v: Int, _ address: UInt64, write: Bool) -> VMFault {
        let vma = mms[m].vmas[v]
        guard let ino = vma.inode, let dev = inodes[Int(ino)].dax else { return .sigbus }
        let align = dev.align
        let start = address & ~(align - 1)
        guard start >= vma.start, start + align <= vma.end else { return .sigbus }
        let firstPgoff = vma.pgoff(of: start)
        let pages = align >> pageShift
        guard firstPgoff + pages <= inodes[Int(ino)].sizeInPages else { return .sigbus }   // dax_pgoff_to_phys() fails
        let structPages = daxHasStructPages(ino)
        if structPages {
            note(align == pageSize ? "dev_dax_fault → vmf_insert_page_mkwrite"
                 : align == pmdSize ? "dev_dax_huge_fault → vmf_insert_folio_pmd (2 MiB)" : "dev_dax_huge_fault → vmf_insert_folio_pud (1 GiB)")
        } else {
            // The RFC: vmf_insert_pfn*() of a PFN without struct page: a special entry
            // (pte_mkspecial(), or a special PMD/PUD), no rmap, no refcount, no rss.
            note(align == pageSize ? "dev_dax_fault → vmf_insert_pfn (special PTE)"
                 : align == pmdSize ? "dev_dax_huge_fault → vmf_insert_pfn_pmd (special, 2 MiB)" : "dev_dax_huge_fault → vmf_insert_pfn_pud (special, 1 GiB)")
        }
        var prot = pageProt(vma)
        if write { prot |= PTE.dirty; if vma.flags.contains(.write) { prot |= PTE.rw } }
        if align > pageSize { prot |= PTE.pse }
        if !structPages { prot |= PTE.special }
        for i in 0..<pages {
            let a = start + i << pageShift
            guard mms[m].pageTables.pte(a).isNone else { continue }
            let pfn = dev.basePFN + PFN(firstPgoff + i)
            if structPages {
                addRmap(pfn)
                mms[m].rssShmem += 1
            }
            mms[m].pageTables.set(a, PTE.make(pfn: pfn, prot: prot))
            costs.pteWrites += 1
        }
        return .done
    }

    /// Bytes of struct page the kernel spends on the memory the model knows, per kind, under
    /// the design switch dax.memmap (seed 003): RAM frames in use at 64 B per 4 KiB page;
    /// device-dax at 64 B per page (full), two vmemmap pages per compound page when
    /// align ≥ 2 MiB (dedup: the first tail page's vmemmap page is shared), or nothing (none:
    /// PFNMAP without struct page).
    /// The struct page bytes of device-dax `ino` under dax.memmap: full, 64 B per 4 KiB page
    /// (the vmemmap mapped with huge pages); dedup, vmemmap_populate_compound_pages() for
    /// align ≥ 2 MiB: the head's vmemmap page and one tail page per compound page (8 KiB per
    /// 2 MiB or 1 GiB compound; later sections of a 1 GiB compound reuse the tail page), plus
    /// the vmemmap's PTE tables (one 4 KiB table maps 2 MiB of vmemmap: 128 MiB of device);
    /// none, nothing (nil: not a device-dax instance).
    public func memmapBytes(_ ino: InodeID) -> Int? {
        guard Int(ino) < inodes.count, let dev = inodes[Int(ino)].dax else { return nil }
        let size = inodes[Int(ino)].size
        let pages = Int(size >> pageShift)
        switch design.daxMemmap {
        case .full: return pages * 64
        case .dedup:
            guard dev.align >= pmdSize else { return pages * 64 }
            let compounds = Int((size + dev.align - 1) / dev.align)
            let tables = Int((size + (128 << 20) - 1) >> 27)
            return compounds * 2 * Int(pageSize) + tables * Int(pageSize)
        case .none: return 0
        }
    }

    public var metadataBytes: [(String, Int)] {
        var ramPages = 0
        var out: [(String, Int)] = []
        for pfn in 1..<frames.count where frames[PFN(pfn)].flags.contains(.allocated)
            && !frames[PFN(pfn)].flags.contains(.unevictable) { ramPages += 1 }
        out.append(("struct page for RAM frames in use (64 B × \(ramPages))", ramPages * 64))
        for inode in inodes {
            guard let dev = inode.dax, let bytes = memmapBytes(inode.id) else { continue }
            let pages = Int(inode.size >> pageShift)
            out.append(("struct page for \(inode.name) (\(pages) pages, align \(dev.align >> 10) KiB, dax.memmap=\(design.daxMemmap.rawValue))", bytes))
        }
        // ksm.file_pages = on: one struct page_alias per page-cache slot a KSM page stands in for.
        if !ksm.aliases.isEmpty {
            out.append(("struct page_alias for KSM's page-cache aliases (\(pageAliasSize) B × \(ksm.aliases.count))",
                        ksm.aliases.count * pageAliasSize))
        }
        return out
    }
}

