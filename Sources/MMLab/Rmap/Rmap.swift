// SPDX-License-Identifier: Apache-2.0
//
// Reverse mapping (mm/rmap.c): mapcounts, folio references, and walks from a folio to
// every PTE that maps it. Walks visit processes in creation order and VMAs in address
// order, so their order is deterministic.

extension Kernel {
    /// Models folio_put(): drop one reference, freeing the folio at zero.
    mutating func putFolio(_ pfn: PFN) {
        guard pfn != FrameTable.zeroPFN else { return }
        if frames.dropReference(pfn) == 0 { freeFolio(pfn) }
    }

    /// Frees a folio nothing references any more. One still in the lazyfree batch would be
    /// freed when the batch drains (its reference is the last); the model frees it now and
    /// forgets the batch entry (nothing can observe the difference).
    mutating func freeFolio(_ pfn: PFN) {
        if !lazyfreeBatch.isEmpty { lazyfreeBatch.removeAll { $0 == pfn } }
        frames.free(pfn)
    }

    /// Models folio_add_new_anon_rmap(…, RMAP_EXCLUSIVE) for a new folio of `vma` at `address`.
    mutating func addNewAnonRmap(_ pfn: PFN, vma: VMA, address: UInt64) {
        addNewAnonRmap(pfn, anonVMA: vma.anonVMA ?? 0, index: vma.pgoff(of: address))
    }

    /// addNewAnonRmap() from the VMA's anon_vma and the page index (no copy of the VMA).
    mutating func addNewAnonRmap(_ pfn: PFN, anonVMA av: AnonVMAID, index: UInt64) {
        // A new anonymous folio is not PG_dirty: its PTE carries the dirty state until
        // reclaim or MADV_FREE looks (folio_add_new_anon_rmap() sets swapbacked only).
        frames.setNewAnon(pfn, mapping: av, index: index)
    }

    /// Models folio_add_anon_rmap_ptes() / folio_add_file_rmap_ptes(): one more mapping.
    mutating func addRmap(_ pfn: PFN) {
        guard pfn != FrameTable.zeroPFN else { return }
        frames.addMapping(pfn)
    }

    /// Models folio_remove_rmap_pte() followed by the put of the mapping's reference.
    mutating func removeRmapAndPut(_ pfn: PFN) {
        guard pfn != FrameTable.zeroPFN else { return }
        if frames.removeMapping(pfn) == 0 { freeFolio(pfn) }
    }

    /// Models vm_normal_page(): the folio behind a present PTE, or nil for special ones.
    func normalPage(_ pte: PTE) -> PFN? {
        guard pte.isPresent, !pte.isSpecial else { return nil }
        let pfn = pte.pfn
        return pfn == FrameTable.zeroPFN ? nil : pfn
    }

    /// One place a folio is mapped.
    struct RmapHit {
        var mm: Int
        var vma: Int
        var address: UInt64
    }

    /// Models rmap_walk(): every present PTE mapping `pfn`, as rmap_walk_anon() or
    /// rmap_walk_file() finds them (anon_vma chain or i_mmap, then vma_address()).
    func rmapWalk(_ pfn: PFN) -> [RmapHit] {
        let f = frames[pfn]
        var hits: [RmapHit] = []
        if f.flags.contains(.ksm) {
            // rmap_walk_ksm(): every rmap item of the stable node, and (ksm.file_pages = on)
            // the i_mmap of every file the page is an alias of; the model looks at every PTE.
            let aliasFiles = ksm.aliases.filter { $0.kpage == pfn }.map(\.inode)
            for m in mms.indices where mms[m].alive {
                for v in mms[m].vmas.indices where mms[m].vmas[v].flags.contains(.mergeable)
                    || mms[m].vmas[v].inode.map({ aliasFiles.contains($0) }) == true {
                    var a = mms[m].vmas[v].start
                    while a < mms[m].vmas[v].end {
                        guard let t = mms[m].pageTables.nextTable(a, mms[m].vmas[v].end) else { break }
                        a = t
                        let pte = mms[m].pageTables.pte(a)
                        if pte.isPresent && pte.pfn == pfn { hits.append(RmapHit(mm: m, vma: v, address: a)) }
                        a += pageSize
                    }
                }
            }
            return hits
        }
        let isAnon = f.flags.contains(.anon)
        let mapping = f.mappingID
        for m in mms.indices where mms[m].alive {
            for v in mms[m].vmas.indices {
                let vma = mms[m].vmas[v]
                if isAnon {
                    guard vma.anonVMAChain.contains(mapping) else { continue }
                } else {
                    guard f.flags.contains(.pagecache), let ino = vma.inode,
                          UInt32(ino) + 1 == mapping else { continue }
                }
                guard let a = vma.address(ofPgoff: f.index) else { continue }
                let pte = mms[m].pageTables.pte(a)
                if pte.isPresent && pte.pfn == pfn { hits.append(RmapHit(mm: m, vma: v, address: a)) }
            }
        }
        return hits
    }
}
