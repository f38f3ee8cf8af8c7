// SPDX-License-Identifier: Apache-2.0
//
// MADV_COLD and MADV_PAGEOUT (mm/madvise.c madvise_cold_or_pageout_pte_range()) and the
// part of reclaim they drive (mm/vmscan.c reclaim_pages() → shrink_folio_list(),
// mm/rmap.c try_to_unmap_one()).

extension Kernel {
    /// Models madvise_cold_or_pageout_pte_range() over [start, end) of VMA `v`: age the
    /// PTEs, and for pageout collect folios mapped only here (mapcount == 1) for reclaim.
    mutating func madviseColdOrPageout(_ m: Int, _ v: Int, _ start: UInt64, _ end: UInt64, pageout: Bool) {
        lruAddDrain()   // madvise_cold() / madvise_pageout()
        var list: [PFN] = []
        var a = start
        while a < end {
            // walk_page_range() visits the tables that exist.
            guard let t = mms[m].pageTables.nextTable(a, end) else { break }
            a = t
            _ = mms[m].pageTables.walkTable(a)
            let pte = mms[m].pageTables.pte(a)
            costs.pteReads += 1
            defer { a += pageSize }
            guard pte.isPresent, let pfn = normalPage(pte) else { continue }
            // Do not interfere with other mappings of this folio, nor non-LRU folios.
            guard frames[pfn].flags.contains(.lru), frames[pfn].mapcount == 1 else { continue }
            if pte.raw & PTE.accessed != 0 {
                mms[m].pageTables.set(a, pte.without(PTE.accessed))   // pte_mkold()
                costs.pteWrites += 1
            }
            frames[pfn].flags.remove(.referenced)
            if pageout {
                list.append(pfn)
            } else {
                frames[pfn].flags.remove(.active)   // folio_deactivate()
            }
        }
        if !list.isEmpty { reclaimPages(list) }
    }

    /// Models reclaim_pages() → shrink_folio_list() with references ignored and
    /// may_unmap / may_swap / may_writepage set.
    mutating func reclaimPages(_ list: [PFN]) {
        for pfn in list {
            guard frames.isAllocated(pfn) else { continue }
            if frames[pfn].flags.contains(.unevictable) { continue }   // !folio_evictable(): kept, still mapped
            // A KSM page standing in for page-cache slots (ksm.file_pages = on) is never written
            // back: swap-out would have to leave a swap entry in every alias's slot as well as in
            // every PTE, and the stable node is no address_space shmem_writeout() can store one
            // in. shrink_folio_list() activates it and keeps it, mapped.
            if frames[pfn].flags.contains(.ksm) && ksmHasAliases(pfn) {
                frames[pfn].flags.insert(.active)
                continue
            }
            let isAnon = frames[pfn].flags.contains(.anon)
            if isAnon && !frames[pfn].flags.contains(.swapbacked) {
                _ = reclaimLazyfree(pfn)   // MADV_FREE: dropped when clean, no swap needed
                continue
            }
            if isAnon && !frames[pfn].flags.contains(.swapcache) {
                // A maybe-pinned anon folio gets no swap space: kept, still mapped.
                if folioMaybeDMAPinned(pfn) { continue }
                // folio_alloc_swap(): no swap, or swap full → the folio is activated and kept.
                guard folioAllocSwap(pfn) != nil else {
                    frames[pfn].flags.insert(.active)
                    continue
                }
                frames[pfn].flags.insert(.dirty)
            }
            tryToUnmap(pfn)
            guard frames[pfn].mapcount == 0 else { continue }
            // Unmapped now, so it cannot be newly pinned; a pinned folio is not reclaimed
            // (activate_locked): a shmem folio stays in the page cache, unmapped.
            if folioMaybeDMAPinned(pfn) {
                frames[pfn].flags.insert(.active)
                continue
            }
            if isAnon {
                guard let e = swapEntry(ofFolio: pfn) else { continue }
                if frames[pfn].flags.contains(.dirty) {
                    // pageout() → swap_writeout(): the write is asynchronous for a swap file,
                    // so the folio stays in the swap cache under writeback.
                    swapWriteout(pfn, e)
                } else {
                    deleteFromSwapCache(pfn)   // __remove_mapping() of a clean swap-cache folio
                }
            } else if frames[pfn].flags.contains(.pagecache) {
                let ino = InodeID(Int(frames[pfn].mappingID) - 1)
                let index = frames[pfn].index
                if frames[pfn].flags.contains(.dirty) {
                    if !shmemWriteout(pfn) { frames[pfn].flags.insert(.active) }   // redirtied, kept
                } else {
                    shmemRemoveFromPageCache(pfn, ino, index)   // __remove_mapping()
                }
            }
        }
    }

    /// try_to_unmap_one() under TTU_HINT_PAGEOUT in Peter Xu's RFC (design
    /// pagemap.shmem_swap = marker): after clearing the PTE of a shmem folio, if the PTE is
    /// still none (an uffd-wp marker wins), leave PTE_MARKER_PAGEOUT, which pagemap reads as
    /// PM_SWAP. Only reclaim passes the hint (the model's reclaim is MADV_PAGEOUT's); one
    /// extra PTE write per PTE unmapped.
    mutating func installPageoutMarker(_ m: Int, _ v: Int, _ address: UInt64) {
        guard design.pagemapShmemSwap == .marker, let ino = mms[m].vmas[v].inode,
              !isGuestMemfd(ino), !isDax(ino), mms[m].pageTables.pte(address).isNone else { return }
        mms[m].pageTables.set(address, PTEMarker.pageout.pte)
        costs.pteWrites += 1
    }

    /// Models try_to_unmap() → try_to_unmap_one() for every mapping of `pfn`: anon PTEs
    /// become swap entries (keeping soft-dirty, uffd-wp and exclusivity), file PTEs are
    /// cleared (leaving a uffd-wp marker where the PTE was write-protected).
    mutating func tryToUnmap(_ pfn: PFN) {
        let isAnon = frames[pfn].flags.contains(.anon)
        for hit in rmapWalk(pfn) {
            let m = hit.mm
            let pte = mms[m].pageTables.pte(hit.address)
            if pte.isDirty { frames[pfn].flags.insert(.dirty) }
            if isAnon {
                guard let e = swapEntry(ofFolio: pfn) else { continue }
                // folio_try_share_anon_rmap_pte() fails on a maybe-pinned exclusive page: the
                // unmap is abandoned and the page stays mapped.
                if frames[pfn].flags.contains(.anonExclusive) && folioMaybeDMAPinned(pfn) { return }
                swapDuplicate(e)
                var sp = PTE.swap(e)
                // folio_try_share_anon_rmap_pte(): exclusivity moves into the swap PTE.
                if frames[pfn].flags.contains(.anonExclusive) { sp = sp.with(PTE.swpExclusive) }
                if pte.softDirty { sp = sp.with(PTE.swpSoftDirty) }
                if pte.uffdWP { sp = sp.with(PTE.swpUffdWP) }
                mms[m].pageTables.set(hit.address, sp)
                mms[m].rssAnon -= 1
                mms[m].swapEntries += 1
            } else {
                mms[m].pageTables.set(hit.address, .none)
                mms[m].rssShmem -= 1
                zapInstallUffdWPIfNeeded(m, vma: mms[m].vmas[hit.vma], hit.address, pte,
                                         ZapDetails(evenCOWs: false, dropMarkers: false))
                installPageoutMarker(m, hit.vma, hit.address)
            }
            costs.pteWrites += 1
            costs.tlbFlushes += 1
            removeRmapAndPut(pfn)
        }
        if isAnon { frames[pfn].flags.remove(.anonExclusive) }
    }
}
