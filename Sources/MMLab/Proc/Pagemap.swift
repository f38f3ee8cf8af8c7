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
        let pte = mm.pageTables.pte(address & ~(pageSize - 1))
        var word = pteToPagemapEntry(vma, pte, showPFN: showPFN)
        if pte.isNone { word |= pagemapNonePTE(vma, address, showPFN: showPFN) }
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
            while i < out.count && a < vma.end {
                // One PTE table: up to 512 words.
                let tableEnd = min(vma.end, (a | (pmdSize - 1)) &+ 1)
                if let base = mm.pageTables.slot(a) {
                    var s = base
                    while a < tableEnd && i < out.count {
                        let pte = PTE(raw: mm.pageTables.entries[s])
                        var w = pte.isNone ? pagemapNonePTE(vma, a, showPFN: showPFN) : pteToPagemapEntry(vma, pte, showPFN: showPFN)
                        w |= vmaSoftDirty
                        out[i] = w
                        i += 1; s += 1; a += pageSize
                    }
                } else {
                    while a < tableEnd && i < out.count {
                        out[i] = pagemapNonePTE(vma, a, showPFN: showPFN) | vmaSoftDirty
                        i += 1; a += pageSize
                    }
                }
            }
        }
        return out
    }

    /// pagemapRead() that also counts its cost: the PTE read, and the page-cache lookup the
    /// `pagecache` design of pagemap.shmem_swap adds for a none PTE of a shmem VMA.
    public mutating func pagemapReadCounted(_ mmID: MMID, _ address: UInt64) -> UInt64 {
        costs.pteReads += 1
        if design.pagemapShmemSwap == .pagecache, let v = mms[Int(mmID)].vmaIndex(containing: address),
           mms[Int(mmID)].vmas[v].inode != nil, mms[Int(mmID)].pageTables.pte(address & ~(pageSize - 1)).isNone {
            costs.pageCacheLookups += 1
        }
        return pagemapRead(mmID, address)
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
        if let page, frames.isAllocated(page) {
            if !frames.flags(page).contains(.anon) { flags |= PM.file }
            if flags & PM.present != 0 && frames.mapcount(page) == 1 { flags |= PM.mmapExclusive }
        }
        return frame | flags
    }

    /// What pagemap adds for a none PTE under the design switch pagemap.shmem_swap.
    /// Linux 6.18 adds nothing; the `pagecache` variant (the 2021 page-cache lookup
    /// proposal) reports a swapped-out shmem page from the page-cache slot.
    func pagemapNonePTE(_ vma: VMA, _ address: UInt64, showPFN: Bool) -> UInt64 {
        guard design.pagemapShmemSwap == .pagecache, let ino = vma.inode else { return 0 }
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
