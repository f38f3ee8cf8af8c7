// SPDX-License-Identifier: Apache-2.0
//
// The userfaultfd ioctls: UFFDIO_REGISTER / UNREGISTER (fs/userfaultfd.c), UFFDIO_COPY,
// ZEROPAGE, CONTINUE, POISON (mm/userfaultfd.c mfill_atomic()), UFFDIO_WRITEPROTECT
// (mwriteprotect_range() → uffd_wp_range()) and UFFDIO_WAKE.

extension Kernel {
    /// Models vma_can_userfault().
    func vmaCanUserfault(_ vma: VMA, _ flags: VMFlags, wpAsync: Bool) -> Bool {
        if flags.contains(.uffdMinor) && vma.isAnonymous { return false }   // MINOR: shmem/hugetlb only
        if wpAsync && flags == .uffdWP { return true }
        if vmaIsGuestMemfd(vma) || vmaIsDax(vma) { return false }   // not anon, shmem or hugetlb
        return true   // anon or shmem: every VMA the model has
    }

    /// Models userfaultfd_register().
    public mutating func uffdRegister(_ u: UffdID, start: UInt64, length: UInt64, mode: UffdRegisterMode) -> Errno? {
        guard let features = uffds[Int(u)].features else { return .EINVAL }
        guard !mode.isEmpty, start & (pageSize - 1) == 0, length > 0, length & (pageSize - 1) == 0 else { return .EINVAL }
        let m = Int(uffds[Int(u)].mm)
        let end = start + length
        let newFlags = mode.vmFlags
        // Search for incompatible VMAs first: nothing changes if one is found.
        var found = false
        for vma in mms[m].vmas where vma.end > start && vma.start < end {
            found = true
            if !vmaCanUserfault(vma, newFlags, wpAsync: features.contains(.wpAsync)) { return .EINVAL }
            if !vma.flags.contains(.mayWrite) { return .EPERM }
            if let other = vma.uffd, other != u { return .EBUSY }
        }
        guard found else { return .EINVAL }
        let r = isolateRange(m, start, end)
        for v in r {
            var vma = mms[m].vmas[v]
            if vma.uffd == u && vma.flags.isSuperset(of: newFlags) { continue }
            // Re-registering replaces the mode set; it does not OR into it.
            vma.flags.subtract(VMFlags.uffdFlags)
            vma.flags.formUnion(newFlags)
            vma.uffd = u
            mms[m].vmas[v] = vma   // vma_set_page_prot(): WP now needs write-notify
        }
        if !r.isEmpty { mergeVMAs(m, around: r.lowerBound...(r.upperBound - 1)) }
        check()
        return nil
    }

    /// Models userfaultfd_unregister(): wake the waiters of a MISSING VMA, clear uffd-wp
    /// state, drop the flags.
    public mutating func uffdUnregister(_ u: UffdID, start: UInt64, length: UInt64) -> Errno? {
        guard uffds[Int(u)].initialized else { return .EINVAL }
        guard start & (pageSize - 1) == 0, length > 0, length & (pageSize - 1) == 0 else { return .EINVAL }
        let m = Int(uffds[Int(u)].mm)
        let end = start + length
        let wpAsync = uffds[Int(u)].features?.contains(.wpAsync) ?? false
        var found = false
        for vma in mms[m].vmas where vma.end > start && vma.start < end {
            found = true
            // Not through another userfaultfd; and vma_can_userfault() with the VMA's own
            // flags: an unregistered guest_memfd VMA is EINVAL even for WP_ASYNC.
            if let other = vma.uffd, other != u { return .EINVAL }
            if !vmaCanUserfault(vma, vma.flags.intersection(VMFlags.uffdFlags), wpAsync: wpAsync) { return .EINVAL }
        }
        guard found else { return .EINVAL }
        let r = isolateRange(m, start, end)
        for v in r where mms[m].vmas[v].uffd == u {
            let vma = mms[m].vmas[v]
            if vma.flags.contains(.uffdWP) { uffdWPRange(m, v, vma.start, vma.end, enable: false) }
            noteWriteProtect(m, vma.start, vma.end, protect: false)
            // Only a MISSING registration wakes the faults pending in it (a WP or MINOR one
            // leaves them asleep until UFFDIO_WAKE).
            if vma.flags.contains(.uffdMissing) { wakeUserfault(u, vma.start, vma.end) }
            mms[m].vmas[v].flags.subtract(VMFlags.uffdFlags)
            mms[m].vmas[v].uffd = nil
        }
        if !r.isEmpty { mergeVMAs(m, around: r.lowerBound...(r.upperBound - 1)) }
        check()
        return nil
    }

    /// Models UFFDIO_WAKE.
    public mutating func uffdWake(_ u: UffdID, start: UInt64, length: UInt64) -> Errno? {
        guard uffds[Int(u)].initialized else { return .EINVAL }
        guard start & (pageSize - 1) == 0, length > 0 else { return .EINVAL }
        wakeUserfault(u, start, start + length)
        return nil
    }

    /// Models UFFDIO_WRITEPROTECT → mwriteprotect_range().
    public mutating func uffdWriteProtect(_ u: UffdID, start: UInt64, length: UInt64, protect: Bool,
                                          dontwake: Bool) -> Errno? {
        // mwriteprotect_range(): VMA by VMA over the range, holes skipped; the first VMA not
        // registered for wp stops the walk with ENOENT, keeping what was already changed; no
        // VMA at all is ENOENT too. Which userfaultfd registered a VMA is not checked. The
        // walk is the stepped task `explore` interleaves, run to its end.
        performForError(.uffdWriteProtect(u, address: start, length: length, protect: protect, dontwake: dontwake))
    }

    /// The argument checks of userfaultfd_writeprotect() before the walk.
    func uffdWriteProtectCheck(_ u: UffdID, start: UInt64, end: UInt64, protect: Bool, dontwake: Bool) -> Errno? {
        guard Int(u) < uffds.count, uffds[Int(u)].initialized else { return .EINVAL }
        guard start & (pageSize - 1) == 0, end > start, end & (pageSize - 1) == 0 else { return .EINVAL }
        if protect && dontwake { return .EINVAL }   // MODE_WP and MODE_DONTWAKE together
        let m = Int(uffds[Int(u)].mm)
        guard mms[m].alive else { return .ESRCH }
        if uffds[Int(u)].mmapChanging > 0 { return .EAGAIN }
        return nil
    }

    /// Models uffd_wp_range() → change_protection(MM_CP_UFFD_WP[_RESOLVE]) over one VMA:
    /// present PTEs get or lose the uffd-wp bit, swap PTEs the swap uffd-wp bit; none PTEs get
    /// markers when the VMA uses them; unprotect turns uffd-wp markers back into none PTEs.
    mutating func uffdWPRange(_ m: Int, _ v: Int, _ start: UInt64, _ end: UInt64, enable: Bool, flush: Bool = true) {
        let vma = mms[m].vmas[v]
        let useMarkers = enable && uffdWPUseMarkers(vma)
        let tryWritable = !enable && vma.flags.contains(.write) && vmaWantsManualPTEWriteUpgrade(vma)
        var a = start
        while a < end {
            // Without markers to install, change_pmd_range() skips pmd_none() entries (and
            // absent upper levels); with them it allocates the tables (change_pmd_prepare()).
            if !useMarkers {
                guard let t = mms[m].pageTables.nextTable(a, end) else { break }
                a = t
            }
            let pte = mms[m].pageTables.pte(a)
            costs.pteReads += 1
            var new = pte
            if pte.isPresent {
                if enable {
                    new = pte.mkUffdWP()
                } else {
                    new = pte.without(PTE.uffdWP)
                    if tryWritable && canChangePTEWritable(vma, new) { new = new.with(PTE.rw) }
                }
            } else if let marker = pte.marker {
                if !enable && marker.contains(.uffdWP) {
                    let rest = marker.subtracting(.uffdWP)
                    new = rest.isEmpty ? .none : rest.pte
                }
            } else if pte.isSwapPTE {
                new = enable ? pte.with(PTE.swpUffdWP) : pte.without(PTE.swpUffdWP)
            } else if useMarkers {
                new = PTEMarker.uffdWP.pte   // a none PTE: install a marker (allocating the table)
            }
            if new != pte {
                mms[m].pageTables.set(a, new)
                costs.pteWrites += 1
            }
            a += pageSize
        }
        if flush { costs.tlbFlushes += 1 }
    }

    /// Models mfill_atomic() for UFFDIO_COPY, ZEROPAGE, CONTINUE and POISON over
    /// [start, start+length): one page at a time; an error after some pages were filled
    /// returns EAGAIN (the partial count goes to the result field), as the ioctls do.
    public mutating func uffdMfill(_ u: UffdID, start: UInt64, length: UInt64, mode: MfillMode, wp: Bool,
                                   dontwake: Bool) -> Errno? {
        // The stepped task `explore` interleaves (one page per step), run to its end.
        performForError(.uffdMfill(u, address: start, length: length, mode: mode, wp: wp, dontwake: dontwake))
    }

    /// The checks of mfill_atomic() before the first page: the destination must lie inside
    /// one registered VMA; MODE_WP needs a wp-registered VMA; the VMA must be anonymous or
    /// shmem, and for CONTINUE shmem.
    mutating func uffdMfillCheck(_ u: UffdID, start: UInt64, end: UInt64, mode: MfillMode, wp: Bool) -> Errno? {
        guard Int(u) < uffds.count, uffds[Int(u)].features != nil else { return .EINVAL }
        // UFFD_FEATURE_POISON only advertises UFFDIO_POISON; the ioctl does not check it.
        guard start & (pageSize - 1) == 0, end > start, end & (pageSize - 1) == 0 else { return .EINVAL }
        let m = Int(uffds[Int(u)].mm)
        guard mms[m].alive else { return .ESRCH }   // mmget_not_zero() failed
        if uffds[Int(u)].mmapChanging > 0 { return .EAGAIN }
        guard let v = mms[m].vmaIndex(containing: start) else { return .ENOENT }
        // uffd_mfill_lock() → find_vma_and_prepare_anon(): a private VMA gets its anon_vma
        // at the lookup, before any check can fail (fork then copies its page tables).
        if !mms[m].vmas[v].flags.contains(.shared) { anonVMAPrepare(m, v) }
        guard mms[m].vmas[v].end >= end, mms[m].vmas[v].uffd != nil else { return .ENOENT }
        let vma = mms[m].vmas[v]
        if wp && !vma.flags.contains(.uffdWP) { return .EINVAL }
        // Neither anonymous nor shmem (a guest_memfd registered WP under WP_ASYNC, a device):
        // mfill_atomic() has no way to fill it.
        if vmaIsGuestMemfd(vma) || vmaIsDax(vma) { return .EINVAL }
        if mode == .continue && vma.inode == nil { return .EINVAL }
        return nil
    }

    /// One step of mfill_atomic(): the checks with the first page, then one page per step
    /// (each under its PTE lock, mmap_lock held for read throughout); the wake of the pages
    /// filled ends the last step. An error after some pages were filled returns EAGAIN.
    mutating func mfillStep(_ task: inout SyscallTask, _ u: UffdID, start: UInt64, end: UInt64, mode: MfillMode,
                            wp: Bool, dontwake: Bool) -> StepResult {
        var done: Int? = nil
        if case .mfill(let d) = task.progress { done = d }
        if done == nil, let e = uffdMfillCheck(u, start: start, end: end, mode: mode, wp: wp) { return .finished(.errno(e)) }
        let n = done ?? 0
        let m = Int(uffds[Int(u)].mm)
        let a = start + UInt64(n) << pageShift
        var err: Errno? = nil
        if let v = mms[m].vmaIndex(containing: a) {
            // mm_alloc_pmd() and __pte_alloc() come first, for every page tried: the PTE table
            // stays when the fill then fails (EEXIST on a page-cache page already there), and
            // PAGEMAP_SCAN tells its none PTEs (written) from a hole.
            if !mms[m].vmas[v].flags.contains(.hugetlb) { _ = mms[m].pageTables.allocSlot(a) }
            err = mfillAtomicPTE(m, v, a, index: n, mode: mode, wp: wp)
        } else {
            err = .ENOENT
        }
        let filled = err == nil ? n + 1 : n
        if err == nil && a + pageSize < end {
            task.progress = .mfill(done: filled)
            return .running
        }
        if filled > 0 && !dontwake { wakeUserfault(u, start, start + UInt64(filled) << pageShift) }
        check()
        if let err { return .finished(.errno(filled > 0 ? .EAGAIN : err)) }
        return .finished(.ok)
    }

    /// What the next step of an mfill reads and writes: one page under its PTE lock (and its
    /// page-cache slot for shmem), mmap_lock held for read; the last step wakes the faults
    /// waiting on the filled range (conflicts with all).
    func mfillFootprint(_ task: SyscallTask) -> Footprint {
        guard case .uffdMfill(let u, let start, let length, _, _, let dontwake) = task.call else { return Footprint(writes: [.global]) }
        guard Int(u) < uffds.count else { return Footprint(writes: [.global]) }
        var done = 0
        if case .mfill(let d) = task.progress { done = d }
        let end = start &+ length
        let mm = uffds[Int(u)].mm, m = Int(mm)
        let a = start + UInt64(done) << pageShift
        var f = Footprint(reads: [.vmas(mm: mm)], writes: [.pte(mm: mm, page: a >> pageShift)])
        if mms[m].alive, let v = mms[m].vmaIndex(containing: a), let ino = mms[m].vmas[v].inode {
            f.writes.append(.pageCache(inode: ino, index: mms[m].vmas[v].pgoff(of: a)))
        }
        if mms[m].alive, mms[m].vmaIndex(containing: a).map({ mms[m].vmas[$0].inode == nil }) ?? false { f.writes.append(.anonMemory) }
        if a + pageSize >= end && !dontwake { f.writes.append(.global) }
        return f
    }

    /// One page of mfill_atomic(): mfill_atomic_pte_copy / _zeropage / _continue / _poison.
    mutating func mfillAtomicPTE(_ m: Int, _ v: Int, _ a: UInt64, index: Int, mode: MfillMode, wp: Bool) -> Errno? {
        let vma = mms[m].vmas[v]
        let pte = mms[m].pageTables.pte(a)
        costs.pteReads += 1
        // COPY and CONTINUE may overwrite a marker (pte_none_mostly); ZEROPAGE and POISON need none.
        let noneMostly = pte.isNone || pte.marker != nil
        let shared = vma.flags.contains(.shared)
        switch mode {
        case .copy(let base, let seq):
            let token = seq ? base &+ UInt64(index) : base
            guard noneMostly else { return .EEXIST }
            if shared, let ino = vma.inode {
                // shmem_mfill_atomic_pte(): a new page-cache page.
                let index = vma.pgoff(of: a)
                guard index < inodes[Int(ino)].sizeInPages else { return .EFAULT }
                guard inodes[Int(ino)].pages[index].isEmpty else { return .EEXIST }
                let pfn = frames.alloc(token: token)
                costs.pageCopies += 1
                shmemAddToPageCache(pfn, ino, index)
                frames[pfn].flags.insert(.dirty)
                installMfillPTE(m, v, a, pfn, writable: vma.flags.contains(.write), wp: wp, anon: false)
            } else {
                anonVMAPrepare(m, v)
                let pfn = frames.alloc(token: token)
                costs.pageCopies += 1
                addNewAnonRmap(pfn, vma: mms[m].vmas[v], address: a)
                mms[m].rssAnon += 1
                installMfillPTE(m, v, a, pfn, writable: vma.flags.contains(.write), wp: wp, anon: true)
            }
        case .zeropage:
            // Shared shmem goes through shmem_mfill_atomic_pte() → mfill_atomic_install_pte(),
            // which may replace a marker; mfill_atomic_pte_zeropage() (private) needs pte_none().
            guard shared && vma.inode != nil ? noneMostly : pte.isNone else { return .EEXIST }
            if shared, let ino = vma.inode {
                let index = vma.pgoff(of: a)
                guard index < inodes[Int(ino)].sizeInPages else { return .EFAULT }
                guard inodes[Int(ino)].pages[index].isEmpty else { return .EEXIST }
                let pfn = frames.alloc(token: 0)
                costs.pageZeroings += 1
                shmemAddToPageCache(pfn, ino, index)
                installMfillPTE(m, v, a, pfn, writable: vma.flags.contains(.write), wp: false, anon: false)
            } else {
                let entry = PTE.make(pfn: FrameTable.zeroPFN, prot: pageProt(vma)).with(PTE.special)
                mms[m].pageTables.set(a, entry)
                costs.pteWrites += 1
            }
        case .continue:
            guard noneMostly else { return .EEXIST }
            guard let ino = vma.inode else { return .EINVAL }
            let index = vma.pgoff(of: a)
            guard index < inodes[Int(ino)].sizeInPages else { return .EFAULT }
            let entry = inodes[Int(ino)].pages[index]
            let pfn: PFN
            if let p = entry.folio { pfn = p }
            else if let e = entry.swapEntry { pfn = shmemSwapinFolio(ino, index, e) }
            else { return .EFAULT }   // SGP_NOALLOC: the page must exist
            if frames[pfn].flags.contains(.hwpoison) { return .EIO }
            addRmap(pfn)
            // A KSM page the slot points at (ksm.file_pages = on) is anonymous-typed and mapped
            // read-only.
            let ksmPage = frames[pfn].flags.contains(.ksm)
            if ksmPage { mms[m].rssAnon += 1 } else { mms[m].rssShmem += 1 }
            installMfillPTE(m, v, a, pfn, writable: shared && vma.flags.contains(.write) && !ksmPage, wp: wp, anon: false,
                            addRmapDone: true)
        case .poison:
            guard pte.isNone else { return .EEXIST }
            mms[m].pageTables.set(a, PTEMarker.poisoned.pte)
            costs.pteWrites += 1
        }
        return nil
    }

    /// Models mfill_atomic_install_pte(): always dirty, writable iff allowed, uffd-wp with
    /// MODE_WP; replaces a marker.
    mutating func installMfillPTE(_ m: Int, _ v: Int, _ a: UInt64, _ pfn: PFN, writable: Bool, wp: Bool, anon: Bool,
                                  addRmapDone: Bool = false) {
        let vma = mms[m].vmas[v]
        var entry = PTE.make(pfn: pfn, prot: pageProt(vma)).mkdirty(softDirtyConfigured: config.memSoftDirty)
        if writable { entry = entry.with(PTE.rw) } else { entry = entry.without(PTE.rw) }
        if wp { entry = entry.mkUffdWP() }
        if !anon && !addRmapDone {
            addRmap(pfn)
            mms[m].rssShmem += 1
        }
        mms[m].pageTables.set(a, entry)
        costs.pteWrites += 1
    }
}
