// SPDX-License-Identifier: Apache-2.0
//
// Kernel samepage merging (mm/ksm.c): MADV_MERGEABLE/UNMERGEABLE, full scans of the
// mergeable VMAs with a checksum that must be stable for one scan, the unstable tree rebuilt
// every scan, the stable tree of KSM pages, merging by write-protecting and replacing PTEs,
// COW on write (do_wp_page never reuses a KSM folio), stable-node chains (a KSM page takes at
// most max_page_sharing mappings; more pages of the same content make further KSM pages, the
// "dups" of one chain), and the sysfs counters.

/// One mm's rmap_list as a scan passes it (ksm_scan.rmap_list): the items that existed when
/// the scan reached the mm, in address order, the next one not passed yet, and the address
/// last visited (its item was reached, not passed over).
struct KSMPassedItems {
    var items: [Int]
    var next = 0
    var reached = UInt64.max
}

/// One scanned page (struct ksm_rmap_item): where it is and what the scanner knows of it.
struct KSMRmapItem: Hashable, Sendable {
    var mm: MMID
    var address: UInt64
    /// The checksum seen by the previous scan (rmap_item->oldchecksum).
    var oldChecksum: UInt64?
    /// In the unstable tree of the current scan.
    var unstable = false
    /// Mapped to a KSM page in the stable tree (rmap_item->head).
    var stable: PFN?
    /// The page seen here is a page-cache page (design ksm.file_pages = on): an alias site,
    /// which the counters count by alias, not by rmap item.
    var file = false
}

/// The KSM daemon's state (/sys/kernel/mm/ksm).
public struct KSMState: Hashable, Sendable {
    /// /sys/kernel/mm/ksm/run.
    public internal(set) var run = false
    /// /sys/kernel/mm/ksm/full_scans.
    public internal(set) var fullScans = 0
    /// /sys/kernel/mm/ksm/use_zero_pages.
    public var useZeroPages = false
    /// ksm_zero_pages: PTEs KSM pointed at the zero page (and marked dirty).
    public internal(set) var zeroPages = 0
    /// rmap items by (mm, address), kept in scan order.
    var items: [KSMRmapItem] = []
    /// The stable tree: content → its KSM pages, newest first (one stable node, or the dups
    /// of a stable_node chain, which stable_node_chain_add_dup() adds at the head).
    var stable: [UInt64: [PFN]] = [:]
    /// /sys/kernel/mm/ksm/max_page_sharing: the most mappings one KSM page takes.
    public internal(set) var maxPageSharing = 256
    /// The mms registered with KSM (ksm_mm_head's mm_slot list), in registration order: the
    /// order a scan visits them in.
    var mms: [MMID] = []
    /// The page-cache slots KSM pages stand in for (design ksm.file_pages = on; FilePages.swift),
    /// in the order they were made.
    public internal(set) var aliases: [PageAlias] = []

    public init() {}
}

/// sizeof(struct ksm_rmap_item) on x86-64, for general_profit.
let ksmRmapItemSize = 64

extension Kernel {
    /// Models ksm_madvise(MADV_MERGEABLE) for VMA `v`, which madviseUpdateFlags() has split to
    /// the advised range: set VM_MERGEABLE on a compatible VMA; others are silently ignored
    /// (shared, special, hugetlb, dax).
    mutating func madviseMergeable(_ m: Int, _ v: Int) -> Errno? {
        guard !mms[m].vmas[v].flags.contains(.mergeable), vmaKSMCompatible(mms[m].vmas[v]) else { return nil }
        mms[m].vmas[v].flags.insert(.mergeable)
        ksmEnter(MMID(m))
        return nil
    }

    /// Models vma_ksm_compatible() → ksm_compatible() in mm/ksm.c: no shared, special,
    /// hugetlb or dax mapping. With ksm.file_pages = on a shared mapping of a shmem file
    /// (memfd, shared anonymous memory) is compatible too; guest_memfd is not (see
    /// ksmFileCandidate()).
    func vmaKSMCompatible(_ vma: VMA) -> Bool {
        ksmCompatible(vma.flags, backing: vma.backing)
    }

    func ksmCompatible(_ flags: VMFlags, backing: VMABacking) -> Bool {
        guard flags.intersection(VMFlags.special.union(.hugetlb)).isEmpty else { return false }
        if case .shmem(let ino) = backing, isDax(ino) { return false }
        if !flags.intersection([.shared, .mayShare]).isEmpty {
            guard ksmMergesPageCache, case .shmem(let ino) = backing, !isGuestMemfd(ino) else { return false }
        }
        return true
    }

    /// Models ksm_vma_flags() in mm/ksm.c, applied by __mmap_region(): a new VMA of an mm
    /// with MMF_VM_MERGE_ANY is mergeable when compatible, and the mm is registered again if
    /// a scan that found no mergeable VMA dropped it.
    mutating func ksmVMAFlags(_ m: Int, _ flags: VMFlags, backing: VMABacking) -> VMFlags {
        guard mms[m].ksmMergeAny, ksmCompatible(flags, backing: backing) else { return flags }
        ksmEnter(MMID(m))
        return flags.union(.mergeable)
    }

    /// Models prctl(PR_SET_MEMORY_MERGE) in kernel/sys.c → ksm_enable_merge_any() (register
    /// the mm, set MMF_VM_MERGE_ANY, ksm_add_vmas()) or ksm_disable_merge_any() (ksm_del_vmas():
    /// unmerge and clear VM_MERGEABLE on every VMA, then clear the flag; the mm stays
    /// registered) in mm/ksm.c.
    public mutating func prctlSetMemoryMerge(_ mmID: MMID, _ on: Bool) -> Errno? {
        let m = Int(mmID)
        if on {
            guard !mms[m].ksmMergeAny else { return nil }
            ksmEnter(mmID)
            mms[m].ksmMergeAny = true
            for v in mms[m].vmas.indices where vmaKSMCompatible(mms[m].vmas[v]) {
                mms[m].vmas[v].flags.insert(.mergeable)
            }
        } else {
            guard mms[m].ksmMergeAny else { return nil }
            for v in mms[m].vmas.indices where mms[m].vmas[v].flags.contains(.mergeable) {
                _ = madviseUnmergeable(m, v, mms[m].vmas[v].start, mms[m].vmas[v].end)
            }
            mms[m].ksmMergeAny = false
        }
        check()
        return nil
    }

    /// Models __ksm_enter(): register the mm (at the tail of the scan order) once.
    mutating func ksmEnter(_ mm: MMID) {
        if !ksm.mms.contains(mm) { ksm.mms.append(mm) }
    }

    /// Models ksm_fork(): the child of a registered mm is registered too.
    /// The child's mm_struct is a copy of the parent's, mm->ksm_zero_pages included; a
    /// registered parent's count is added to ksm_zero_pages as it is, whatever fork copied
    /// (VM_DONTCOPY and VM_WIPEONFORK VMAs keep their KSM zero pages in the parent only, so
    /// the global count grows by more than the child maps: examples/ksm/zero-pages-fork.mms).
    mutating func ksmFork(parent: MMID, child: MMID) {
        mms[Int(child)].ksmZeroPages = mms[Int(parent)].ksmZeroPages
        mms[Int(child)].ksmMergeAny = mms[Int(parent)].ksmMergeAny
        if ksm.mms.contains(parent) {
            ksm.zeroPages += mms[Int(child)].ksmZeroPages
            ksmEnter(child)
        }
    }

    /// Models __ksm_exit(): an mm without rmap items leaves the scan list at once; one with
    /// items stays (and its items keep counting) until ksmd's next scan frees them.
    mutating func ksmExit(_ mm: MMID) {
        if !ksm.items.contains(where: { $0.mm == mm }) { ksm.mms.removeAll { $0 == mm } }
    }

    /// Models ksm_madvise(MADV_UNMERGEABLE) → unmerge_ksm_pages() for VMA `v` (split to the
    /// advised range by madviseUpdateFlags(), or a whole VMA for prctl): break every KSM page
    /// in [s, e) when the VMA has an anon_vma (an unsharing fault copies it), then clear
    /// VM_MERGEABLE.
    mutating func madviseUnmergeable(_ m: Int, _ v: Int, _ s: UInt64, _ e: UInt64) -> Errno? {
        guard mms[m].vmas[v].flags.contains(.mergeable) else { return nil }
        var a = s
        while a < e {
            guard let t = mms[m].pageTables.nextTable(a, e) else { break }   // absent tables skipped
            a = t
            let pte = mms[m].pageTables.pte(a)
            if let pfn = normalPage(pte), frames[pfn].flags.contains(.ksm) {
                let vma = mms[m].vmas[v]
                if ksmMapsAlias(m, vma, a, pfn), let ino = vma.inode {
                    // The file's page: its alias breaks (the file gets its own copy again).
                    _ = ksmBreakAlias(ino, vma.pgoff(of: a))
                } else {
                    breakKSM(m, v, a, pte)
                }
            } else if isKSMZeroPTE(pte) {
                // A KSM zero page: unsharing maps a fresh zeroed page.
                breakKSM(m, v, a, pte)
            }
            a += pageSize
        }
        // The rmap items stay (with their checksums and stable links) until a scan skips the
        // range, as the kernel's do.
        mms[m].vmas[v].flags.remove(.mergeable)
        return nil
    }

    /// Models break_ksm(): FAULT_FLAG_UNSHARE → wp_page_copy(): a private copy, still
    /// read-only, keeping soft-dirty and uffd-wp.
    mutating func breakKSM(_ m: Int, _ v: Int, _ a: UInt64, _ orig: PTE) {
        anonVMAPrepare(m, v)
        let old = normalPage(orig)
        let pfn = frames.alloc(token: old.map { frames[$0].token } ?? 0)
        costs.pageCopies += 1
        var entry = PTE.make(pfn: pfn, prot: pageProt(mms[m].vmas[v]))
        if orig.softDirty { entry = entry.with(PTE.softDirty) }
        if orig.uffdWP { entry = entry.mkUffdWP() }
        addNewAnonRmap(pfn, vma: mms[m].vmas[v], address: a)
        mms[m].rssAnon += 1
        mms[m].pageTables.set(a, entry)
        if let old {
            mms[m].rssAnon -= 1
            removeRmapAndPut(old)
        } else {
            ksmMightUnmapZeroPage(m, orig)
        }
    }

    /// Models is_ksm_zero_pte() in include/linux/ksm.h: KSM maps the zero page dirty, which
    /// no other path does.
    func isKSMZeroPTE(_ pte: PTE) -> Bool {
        pte.isPresent && pte.pfn == FrameTable.zeroPFN && pte.isDirty
    }

    /// Models ksm_might_unmap_zero_page() in include/linux/ksm.h: a KSM zero page leaves
    /// (zapped, or replaced by a copy on write).
    mutating func ksmMightUnmapZeroPage(_ m: Int, _ pte: PTE) {
        guard isKSMZeroPTE(pte) else { return }
        ksm.zeroPages -= 1
        mms[m].ksmZeroPages -= 1
    }

    /// Writes /sys/kernel/mm/ksm/use_zero_pages.
    public mutating func ksmSetUseZeroPages(_ on: Bool) { ksm.useZeroPages = on }

    /// Writes /sys/kernel/mm/ksm/run (1: start ksmd, 0: stop).
    public mutating func ksmSetRun(_ on: Bool) { ksm.run = on }

    /// Models `n` full scans of ksmd (ksm_do_scan() until ksm_scan.seqnr advances n times).
    /// Nothing happens while run is 0, nor while no mm is registered (ksmd_should_run()).
    public mutating func ksmScan(_ n: Int) {
        guard ksm.run, !ksm.mms.isEmpty else { return }
        for _ in 0..<max(0, n) where !ksm.mms.isEmpty { ksmFullScan() }
        check()
    }

    /// One full scan: every present anon page of every mergeable VMA with an anon_vma, in
    /// mm order then address order, through cmp_and_merge_page(); then the unstable tree is
    /// dropped (it is rebuilt from scratch every scan). With ksm.file_pages = on the
    /// page-cache pages of mergeable file VMAs are scanned too (a MAP_SHARED VMA has no
    /// anon_vma).
    mutating func ksmFullScan() {
        var unstableTree: [UInt64: Int] = [:]   // content → index of the item in ksm.items
        var seen: [Int] = []
        var unmergeable: [MMID] = []
        for mm in ksm.mms where mms[Int(mm)].alive {
            let m = Int(mm)
            var sawMergeable = false
            defer { if !sawMergeable { unmergeable.append(mm) } }
            // The mm's rmap_list as the scan starts: its items in address order, passed one by one.
            var earlier = KSMPassedItems(items: ksm.items.indices.filter { ksm.items[$0].mm == mm }
                .sorted { ksm.items[$0].address < ksm.items[$1].address })
            for v in mms[m].vmas.indices {
                let vma = mms[m].vmas[v]
                if vma.flags.contains(.mergeable) { sawMergeable = true }
                guard vma.flags.contains(.mergeable), vma.anonVMA != nil || (ksmMergesPageCache && vma.inode != nil)
                else { continue }
                var a = vma.start
                while a < vma.end {
                    guard let t = mms[m].pageTables.nextTable(a, vma.end) else { break }   // absent tables skipped
                    a = t
                    _ = mms[m].pageTables.walkTable(a)
                    defer { a += pageSize }
                    let pte = mms[m].pageTables.pte(a)
                    guard let pfn = normalPage(pte), frames[pfn].flags.contains(.anon)
                            || (ksmMergesPageCache && ksmFileCandidate(pfn) != nil) else { continue }
                    let i = ksmRmapItem(MMID(m), a)
                    seen.append(i)
                    ksmRemovePassedRmapItems(&earlier, below: a)
                    cmpAndMergePage(m, v, a, pfn, item: i, unstableTree: &unstableTree)
                }
            }
            ksmRemovePassedRmapItems(&earlier, below: UInt64.max)   // remove_trailing_rmap_items()
        }
        // Items whose page went away (unmapped, swapped, copied) left the trees above.
        ksm.items = ksm.items.enumerated().filter { seen.contains($0.offset) }.map(\.element)
        ksm.mms.removeAll { !mms[Int($0)].alive }
        // scan_get_next_rmap_item(): an mm in which the scan found no VM_MERGEABLE VMA leaves
        // the list (MMF_VM_MERGEABLE cleared, MMF_VM_MERGE_ANY kept); ksmd then stops when
        // the list is empty (ksmd_should_run()).
        ksm.mms.removeAll { unmergeable.contains($0) }
        // The unstable tree does not survive the scan; items that stayed there are "unshared".
        pruneStableTree()
        ksm.fullScans += 1
    }

    /// Models get_next_rmap_item() passing over (and remove_trailing_rmap_items() at the
    /// end of an mm): the mm's items below `address` that this scan did not reach — their
    /// page went away (zapped, unmapped, swapped, copied) — leave the trees as the scan
    /// passes them, so a KSM page they counted has room for another mapping at once, in the
    /// same scan (max_page_sharing).
    mutating func ksmRemovePassedRmapItems(_ earlier: inout KSMPassedItems, below address: UInt64) {
        while earlier.next < earlier.items.count, ksm.items[earlier.items[earlier.next]].address < address {
            let i = earlier.items[earlier.next]
            earlier.next += 1
            guard ksm.items[i].address != earlier.reached else { continue }
            ksm.items[i].stable = nil
            ksm.items[i].unstable = false
        }
        earlier.reached = address
    }

    /// The index of the rmap item for (mm, address), created on first sight.
    mutating func ksmRmapItem(_ mm: MMID, _ a: UInt64) -> Int {
        if let i = ksm.items.firstIndex(where: { $0.mm == mm && $0.address == a }) {
            ksm.items[i].unstable = false
            return i
        }
        ksm.items.append(KSMRmapItem(mm: mm, address: a))
        return ksm.items.count - 1
    }

    /// Models cmp_and_merge_page().
    mutating func cmpAndMergePage(_ m: Int, _ v: Int, _ a: UInt64, _ pfn: PFN, item i: Int,
                                  unstableTree: inout [UInt64: Int]) {
        // A KSM page with a stable node (a forked KSM page, or one already linked): link the
        // item to it, nothing more (stable_tree_search() returns the folio itself; a new link
        // says whether it is the file's page here or an anonymous page merged here). A KSM
        // page with a NULL stable node (try_to_merge_two_pages() made it KSM, then failed to
        // merge the tree's page and broke only its own item's COW; other mappings, the fork's,
        // still map it) goes the way of any other page, checksum and trees, where every merge
        // of it fails in write_protect_page().
        if frames[pfn].flags.contains(.ksm) && ksmHasStableNode(pfn) {
            if ksm.items[i].stable != pfn {
                let vma = mms[m].vmas[v]
                ksm.items[i].file = !ksm.aliases.isEmpty && vma.inode.map { ksmAlias($0, vma.pgoff(of: a)) == pfn } == true
            }
            ksm.items[i].stable = pfn
            return
        }
        ksm.items[i].stable = nil
        let checksum = frames[pfn].token   // calc_checksum(): the content decides
        guard ksm.items[i].oldChecksum == checksum else {
            ksm.items[i].oldChecksum = checksum   // changed since the last scan: not yet
            return
        }
        // A page-cache page (ksm.file_pages = on) is merged as its file's alias, and only
        // while its folio is eligible (clean, unpinned…): one that is not stays out of both trees.
        let file = frames.flags(pfn).contains(.anon) ? nil : ksmFileCandidate(pfn)
        ksm.items[i].file = file != nil
        if file != nil && !ksmFileFolioMergeable(pfn) { return }
        if ksm.useZeroPages && checksum == 0 && file == nil {
            if ksmReplaceWithZeroPage(m, v, a, pfn) { return }
        }
        // stable_tree_search(): a KSM page of this content with room for one more mapping; when
        // every one of them is full (max_page_sharing), the page goes on to the unstable tree
        // to make a new KSM page with another one (a new dup of the chain).
        if let kpage = stableNodeDup(checksum) {
            if file == nil {
                if ksmMergeInto(m, v, a, pfn, kpage) { ksm.items[i].stable = kpage }
            } else if let c = ksmFileMergeCheck(pfn) {
                ksmMergeFilePage(pfn, c, into: kpage)
                ksm.items[i].stable = kpage
            }
            return
        }
        // unstable_tree_search_insert()
        if let j = unstableTree[checksum], j != i {
            let other = ksm.items[j]
            let om = Int(other.mm)
            let opte = mms[om].pageTables.pte(other.address)
            guard let opfn = normalPage(opte), frames[opfn].token == checksum, opfn != pfn,
                  let ov = mms[om].vmaIndex(containing: other.address) else { return }
            // A page-cache page on either side is checked (and its PTEs found) before anything
            // changes, so that a failed check leaves both pages as they were.
            let isFile = !frames.flags(opfn).contains(.anon) && ksmFileCandidate(opfn) != nil
            let theirs = isFile ? ksmFileMergeCheck(opfn) : nil
            if isFile && theirs == nil { return }
            var mine: (inode: InodeID, index: UInt64, hits: [RmapHit])? = nil
            if file != nil {
                guard let c = ksmFileMergeCheck(pfn) else { return }
                mine = c
            }
            // try_to_merge_two_pages(): this page becomes the KSM page, the tree's page maps it.
            if let mine {
                ksmPromoteFilePage(pfn, mine)
            } else {
                guard ksmWriteProtectPage(m, a, pfn) else { return }
                frames[pfn].flags.insert(.ksm)
            }
            var merged = true
            if let theirs {
                ksmMergeFilePage(opfn, theirs, into: pfn)
            } else {
                merged = ksmMergeInto(om, ov, other.address, opfn, pfn)
            }
            guard merged else {
                // The tree's page could not be merged (pinned, or referenced beyond its
                // mappings): "we have a ksm folio with only one pte pointing to it", so
                // break_cow() breaks it at once, and nothing enters the stable tree (a
                // page-cache page that became the KSM page gets its file's page back).
                if let mine { _ = ksmBreakAlias(mine.inode, mine.index) } else { breakKSM(m, v, a, mms[m].pageTables.pte(a)) }
                return
            }
            ksm.stable[checksum, default: []].insert(pfn, at: 0)   // stable_tree_insert()
            ksm.items[i].stable = pfn
            ksm.items[j].stable = pfn
            ksm.items[j].unstable = false
            unstableTree.removeValue(forKey: checksum)
            return
        }
        unstableTree[checksum] = i
        ksm.items[i].unstable = true
    }

    /// Whether KSM page `pfn` has a stable node (folio_stable_node() is not NULL).
    func ksmHasStableNode(_ pfn: PFN) -> Bool {
        ksm.stable[frames[pfn].token]?.contains(pfn) == true
    }

    /// Models write_protect_page(): refuse pages with extra references; make the PTE
    /// read-only and clean (moving dirty into the folio); the page is no longer exclusive.
    /// A KSM folio is refused with -EFAULT: page_address_in_vma() finds no anon_vma for it
    /// (folio_anon_vma() is NULL when the mapping's flags say KSM), so a page that
    /// try_to_merge_two_pages() made KSM and then left with a NULL stable node can never be
    /// merged again, as the scanned page or as the tree's page.
    mutating func ksmWriteProtectPage(_ m: Int, _ a: UInt64, _ pfn: PFN) -> Bool {
        guard !frames[pfn].flags.contains(.ksm) else { return false }
        let swapcache: UInt16 = frames[pfn].flags.contains(.swapcache) ? 1 : 0
        guard frames[pfn].refcount == frames[pfn].mapcount + swapcache else { return false }
        let pte = mms[m].pageTables.pte(a)
        if pte.isDirty { frames[pfn].flags.insert(.dirty) }
        if pte.isWritable || pte.isDirty {
            mms[m].pageTables.set(a, pte.without(PTE.rw | PTE.dirty))
            costs.pteWrites += 1
            costs.tlbFlushes += 1
        }
        frames[pfn].flags.remove(.anonExclusive)
        return true
    }

    /// Models try_to_merge_one_page() with a KSM page: write-protect `pfn`, then
    /// replace_page(): a fresh read-only, clean PTE for `kpage`, mk_pte(kpage, vm_page_prot),
    /// which has neither the uffd-wp nor the soft-dirty bit of the PTE it replaces (6.18: a
    /// later store to a uffd-wp protected page COWs without a wp fault; see
    /// ksmReplacementPTE()).
    mutating func ksmMergeInto(_ m: Int, _ v: Int, _ a: UInt64, _ pfn: PFN, _ kpage: PFN) -> Bool {
        guard pfn != kpage, ksmWriteProtectPage(m, a, pfn) else { return false }
        let old = mms[m].pageTables.pte(a)
        let entry = ksmReplacementPTE(PTE.make(pfn: kpage, prot: pageProt(mms[m].vmas[v])), replacing: old)
        addRmap(kpage)
        mms[m].pageTables.set(a, entry)
        costs.pteWrites += 1
        costs.tlbFlushes += 1
        replacedFolioPut(pfn)
        return true
    }

    /// The end of replace_page(): folio_remove_rmap_pte() of the page replaced, then
    /// folio_free_swap() once it is mapped nowhere (a page swapped in and merged does not
    /// stay in the swap cache, holding its slot), then folio_put(). A freed frame is memory
    /// KSM saved (costs.ksmFramesFreed).
    mutating func replacedFolioPut(_ pfn: PFN) {
        let left = frames.removeMapping(pfn)
        if left == 0 { freeFolio(pfn) } else if frames[pfn].mapcount == 0 { folioFreeSwap(pfn) }
        if !frames.isAllocated(pfn) { costs.ksmFramesFreed += 1 }
    }

    /// The PTE replace_page() installs, given the one it replaces (after write_protect_page(),
    /// which kept uffd-wp and soft-dirty). Under 6.18 (`design ksm.uffd_wp = drop`) the new
    /// PTE is built from vm_page_prot alone: uffd-wp and soft-dirty are gone. Under `keep`
    /// (the fix, docs/designs.md) both are carried over, as break_ksm()'s copy and
    /// wp_page_copy() already do.
    func ksmReplacementPTE(_ new: PTE, replacing orig: PTE) -> PTE {
        guard design.ksmUffdWP == .keep else { return new }
        var e = new
        if orig.uffdWP { e = e.mkUffdWP() }
        if orig.softDirty { e = e.with(PTE.softDirty) }
        return e
    }

    /// Models the use_zero_pages branch of replace_page(): the PTE points at the zero page,
    /// special and dirty (pte_mkdirty() sets soft-dirty too, where configured).
    mutating func ksmReplaceWithZeroPage(_ m: Int, _ v: Int, _ a: UInt64, _ pfn: PFN) -> Bool {
        guard ksmWriteProtectPage(m, a, pfn) else { return false }
        let old = mms[m].pageTables.pte(a)
        let entry = ksmReplacementPTE(PTE.make(pfn: FrameTable.zeroPFN, prot: pageProt(mms[m].vmas[v])).with(PTE.special)
            .mkdirty(softDirtyConfigured: config.memSoftDirty), replacing: old)
        mms[m].pageTables.set(a, entry)
        costs.pteWrites += 1
        mms[m].rssAnon -= 1
        replacedFolioPut(pfn)
        ksm.zeroPages += 1
        mms[m].ksmZeroPages += 1
        return true
    }

    /// Models stable_node_dup() / __stable_node_chain() in mm/ksm.c.
    /// Of the live KSM pages of `content`, the one with the most rmap items (and aliases,
    /// under ksm.file_pages = on) that is still a page-sharing candidate (fewer than
    /// max_page_sharing); the first found wins a tie, and the dups are walked newest first.
    /// nil: none, or all full.
    func stableNodeDup(_ content: UInt64) -> PFN? {
        guard let dups = ksm.stable[content] else { return nil }
        var found: PFN? = nil
        var foundLen = -1
        for kpage in dups where frames.isAllocated(kpage) && frames[kpage].flags.contains(.ksm) && frames[kpage].token == content {
            let len = ksm.items.reduce(0) { $0 + ($1.stable == kpage ? 1 : 0) }   // rmap_hlist_len
                + ksm.aliases.reduce(0) { $0 + ($1.kpage == kpage ? 1 : 0) }
            if len < ksm.maxPageSharing && len > foundLen {
                found = kpage
                foundLen = len
            }
        }
        return found
    }

    /// Drops stable-tree entries whose KSM page is gone.
    mutating func pruneStableTree() {
        for (content, dups) in ksm.stable.sorted(by: { $0.key < $1.key }) {
            let live = dups.filter { frames.isAllocated($0) && frames[$0].flags.contains(.ksm) && frames[$0].token == content }
            if live.isEmpty { ksm.stable.removeValue(forKey: content) } else if live != dups { ksm.stable[content] = live }
        }
    }

    /// Models max_page_sharing_store() in mm/ksm.c.
    /// At least 2; changing it needs a stable tree without KSM pages (EBUSY otherwise).
    public mutating func ksmSetMaxPageSharing(_ n: Int) -> Errno? {
        guard n >= 2 else { return .EINVAL }
        if n == ksm.maxPageSharing { return nil }
        if ksm.items.contains(where: { $0.stable != nil }) || !ksm.aliases.isEmpty { return .EBUSY }   // ksm_pages_shared
        ksm.stable = [:]                                                       // remove_all_stable_nodes()
        ksm.maxPageSharing = n
        return nil
    }

    /// The /sys/kernel/mm/ksm counters, as the kernel derives them from its rmap items. A
    /// KSM page's sites are its anonymous rmap items and its aliases (ksm.file_pages = on: one
    /// per file, however many PTEs map it): pages_shared counts the KSM pages with a site,
    /// pages_sharing the sites beyond the first of each (what merging saved, as for anonymous
    /// pages); general_profit also pays 48 bytes per alias.
    public var ksmCounters: [(String, Int64)] {
        let stableItems = ksm.items.filter { $0.stable != nil }
        var kpages: [PFN] = []
        var sites: [Int] = []
        func site(_ k: PFN, _ n: Int) {
            if let i = kpages.firstIndex(of: k) { sites[i] += n } else { kpages.append(k); sites.append(n) }
        }
        for it in stableItems { site(it.stable!, it.file ? 0 : 1) }
        for al in ksm.aliases { site(al.kpage, 1) }
        let shared = kpages.count
        let sharing = sites.reduce(0) { $0 + max($1 - 1, 0) }
        let unshared = ksm.items.filter { $0.unstable }.count
        let volatile = ksm.items.count - stableItems.count - unshared
        let profit = Int64(sharing + ksm.zeroPages) * Int64(pageSize) - Int64(ksm.items.count * ksmRmapItemSize)
            - Int64(ksm.aliases.count * pageAliasSize)
        return [("pages_shared", Int64(shared)), ("pages_sharing", Int64(sharing)), ("pages_unshared", Int64(unshared)),
                ("pages_volatile", Int64(volatile)), ("full_scans", Int64(ksm.fullScans)),
                ("ksm_zero_pages", Int64(ksm.zeroPages)), ("general_profit", profit)]
    }
}
