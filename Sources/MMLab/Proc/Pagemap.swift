// SPDX-License-Identifier: Apache-2.0
//
// /proc/PID/pagemap (fs/proc/task_mmu.c pagemap_pmd_range() → pte_to_pagemap_entry())
// and /proc/PID/clear_refs.

extension Kernel {
    /// Reads the pagemap word for `address` of mm `mmID`, as a reader with CAP_SYS_ADMIN
    /// (PFNs and swap offsets shown) or without (`showPFN: false`, frame field 0).
    public func pagemapRead(_ mmID: MMID, _ address: UInt64, showPFN: Bool = true) -> UInt64 {
        let mm = mms[Int(mmID)]
        guard let v = mm.vmaIndex(containing: address) else { return 0 }   // outside any VMA
        let vma = mm.vmas[v]
        let page = address & ~(pageSize - 1)
        let pte = mm.pageTables.pte(page)
        var word = pteToPagemapEntry(vma, pte, showPFN: showPFN)
        if pte.isNone && pagemapLooksUp(vma, table: mm.pageTables.hasTable(page)) != nil {
            word |= pagemapShmemSwapEntry(vma, page, showPFN: showPFN)
        }
        if vma.flags.contains(.softDirty) { word |= PM.softDirty }
        return word
    }

    /// Models a read(2) of `count` words of /proc/PID/pagemap from `start`
    /// (pagemap_read() → walk_page_range()): one VMA lookup per VMA and one table lookup per
    /// PTE table, as the kernel's walk does, instead of one of each per word.
    public func pagemapRead(_ mmID: MMID, start: UInt64, count: Int, showPFN: Bool = true) -> [UInt64] {
        let mm = mms[Int(mmID)]
        var out = [UInt64](repeating: 0, count: max(0, count))
        var i = 0
        var a = start & ~(pageSize - 1)
        while i < out.count {
            guard let v = mm.vmaIndex(containing: a) else {
                // Outside any VMA: 0 until the next VMA starts.
                let next = mm.vmas.first(where: { $0.start > a })?.start ?? UInt64.max
                let skip = next == UInt64.max ? out.count - i : Int(min(UInt64(out.count - i), (next - a) >> pageShift))
                i += skip
                a &+= UInt64(skip) << pageShift
                continue
            }
            let vma = mm.vmas[v]
            let vmaSoftDirty: UInt64 = vma.flags.contains(.softDirty) ? PM.softDirty : 0
            let lookups = pagemapLooksUp(vma, table: true) != nil
            while i < out.count && a < vma.end {
                // One PTE table: up to 512 words.
                let tableEnd = min(vma.end, (a | (pmdSize - 1)) &+ 1)
                if let code = mm.pageTables.tableCode(a) {
                    // The table's entries in order: a packed table's follow its pattern.
                    let packed = code < 0 ? mm.pageTables.packed[Int(~code)] : (first: 0, step: 0)
                    let k = Int((a >> pageShift) & 511)
                    var s = code < 0 ? 0 : Int(code) * ptrsPerPTE + k
                    var raw = packed.first &+ UInt64(k) &* packed.step
                    while a < tableEnd && i < out.count {
                        let pte = PTE(raw: code < 0 ? raw : mm.pageTables.entries[s])
                        var w = !pte.isNone ? pteToPagemapEntry(vma, pte, showPFN: showPFN)
                            : lookups ? pagemapShmemSwapEntry(vma, a, showPFN: showPFN) : 0
                        w |= vmaSoftDirty
                        out[i] = w
                        i += 1; s += 1; a += pageSize
                        raw &+= packed.step
                    }
                } else {
                    // pagemap_pte_hole(): no PTE table; only the `exact` design looks up.
                    let holeLookups = pagemapLooksUp(vma, table: false) != nil
                    while a < tableEnd && i < out.count {
                        out[i] = (holeLookups ? pagemapShmemSwapEntry(vma, a, showPFN: showPFN) : 0) | vmaSoftDirty
                        i += 1; a += pageSize
                    }
                }
            }
        }
        return out
    }

    /// pagemapRead() that also counts its cost: the PTE read, and the page-cache lookup the
    /// `pagecache` and `exact` designs of pagemap.shmem_swap add for a none PTE (or, under
    /// `exact`, a hole) of a shmem VMA, with the xarray nodes it visits.
    public mutating func pagemapReadCounted(_ mmID: MMID, _ address: UInt64) -> UInt64 {
        costs.pteReads += 1
        let mm = mms[Int(mmID)]
        let page = address & ~(pageSize - 1)
        if let v = mm.vmaIndex(containing: address), mm.pageTables.pte(page).isNone,
           let ino = pagemapLooksUp(mm.vmas[v], table: mm.pageTables.hasTable(page)) {
            costs.pageCacheLookups += 1
            costs.xarrayNodes += xarrayDepth(ino)
        }
        return pagemapRead(mmID, address)
    }

    /// The costs pagemapReadCounted() adds for the `count` words from `start`, added at once:
    /// a reader of a range (pagemapRead(_:start:count:), which counts nothing) accounts here
    /// for the words it used, so that a range read costs what the same words read one by one do.
    public mutating func countPagemapReads(_ mmID: MMID, start: UInt64, count: Int) {
        guard count > 0 else { return }
        costs.pteReads += count
        // Only shmem VMAs under the pagecache and exact designs look up the page cache.
        guard design.pagemapShmemSwap == .pagecache || design.pagemapShmemSwap == .exact else { return }
        let mm = mms[Int(mmID)]
        var a = start & ~(pageSize - 1)
        for _ in 0..<count {
            if let v = mm.vmaIndex(containing: a), mm.pageTables.pte(a).isNone,
               let ino = pagemapLooksUp(mm.vmas[v], table: mm.pageTables.hasTable(a)) {
                costs.pageCacheLookups += 1
                costs.xarrayNodes += xarrayDepth(ino)
            }
            a &+= pageSize
        }
    }

    /// The file whose page cache pagemap looks up for a none PTE of `vma` (`table`: inside a
    /// PTE table; false: a pte hole), under the design switch pagemap.shmem_swap: never in
    /// 6.18 (`none`) nor under `marker`; for none PTEs inside a table under `pagecache`
    /// (Georgescu v2 changes pte_to_pagemap_entry() only); for holes too under `exact`. Only
    /// shmem files (shmem_file(): memfd, shared anonymous memory), shared or private mappings.
    func pagemapLooksUp(_ vma: VMA, table: Bool) -> InodeID? {
        switch design.pagemapShmemSwap {
        case .none, .marker: return nil
        case .pagecache: if !table { return nil }
        case .exact: break
        }
        guard let ino = vma.inode, !isGuestMemfd(ino), !isDax(ino) else { return nil }
        return ino
    }

    /// The depth of a file's page-cache xarray: ⌈log64(max index + 1)⌉ levels of 64-slot
    /// nodes for its largest index (i_size), at least 1.
    func xarrayDepth(_ ino: InodeID) -> Int {
        let slots = max(inodes[Int(ino)].sizeInPages, 1)
        var depth = 0, reach: UInt64 = 1
        while reach < slots && depth < 11 { reach = reach &* 64; depth += 1 }
        return max(depth, 1)
    }

    /// Models pte_to_pagemap_entry().
    func pteToPagemapEntry(_ vma: VMA, _ pte: PTE, showPFN: Bool) -> UInt64 {
        var frame: UInt64 = 0
        var flags: UInt64 = 0
        var page: PFN? = nil
        if pte.isPresent {
            if showPFN { frame = UInt64(pte.pfn) }
            flags |= PM.present
            if pte.softDirty { flags |= PM.softDirty }
            if pte.uffdWP { flags |= PM.uffdWP }
            page = normalPage(pte)
        } else if pte.isSwapPTE {
            if pte.swpSoftDirty { flags |= PM.softDirty }
            if pte.swpUffdWP { flags |= PM.uffdWP }
            let e = pte.swapEntry
            var offset = e.offset
            if e.type == SwapEntry.hwpoisonType {
                page = PFN(truncatingIfNeeded: offset)   // a PFN-carrying entry
            }
            if showPFN {
                offset &= (1 << 50) - 1
                frame = (UInt64(e.type) | offset << PM.swapTypeBits) & PM.pframeMask
            }
            flags |= PM.swap
            if let marker = pte.marker {
                if marker.contains(.uffdWP) { flags |= PM.uffdWP }
                if marker.contains(.guard_) { flags |= PM.guardRegion }
            }
        }
        if let page {
            let (allocated, pageFlags, mapcount) = frames.flagsAndMapcount(page)
            if allocated {
                if !pageFlags.contains(.anon) { flags |= PM.file }
                if flags & PM.present != 0 && mapcount == 1 { flags |= PM.mmapExclusive }
            }
        }
        return frame | flags
    }

    /// The word the page-cache lookup gives for a none PTE of a shmem VMA (xa_load() of
    /// i_pages at linear_page_index()): a swap value entry reports PM_SWAP with the real swap
    /// type | offset << 5 (when PFNs are shown), as an anonymous swap PTE does; a folio or an
    /// empty slot reports nothing. Never PM_FILE or PM_MMAP_EXCLUSIVE.
    func pagemapShmemSwapEntry(_ vma: VMA, _ address: UInt64, showPFN: Bool) -> UInt64 {
        guard let ino = vma.inode else { return 0 }
        let index = vma.pgoff(of: address)
        guard index < inodes[Int(ino)].sizeInPages, let e = inodes[Int(ino)].pages[index].swapEntry else { return 0 }
        let frame = showPFN ? (UInt64(e.type) | e.offset << PM.swapTypeBits) & PM.pframeMask : 0
        return frame | PM.swap
    }

    /// Models clear_refs_write(): 1–5 are accepted, anything else is EINVAL. Only 4
    /// (soft-dirty) changes state, and only with CONFIG_MEM_SOFT_DIRTY.
    public mutating func clearRefs(_ mmID: MMID, _ value: Int) -> Errno? {
        guard (1...5).contains(value) else { return .EINVAL }
        guard value == 4, config.memSoftDirty else { return nil }
        let m = Int(mmID)
        for v in mms[m].vmas.indices {
            // Clear VM_SOFTDIRTY (vma_set_page_prot() follows), then clear_soft_dirty() per PTE.
            mms[m].vmas[v].flags.remove(.softDirty)
            let vma = mms[m].vmas[v]
            if vma.flags.contains(.pfnmap) { continue }   // clear_refs_test_walk() skips VM_PFNMAP
            var a = vma.start
            // walk_page_range() visits the tables that exist.
            while let t = mms[m].pageTables.nextTable(a, vma.end) {
                a = t
                let tableEnd = min(vma.end, (a | (pmdSize - 1)) &+ 1)
                while a < tableEnd {
                    let pte = mms[m].pageTables.pte(a)
                    if pte.isPresent {
                        mms[m].pageTables.set(a, pte.without([PTE.rw, PTE.softDirty].reduce(0, |)))
                    } else if pte.isSwapPTE && pte.swpSoftDirty {
                        mms[m].pageTables.set(a, pte.without(PTE.swpSoftDirty))
                    }
                    a += pageSize
                }
            }
        }
        costs.tlbFlushes += 1
        check()
        return nil
    }
}
