// SPDX-License-Identifier: Apache-2.0
//
// Zapping page-table entries (mm/memory.c: zap_pte_range(), zap_present_ptes(),
// zap_nonpresent_ptes(), unmap_mapping_range()).

/// struct zap_details, reduced to what changes behaviour.
public struct ZapDetails: Sendable {
    /// even_cows: also zap private COWed anon pages and swap entries.
    public var evenCOWs: Bool
    /// ZAP_FLAG_DROP_MARKER: also drop uffd-wp and guard markers.
    public var dropMarkers: Bool
}

extension Kernel {
    /// Models zap_pte_range() over [start, end) of one VMA of mm `m`, under the PTE lock.
    /// Returns whether an entry was cleared (a TLB flush is due); `countFlush: false` leaves
    /// counting that flush to a caller that zaps one VMA piece in several calls.
    /// `clear: false` (exit_mmap(), whose free_pgtables() frees the tables next) leaves the
    /// entries in place: the caller drops the tables, and nothing reads them in between.
    @discardableResult
    mutating func zapPTERange(_ m: Int, vma: VMA, _ start: UInt64, _ end: UInt64, details: ZapDetails,
                              countFlush: Bool = true, clear: Bool = true) -> Bool {
        var (start, end) = (start, end)
        if let ino = vma.inode, let dev = inodes[Int(ino)].dax, dev.align > pageSize {
            // zap_pmd_range()/zap_pud_range(): a huge entry the range covers only in part is
            // split, and splitting a file (device-dax) PMD or PUD clears it whole
            // (__split_huge_pmd_locked(), __split_huge_pud_locked()): the range widens to the
            // device alignment.
            start = max(vma.start, start & ~(dev.align - 1))
            end = min(vma.end, (end + dev.align - 1) & ~(dev.align - 1))
        }
        var a = start
        var flushed = false
        // zap_pmd_range() skips pmd_none() entries (and the levels above, absent ones).
        while let t = mms[m].pageTables.nextTable(a, end) {
            a = t
            _ = mms[m].pageTables.walkTable(a)
            let tableEnd = min(end, (a | (pmdSize - 1)) &+ 1)
            while a < tableEnd {
                let pte = mms[m].pageTables.pte(a)
                costs.pteReads += 1
                if !pte.isNone {
                    if zapOne(m, vma: vma, a, pte, details, clear: clear) { flushed = true }
                }
                a += pageSize
            }
        }
        if flushed && countFlush { costs.tlbFlushes += 1 }
        return flushed
    }

    /// One PTE of zap_pte_range(); returns whether an entry was cleared.
    mutating func zapOne(_ m: Int, vma: VMA, _ a: UInt64, _ pte: PTE, _ details: ZapDetails, clear: Bool = true) -> Bool {
        if pte.isPresent {
            // zap_present_ptes()
            if let pfn = normalPage(pte) {
                let flags = frames.flags(pfn)
                // should_zap_folio(): without even_cows only non-anon folios go; a KSM folio
                // the PTE maps as its file's alias (ksm.file_pages = on) is the file's page.
                if !details.evenCOWs && flags.contains(.anon)
                    && !(flags.contains(.ksm) && ksmMapsAlias(m, vma, a, pfn)) { return false }
                if clear { mms[m].pageTables.set(a, .none) }
                costs.pteWrites += 1
                if pte.isDirty && !flags.contains(.anon) { frames[pfn].flags.insert(.dirty) }
                if flags.contains(.anon) { mms[m].rssAnon -= 1 } else { mms[m].rssShmem -= 1 }
                removeRmapAndPut(pfn)
                // free_pages_and_swap_cache() → free_swap_cache(): an unmapped anon folio
                // whose swap slot nobody references leaves the swap cache.
                if frames.isAllocated(pfn) && frames.flags(pfn).contains(.swapcache) && frames.mapcount(pfn) == 0 {
                    folioFreeSwap(pfn)
                }
            } else {
                if clear { mms[m].pageTables.set(a, .none) }
                costs.pteWrites += 1
                ksmMightUnmapZeroPage(m, pte)
            }
            zapInstallUffdWPIfNeeded(m, vma: vma, a, pte, details)
            return true
        }
        // zap_nonpresent_ptes()
        let e = pte.swapEntry
        if e.isRealSwap {
            guard details.evenCOWs else { return false }
            mms[m].swapEntries -= 1
            freeSwapAndCache(e)
        } else if let marker = pte.marker {
            if marker.contains(.uffdWP) && !marker.contains(.guard_) && !marker.contains(.poisoned) {
                // For anon: always drop the marker; for file: only if explicitly requested.
                if !vma.isAnonymous && !details.dropMarkers { return false }
            } else if marker.contains(.guard_) {
                if !details.dropMarkers { return false }
            } else if marker.contains(.poisoned) {
                if !details.evenCOWs { return false }
            }
        } else if e.type == SwapEntry.hwpoisonType {
            if !details.evenCOWs { return false }
        }
        if clear { mms[m].pageTables.set(a, .none) }
        costs.pteWrites += 1
        zapInstallUffdWPIfNeeded(m, vma: vma, a, pte, details)
        return true
    }

    /// Models zap_install_uffd_wp_if_needed() → pte_install_uffd_wp_if_needed(): a zapped
    /// uffd-wp file PTE is replaced by a uffd-wp marker, so the protection survives.
    mutating func zapInstallUffdWPIfNeeded(_ m: Int, vma: VMA, _ a: UInt64, _ old: PTE, _ details: ZapDetails) {
        guard !vma.isAnonymous, !details.dropMarkers, vma.flags.contains(.uffdWP) else { return }
        let wp = (old.isPresent && old.uffdWP) || (old.isSwapPTE && old.swpUffdWP)
            || (old.marker?.contains(.uffdWP) ?? false)
        // Design switch uffd_wp.file_zap: before 5.19 the protection was simply lost.
        guard design.uffdWPFileZap == .marker else {
            if wp { note("the uffd-wp bit is dropped, no marker (design uffd_wp.file_zap=drop)") }
            return
        }
        if wp {
            mms[m].pageTables.set(a, PTEMarker.uffdWP.pte)
            costs.pteWrites += 1
        }
    }

    /// Models unmap_mapping_range(mapping, start, len, even_cows): zap every mapping of the
    /// file pages [first, last] in every process (the i_mmap walk), without dropping markers.
    mutating func unmapMappingRange(_ ino: InodeID, first: UInt64, last: UInt64, evenCOWs: Bool) {
        // The pieces are computed first: zapping does not change any VMA.
        for t in unmapTargets(ino, first: first, last: last) {
            zapPTERange(t.m, vma: mms[t.m].vmas[t.v], t.s, t.e, details: ZapDetails(evenCOWs: evenCOWs, dropMarkers: false))
        }
    }

    /// Models unmap_mapping_folio(): zap one file folio everywhere, dropping markers
    /// (truncate meeting a folio that was mapped again after the first unmap pass).
    mutating func unmapMappingFolio(_ ino: InodeID, index: UInt64) {
        for m in mms.indices where mms[m].alive {
            for v in mms[m].vmas.indices {
                let vma = mms[m].vmas[v]
                guard vma.inode == ino, let a = vma.address(ofPgoff: index) else { continue }
                zapPTERange(m, vma: vma, a, a + pageSize, details: ZapDetails(evenCOWs: false, dropMarkers: true))
            }
        }
    }
}
