// SPDX-License-Identifier: Apache-2.0
//
// MADV_FREE (mm/madvise.c madvise_free_single_vma() → madvise_free_pte_range()) and the
// reclaim of the lazily freed folios it leaves (mm/rmap.c try_to_unmap_one(), the
// "MADV_FREE page check", and mm/vmscan.c shrink_folio_list()).

extension Kernel {
    /// Models madvise_free_pte_range() over [start, end) of VMA `v`: swap entries are freed
    /// and cleared, hwpoison entries and poison markers cleared (other markers stay); a present
    /// anonymous folio mapped only here (or clean and not in the swap cache) loses its dirty
    /// state, its PTE is made old and clean, and it becomes lazyfree (no longer swap-backed), so
    /// that reclaim may drop it unless it is written again first.
    mutating func madviseFreePTERange(_ m: Int, _ v: Int, _ start: UInt64, _ end: UInt64) {
        lruAddDrain()   // madvise_free_single_vma()
        var a = start
        while a < end {
            // walk_page_range() visits the tables that exist.
            guard let t = mms[m].pageTables.nextTable(a, end) else { break }
            a = t
            _ = mms[m].pageTables.walkTable(a)
            defer { a += pageSize }
            let pte = mms[m].pageTables.pte(a)
            costs.pteReads += 1
            if pte.isNone { continue }
            if !pte.isPresent {
                let e = pte.swapEntry
                if e.isRealSwap {
                    mms[m].swapEntries -= 1
                    freeSwapAndCache(e)
                } else if !(pte.marker?.contains(.poisoned) ?? false) && e.type != SwapEntry.hwpoisonType {
                    continue   // uffd-wp and guard markers, migration entries: left alone
                }
                mms[m].pageTables.set(a, .none)
                costs.pteWrites += 1
                continue
            }
            guard let pfn = normalPage(pte), frames[pfn].flags.contains(.anon) else { continue }
            if frames[pfn].flags.contains(.swapcache) || frames[pfn].flags.contains(.dirty) {
                // folio_maybe_mapped_shared(): another mapping may still need the content.
                if frames[pfn].mapcount > 1 { continue }
                if frames[pfn].flags.contains(.swapcache) && !folioFreeSwap(pfn) { continue }
                frames[pfn].flags.remove(.dirty)
            }
            if pte.raw & (PTE.accessed | PTE.dirty) != 0 {
                mms[m].pageTables.set(a, pte.without(PTE.accessed | PTE.dirty))   // clear_young_dirty_ptes()
                costs.pteWrites += 1
                costs.tlbFlushes += 1
            }
            folioMarkLazyfree(pfn)
        }
    }

    /// Models folio_mark_lazyfree() → lru_lazyfree(): an anonymous, swap-backed folio outside
    /// the swap cache moves to the inactive file LRU without PG_swapbacked.
    /// The folio waits in the per-CPU batch (holding a reference) until it drains; the model
    /// applies the move at once (only reclaim looks at it, and reclaim drains first) and keeps
    /// the batch for the reference, which makes a COW fault copy instead of reuse.
    mutating func folioMarkLazyfree(_ pfn: PFN) {
        let f = frames[pfn].flags
        guard f.contains(.anon), f.contains(.swapbacked), !f.contains(.swapcache), !f.contains(.unevictable),
              !lazyfreeBatch.contains(pfn) else { return }
        frames[pfn].flags.subtract([.swapbacked, .active, .referenced])
        lazyfreeBatch.append(pfn)
        if lazyfreeBatch.count == 31 { lruAddDrain() }   // folio_batch full (PAGEVEC_SIZE)
    }

    /// Models lru_add_drain() for the lazyfree batch: its folios' batch references go.
    mutating func lruAddDrain() {
        lazyfreeBatch.removeAll()
    }

    /// Models the MADV_FREE branch of shrink_folio_list() / try_to_unmap_one() for a folio that
    /// is anonymous and not swap-backed: if neither the folio nor a PTE mapping it was dirtied
    /// since MADV_FREE, and nothing but its mappings references it (a pin does), every mapping
    /// is cleared and the folio freed (no swap needed); a redirtied one is swap-backed again
    /// and kept, still mapped. Returns whether it was discarded.
    mutating func reclaimLazyfree(_ pfn: PFN) -> Bool {
        let hits = rmapWalk(pfn)
        let redirtied = frames[pfn].flags.contains(.dirty)
            || hits.contains { mms[$0.mm].pageTables.pte($0.address).isDirty }
        if redirtied {
            frames[pfn].flags.formUnion([.swapbacked, .dirty])   // folio_set_swapbacked(); walk_abort
            return false
        }
        // ref_count != 1 + map_count: another reference (a GUP pin) keeps the folio, and
        // nothing changes; it is looked at again when that reference is gone.
        if Int(frames[pfn].refcount) != Int(frames[pfn].mapcount) { return false }
        for hit in hits {
            mms[hit.mm].pageTables.set(hit.address, .none)
            mms[hit.mm].rssAnon -= 1
            costs.pteWrites += 1
            costs.tlbFlushes += 1
            removeRmapAndPut(pfn)
        }
        return true
    }
}
