// SPDX-License-Identifier: Apache-2.0
//
// KSM for page-cache pages (design ksm.file_pages = on, seed 002): the direction of Jérôme
// Glisse's "Small step toward KSM for file back page" (2020) with Matthew Wilcox's placement (a
// KSM page stored in the page cache itself). Never merged; the model follows the issue's
// specification. A KSM page may stand in for page-cache slots of any files (several slots of
// one file too), each recorded as a `page_alias`; the page is anonymous-typed as every KSM folio is
// (PAGE_MAPPING_KSM), so its mappings count as anonymous memory. Merging write-protects every
// PTE of the folio in every VMA (found through the file's i_mmap) and points the slot at the
// KSM page; a write to one file's page through MAP_SHARED, pwrite(2) or a write fault's page-cache
// lookup breaks only that file's alias: a new page, a copy of the KSM page, stored in the slot,
// every PTE of that file at that index replaced (i_mmap walk). Punch and truncate drop the
// alias; reclaim keeps an aliased page (it is never written back). Under `off` (6.18) no alias
// ever exists, so every path below that starts from a KSM folio's aliases is inert.

/// One page-cache slot a KSM page stands in for (struct page_alias of Glisse's "Generic page
/// write protection" series: list, flags, index, mapping, private).
public struct PageAlias: Hashable, Sendable {
    /// The file (its address_space) and the page index whose slot holds the KSM page.
    public var inode: InodeID
    public var index: UInt64
    /// The KSM page.
    public var kpage: PFN
}

/// sizeof(struct page_alias) on x86-64: a list_head (16), flags, index, mapping and private
/// (8 each): 48 bytes per alias, the metadata `--stats` reports.
let pageAliasSize = 48

extension Kernel {
    /// Whether KSM takes page-cache folios: the one reading of the design switch
    /// ksm.file_pages. The two places a kernel with the feature would ask it ask this:
    /// ksm_compatible() (a MAP_SHARED VMA may be VM_MERGEABLE) and the scanner's page test in
    /// scan_get_next_rmap_item() (a page-cache folio is a candidate, not only an anonymous one).
    var ksmMergesPageCache: Bool { design.ksmFilePages == .on }

    /// The KSM page that stands in for page `index` of `ino`, if that slot is an alias.
    func ksmAlias(_ ino: InodeID, _ index: UInt64) -> PFN? {
        ksm.aliases.first { $0.inode == ino && $0.index == index }?.kpage
    }

    /// Whether KSM page `kpage` stands in for any page-cache slot.
    func ksmHasAliases(_ kpage: PFN) -> Bool {
        !ksm.aliases.isEmpty && ksm.aliases.contains { $0.kpage == kpage }
    }

    /// Models the scanner's page-cache test: (file, index) of a page-cache folio KSM may
    /// merge, nil for anything else. Only shmem files (memfd, shared anonymous memory):
    /// a guest_memfd's folios are unmovable and reached by KVM through the file, not through
    /// PTEs; device-dax pages are ZONE_DEVICE (is_zone_device_page() is skipped already).
    func ksmFileCandidate(_ pfn: PFN) -> (inode: InodeID, index: UInt64)? {
        let f = frames.flags(pfn)
        guard f.contains(.pagecache), !f.contains(.ksm) else { return nil }
        let ino = InodeID(Int(frames[pfn].mappingID) - 1)
        guard Int(ino) < inodes.count, !isGuestMemfd(ino), !isDax(ino) else { return nil }
        return (ino, frames[pfn].index)
    }

    /// The folio's part of the specification's eligibility: uptodate, clean (PG_dirty clear),
    /// not under writeback, unpinned (no reference beyond its mappings and the page cache's),
    /// not poisoned. The model's page-cache folios are never under writeback (shmem_writeout()
    /// takes a folio out of the page cache before its write starts), and pins do not exist in
    /// the language; a PTE's dirty bit is checked when the merge walks the PTEs
    /// (ksmFileMergeCheck()). A shmem folio is dirty from its first write (a write fault,
    /// pwrite, a swap-in) until it leaves the page cache for swap: only pages that were never
    /// written are clean (docs/designs.md).
    func ksmFileFolioMergeable(_ pfn: PFN) -> Bool {
        let f = frames[pfn]
        guard f.flags.contains(.uptodate), !f.flags.contains(.dirty), !f.flags.contains(.hwpoison),
              !f.flags.contains(.swapcache) else { return false }
        return f.refcount == f.mapcount + 1
    }

    /// A page-cache folio KSM may merge now: its file and index and every PTE that maps it,
    /// or nil. The walk is the one folio_mkclean() makes before a folio's data may be shared:
    /// a dirty PTE moves its dirty bit into the folio, which is then not clean (and stays so).
    mutating func ksmFileMergeCheck(_ pfn: PFN) -> (inode: InodeID, index: UInt64, hits: [RmapHit])? {
        guard let (ino, index) = ksmFileCandidate(pfn), ksmFileFolioMergeable(pfn) else { return nil }
        let hits = ksmFileMappings(ino, index, pfn)
        if hits.contains(where: { mms[$0.mm].pageTables.pte($0.address).isDirty }) {
            frames[pfn].flags.insert(.dirty)
            return nil
        }
        return (ino, index, hits)
    }

    /// Every PTE of file `ino` at `index` that maps `pfn`: rmap_walk_file() over the file's
    /// i_mmap (every process, VMAs in address order), one walk counted.
    mutating func ksmFileMappings(_ ino: InodeID, _ index: UInt64, _ pfn: PFN) -> [RmapHit] {
        costs.iMmapWalks += 1
        var hits: [RmapHit] = []
        for m in mms.indices where mms[m].alive {
            for v in mms[m].vmas.indices where mms[m].vmas[v].inode == ino {
                guard let a = mms[m].vmas[v].address(ofPgoff: index) else { continue }
                let pte = mms[m].pageTables.pte(a)
                costs.pteReads += 1
                if pte.isPresent && pte.pfn == pfn { hits.append(RmapHit(mm: m, vma: v, address: a)) }
            }
        }
        return hits
    }

    /// One mapping of a folio moves between the anonymous and the file rss counters (a KSM
    /// folio counts as anonymous: mm_counter() of a PageKsm folio is MM_ANONPAGES).
    mutating func ksmMoveRSS(_ m: Int, toAnon: Bool) {
        mms[m].rssAnon += toAnon ? 1 : -1
        mms[m].rssShmem += toAnon ? -1 : 1
    }

    /// Models try_to_merge_with_ksm_page(…, NULL) on a page-cache folio that passed
    /// ksmFileMergeCheck() (the page that becomes the KSM page when two pages of the unstable
    /// tree merge): every PTE that maps it is write-protected, the folio leaves its file's
    /// ownership for the stable node, and its slot becomes the file's alias (one slot store).
    /// The page-cache reference becomes the alias's.
    mutating func ksmPromoteFilePage(_ pfn: PFN, _ c: (inode: InodeID, index: UInt64, hits: [RmapHit])) {
        for hit in c.hits {
            let pte = mms[hit.mm].pageTables.pte(hit.address)
            if pte.isWritable {
                mms[hit.mm].pageTables.set(hit.address, pte.without(PTE.rw))
                costs.pteWrites += 1
                costs.tlbFlushes += 1
            }
            ksmMoveRSS(hit.mm, toAnon: true)
        }
        let name = inodes[Int(c.inode)].name
        note("ksm: page \(c.index) of \(name) becomes a KSM page")
        frames[pfn].flags.remove(.pagecache)
        frames[pfn].flags.formUnion([.ksm, .anon])
        ksm.aliases.append(PageAlias(inode: c.inode, index: c.index, kpage: pfn))
        costs.slotStores += 1
    }

    /// Models try_to_merge_one_page() of a page-cache folio that passed ksmFileMergeCheck()
    /// into KSM page `kpage`: every PTE mapping it, in every VMA, is replaced by a read-only
    /// PTE of the KSM page (as replace_page() builds it, so the ksm.uffd_wp switch applies here
    /// too); the slot is pointed at the KSM page (the alias, holding a reference); the folio
    /// leaves the page cache and is freed.
    mutating func ksmMergeFilePage(_ pfn: PFN, _ c: (inode: InodeID, index: UInt64, hits: [RmapHit]), into kpage: PFN) {
        for hit in c.hits {
            let vma = mms[hit.mm].vmas[hit.vma]
            let old = mms[hit.mm].pageTables.pte(hit.address)
            let entry = ksmReplacementPTE(PTE.make(pfn: kpage, prot: pageProt(vma)).without(PTE.rw), replacing: old)
            addRmap(kpage)
            mms[hit.mm].pageTables.set(hit.address, entry)
            costs.pteWrites += 1
            costs.tlbFlushes += 1
            _ = frames.removeMapping(pfn)
            ksmMoveRSS(hit.mm, toAnon: true)
        }
        let name = inodes[Int(c.inode)].name
        note("ksm: page \(c.index) of \(name) merged into KSM page \(kpage)")
        inodes[Int(c.inode)].pages[c.index] = .folio(kpage)
        frames[kpage].refcount += 1
        ksm.aliases.append(PageAlias(inode: c.inode, index: c.index, kpage: kpage))
        costs.slotStores += 1
        frames[pfn].flags.remove(.pagecache)
        putFolio(pfn)   // the page cache's reference, the last one
        if !frames.isAllocated(pfn) { costs.ksmFramesFreed += 1 }
    }

    /// Breaks file `ino`'s alias at `index` (design ksm.file_pages = on): a new page, a copy of
    /// the KSM page, stored in the file's slot (dirty: the data is in memory only); then every
    /// PTE of that file at `index` that maps the KSM page as the file's page, in every process
    /// (the file's i_mmap), is replaced by a read-only PTE of the copy (soft-dirty and uffd-wp
    /// kept, as break_ksm()'s copy keeps them); the alias's reference goes. Other files keep
    /// the KSM page. Returns the copy, for the write that follows.
    mutating func ksmBreakAlias(_ ino: InodeID, _ index: UInt64) -> PFN {
        guard let kpage = ksmAlias(ino, index) else {
            // A KSM folio in a slot without an alias is a model bug (the invariants say so).
            invariantViolations.append("\(inodes[Int(ino)].name)[\(index)]: a KSM page in the page cache without an alias")
            return inodes[Int(ino)].pages[index].folio ?? 0
        }
        let name = inodes[Int(ino)].name
        note("ksm: break the alias of page \(index) of \(name)")
        costs.aliasBreaks += 1
        // The file's PTEs of the KSM page, found while the alias still says whose they are.
        let hits = ksmFileMappings(ino, index, kpage).filter {
            ksmMapsAlias($0.mm, mms[$0.mm].vmas[$0.vma], $0.address, kpage)
        }
        let copy = frames.alloc(token: frames[kpage].token)
        costs.pageCopies += 1
        ksm.aliases.removeAll { $0.inode == ino && $0.index == index }
        shmemAddToPageCache(copy, ino, index)
        frames[copy].flags.insert(.dirty)
        costs.slotStores += 1
        for hit in hits {
            let vma = mms[hit.mm].vmas[hit.vma]
            let old = mms[hit.mm].pageTables.pte(hit.address)
            var entry = PTE.make(pfn: copy, prot: pageProt(vma)).without(PTE.rw)
            if old.softDirty { entry = entry.with(PTE.softDirty) }
            if old.uffdWP { entry = entry.mkUffdWP() }
            addRmap(copy)
            mms[hit.mm].pageTables.set(hit.address, entry)
            costs.pteWrites += 1
            costs.tlbFlushes += 1
            _ = frames.removeMapping(kpage)
            ksmMoveRSS(hit.mm, toAnon: false)
        }
        putFolio(kpage)   // the alias's reference
        return copy
    }

    /// Drops file `ino`'s alias at `index` (punch, truncate, the last close: the slot is
    /// emptied and the alias's reference goes; other files keep the KSM page).
    mutating func ksmRemoveAlias(_ ino: InodeID, _ index: UInt64, _ kpage: PFN) {
        let name = inodes[Int(ino)].name
        note("ksm: drop the alias of page \(index) of \(name)")
        ksm.aliases.removeAll { $0.inode == ino && $0.index == index }
        inodes[Int(ino)].pages[index] = .empty
        putFolio(kpage)
    }

    /// Whether the PTE of VMA `vma` of mm `m` at `a`, which maps KSM page `k`, maps it as its
    /// file's page (the file's alias at that index) rather than as an anonymous page merged
    /// there. A MAP_SHARED VMA has no anonymous pages; in a MAP_PRIVATE VMA an anonymous COW
    /// copy merged into the same KSM page is known by its rmap item.
    func ksmMapsAlias(_ m: Int, _ vma: VMA, _ a: UInt64, _ k: PFN) -> Bool {
        guard !ksm.aliases.isEmpty, let ino = vma.inode, ksmAlias(ino, vma.pgoff(of: a)) == k else { return false }
        if vma.flags.contains(.shared) { return true }
        return !ksm.items.contains { $0.mm == MMID(m) && $0.address == a && !$0.file && $0.stable == k }
    }

    /// A PTE that maps a KSM page is never writable, also in a writable MAP_SHARED VMA (every
    /// path that builds or upgrades a PTE of a page-cache page asks this).
    func ksmWrprotect(_ entry: PTE) -> PTE {
        guard entry.isPresent, entry.isWritable, let pfn = normalPage(entry), frames.flags(pfn).contains(.ksm) else { return entry }
        return entry.without(PTE.rw)
    }
}
