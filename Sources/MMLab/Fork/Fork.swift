// SPDX-License-Identifier: Apache-2.0
//
// fork() and exit() of an address space: dup_mmap() (mm/mmap.c), copy_page_range()
// (mm/memory.c copy_pte_range(), copy_present_ptes(), copy_nonpresent_pte()) and
// exit_mmap().

extension Kernel {
    /// Models dup_mmap(): the child gets a copy of every VMA; page tables are copied only
    /// where vma_needs_copy() says so (anon_vma present, or the child VMA is uffd-wp).
    public mutating func fork(_ parentID: MMID, childName: String) -> MMID {
        switch perform(.fork(parentID, childName: childName)) {
        case .handle(let child): return child
        default: return MMID(mms.count - 1)
        }
    }

    /// One step of fork(2): dup_mmap() under the parent's mmap_lock (write), then
    /// dup_userfaultfd_complete() queues a FORK event per parent context that wants one and
    /// waits until each is read (the next steps).
    mutating func forkStep(_ task: inout SyscallTask, _ parent: MMID, childName: String) -> StepResult {
        if case .events = task.progress { return waitForEvents(&task) }
        let (child, forked) = forkWithUffd(parent, childName: childName)
        var pending: [WaitID] = []
        for (p, childCtx) in forked { pending.append(queueEvent(p, UffdMessage(event: .fork, forkChild: childCtx))) }
        task.progress = .events(pending: pending, result: .handle(child))
        return waitForEvents(&task)
    }

    /// Models dup_mmap() with dup_userfaultfd(): a context with UFFD_FEATURE_EVENT_FORK gets a
    /// copy for the child (same features), which keeps the registrations and uffd-wp state;
    /// without the feature the child's VMAs lose them. Returns the (parent ctx, child ctx)
    /// pairs whose FORK events dup_userfaultfd_complete() must deliver.
    public mutating func forkWithUffd(_ parentID: MMID, childName: String) -> (child: MMID, forked: [(UffdID, UffdID)]) {
        let child = createProcess(name: childName)
        let p = Int(parentID), c = Int(child)
        var forked: [(UffdID, UffdID)] = []
        for src in mms[p].vmas {
            if src.flags.contains(.dontCopy) { continue }          // MADV_DONTFORK
            var dst = src                                           // vm_area_dup()
            dst.flags.remove(.locked)
            if let u = src.uffd, let f = uffds[Int(u)].features, f.contains(.eventFork) {
                if let pair = forked.first(where: { $0.0 == u }) {
                    dst.uffd = pair.1
                } else {
                    let nu = userfaultfdCreate(child)
                    uffds[Int(nu)].features = f
                    forked.append((u, nu))
                    dst.uffd = nu
                }
            } else {
                dst.flags.subtract(VMFlags.uffdFlags)                // userfaultfd_reset_ctx()
                dst.uffd = nil
            }
            if src.flags.contains(.wipeOnFork) {
                // No anon_vma and no page tables: zero-filled on the next touch.
                dst.anonVMA = nil
                dst.anonVMAChain = []
                mms[c].vmas.append(dst)
                continue
            }
            if src.anonVMA != nil {
                // anon_vma_fork(): link to the parent's chain, plus an anon_vma of its own.
                let av = allocAnonVMA()
                dst.anonVMA = av
                dst.anonVMAChain = src.anonVMAChain + [av]
            }
            mms[c].vmas.append(dst)
            if vmaNeedsCopy(dst: dst, src: src) {
                copyPageRange(dstMM: c, dst: dst, srcMM: p, src: src)
            }
        }
        ksmFork(parent: parentID, child: child)
        check()
        return (child, forked)
    }

    /// Models vma_needs_copy().
    func vmaNeedsCopy(dst: VMA, src: VMA) -> Bool {
        if dst.flags.contains(.uffdWP) { return true }
        if !src.flags.intersection([.pfnmap, .mixedMap]).isEmpty { return true }
        return src.anonVMA != nil
    }

    /// Models copy_pte_range() for one VMA.
    mutating func copyPageRange(dstMM c: Int, dst: VMA, srcMM p: Int, src: VMA) {
        var a = src.start
        // copy_pmd_range() skips pmd_none() entries (and absent upper levels).
        while let t = mms[p].pageTables.nextTable(a, src.end) {
            a = t
            let tableEnd = min(src.end, (a | (pmdSize - 1)) &+ 1)
            // pte_alloc_map_lock(dst_mm): the child gets the table for every PMD the parent
            // has one in, even if it copies no PTE into it (PAGEMAP_SCAN tells none from hole).
            _ = mms[c].pageTables.allocSlot(a)
            while a < tableEnd {
                let pte = mms[p].pageTables.pte(a)
                costs.pteReads += 1
                if pte.isPresent && pte.raw & PTE.pse != 0 && dst.anonVMA == nil {
                    // copy_huge_pmd()/copy_huge_pud(): a huge entry of a non-anonymous VMA is
                    // not copied; the child refaults it ("Skip if can be re-fill on fault").
                } else if !pte.isNone {
                    if pte.isPresent {
                        copyPresentPTE(c, dst, p, src, a, pte)
                    } else {
                        copyNonpresentPTE(c, dst, p, src, a, pte)
                    }
                }
                a += pageSize
            }
        }
        costs.tlbFlushes += 1
    }

    /// Models copy_present_ptes() → __copy_present_ptes() for one PTE.
    mutating func copyPresentPTE(_ c: Int, _ dst: VMA, _ p: Int, _ src: VMA, _ a: UInt64, _ orig: PTE) {
        var pte = orig
        if let pfn = normalPage(pte) {
            if frames[pfn].flags.contains(.anon) && frames[pfn].flags.contains(.anonExclusive) && folioMaybeDMAPinned(pfn) {
                // folio_try_dup_anon_rmap_pte() refuses a maybe-pinned exclusive page:
                // copy_present_page() gives the child its own copy now; the parent's PTE stays
                // as it is (writable), so the pinned page is never shared.
                copyPresentPage(c, dst, a, from: pfn, orig: orig)
                return
            }
            if frames[pfn].flags.contains(.anon) {
                // folio_try_dup_anon_rmap_pte(): the page is now shared.
                frames[pfn].flags.remove(.anonExclusive)
                mms[c].rssAnon += 1
            } else {
                mms[c].rssShmem += 1
            }
            addRmap(pfn)
        }
        // A COW mapping is write-protected in both processes.
        if src.isCOWMapping && pte.isWritable {
            mms[p].pageTables.set(a, pte.without(PTE.rw))
            costs.pteWrites += 1
            pte = pte.without(PTE.rw)
        }
        if src.flags.contains(.shared) { pte = pte.without(PTE.dirty) }   // pte_mkclean()
        pte = pte.without(PTE.accessed)                                     // pte_mkold()
        if !dst.flags.contains(.uffdWP) { pte = pte.without(PTE.uffdWP) }
        mms[c].pageTables.set(a, pte)
        costs.pteWrites += 1
    }

    /// Models copy_present_page(): a new anon page for the child with the parent's contents,
    /// exclusive to the child, mapped as the parent's PTE was (writable if it was).
    mutating func copyPresentPage(_ c: Int, _ dst: VMA, _ a: UInt64, from pfn: PFN, orig: PTE) {
        let copy = frames.alloc(token: frames[pfn].token)
        costs.pageCopies += 1
        addNewAnonRmap(copy, vma: dst, address: a)   // the child's VMA has its anon_vma (anon_vma_fork())
        mms[c].rssAnon += 1
        var pte = PTE.make(pfn: copy, prot: pageProt(dst))
        if orig.isWritable { pte = pte.with(PTE.rw) }
        if orig.isDirty { pte = pte.with(PTE.dirty) }
        if orig.softDirty { pte = pte.with(PTE.softDirty) }
        if orig.uffdWP && dst.flags.contains(.uffdWP) { pte = pte.mkUffdWP() }
        mms[c].pageTables.set(a, pte)
        costs.pteWrites += 1
    }

    /// Models copy_nonpresent_pte(): swap entries are shared (the parent's loses its
    /// exclusive bit), markers are copied as copy_pte_marker() decides.
    mutating func copyNonpresentPTE(_ c: Int, _ dst: VMA, _ p: Int, _ src: VMA, _ a: UInt64, _ orig: PTE) {
        var pte = orig
        let e = orig.swapEntry
        if e.isRealSwap {
            swapDuplicate(e)
            mms[c].swapEntries += 1
            if orig.swpExclusive {
                pte = orig.without(PTE.swpExclusive)
                mms[p].pageTables.set(a, pte)
                costs.pteWrites += 1
            }
            if !dst.flags.contains(.uffdWP) { pte = pte.without(PTE.swpUffdWP) }
        } else if let marker = orig.marker {
            // copy_pte_marker(): poison and guard always; uffd-wp only into a uffd-wp VMA.
            var keep = marker.intersection([.poisoned, .guard_])
            if marker.contains(.uffdWP) && dst.flags.contains(.uffdWP) { keep.insert(.uffdWP) }
            guard !keep.isEmpty else { return }
            pte = keep.pte
        }
        mms[c].pageTables.set(a, pte)
        costs.pteWrites += 1
    }

    /// Models exit_mmap(): unmap every VMA (ZAP_FLAG_DROP_MARKER, even COWs), free the
    /// page tables, and release files no one maps any more.
    public mutating func exitMM(_ mmID: MMID) {
        let m = Int(mmID)
        guard mms[m].alive else { return }
        lruAddDrain()   // exit_mmap()
        var inodesSeen: [InodeID] = []
        for vma in mms[m].vmas {
            zapPTERange(m, vma: vma, vma.start, vma.end, details: ZapDetails(evenCOWs: true, dropMarkers: true), clear: false)
            if let ino = vma.inode, !inodesSeen.contains(ino) { inodesSeen.append(ino) }
        }
        mms[m].vmas = []
        mms[m].pageTables = PageTables()
        mms[m].alive = false
        releasePins(of: mmID)
        ksmExit(mmID)
        for ino in inodesSeen { releaseInodeIfUnused(ino) }
        check()
    }
}
