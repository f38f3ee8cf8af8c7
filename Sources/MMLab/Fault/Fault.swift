// SPDX-License-Identifier: Apache-2.0
//
// User memory accesses and page faults (arch/x86/mm/fault.c, mm/memory.c). An access is
// split at the kernel's lock boundaries: the MMU's attempt (user mode, no locks), then
// handle_mm_fault() under the PTE lock, then the retried attempt.

/// What an access observed.
public enum AccessResult: Hashable, Sendable {
    /// The load or store completed; for a load, the token read (a store returns what it stored).
    case ok(UInt64)
    /// The access raised a signal.
    case signal(SignalInfo)
    /// The model could not complete the access (a bug in the model; reported, never trapped).
    case modelError(String)
    /// The task sleeps in handle_userfault() until a resolving ioctl or UFFDIO_WAKE wakes it;
    /// then the access is retried (VM_FAULT_RETRY).
    case blocked(WaitID)
}

/// vm_fault_t, reduced to the outcomes the model distinguishes.
enum VMFault: Equatable {
    /// The fault was handled (or nothing was needed); retry the access.
    case done
    case sigsegv(SignalInfo)
    case sigbus
    /// VM_FAULT_HWPOISON: SIGBUS with BUS_MCEERR_AR.
    case hwpoison
    /// handle_userfault() put the task to sleep (VM_FAULT_RETRY once woken).
    case userfault(WaitID)
}

extension Kernel {
    /// One step of an access: the MMU walk, and on a miss the whole of handle_mm_fault().
    mutating func accessStep(_ mmID: MMID, _ address: UInt64, store: UInt64?) -> StepResult {
        let m = Int(mmID)
        let pte = mms[m].pageTables.pte(address)
        costs.pteReads += 1
        if pte.isPresent && !pte.isProtNone && (store == nil || pte.isWritable) {
            // The hardware sets Accessed, and Dirty on a store (never soft-dirty).
            let pfn = pte.pfn
            // A load from a frame with an uncorrectable error is a machine check (x86 raises
            // SRAR on data loads; stores are not modelled as consuming the error).
            if store == nil && !corruptedPFNs.isEmpty && corruptedPFNs.contains(pfn) {
                return .finished(machineCheck(m, address, pfn))
            }
            var hw = PTE.accessed
            if let t = store {
                frames.setToken(pfn, t)
                hw |= PTE.dirty
            }
            if pte.raw & hw != hw { mms[m].pageTables.set(address, pte.with(hw)) }
            if let t = store { noteStoreCompleted(m, address, t) }
            return .finished(.value(frames.token(pfn)))
        }
        costs.faults += 1
        note("handle_mm_fault(\(store == nil ? "read" : "write"))")
        switch handleMMFault(m, address, write: store != nil) {
        case .done: return .running   // the access retries at its next step
        case .sigsegv(let s): return .finished(.signal(s))
        case .sigbus: return .finished(.signal(.busAdrErr))
        case .hwpoison:
            // x86 do_sigbus(): under CONFIG_MEMORY_FAILURE, VM_FAULT_HWPOISON is
            // force_sig_mceerr(BUS_MCEERR_AR, address, PAGE_SHIFT); without it, BUS_ADRERR.
            return .finished(.signal(config.memoryFailure
                ? .mceErr(actionRequired: true, address: address, lsb: Int(pageShift)) : .busAdrErr))
        case .userfault(let w): return .blocked(w, .userfault(address: address))
        }
    }

    /// Models handle_userfault() as a fault outcome.
    mutating func userfault(_ m: Int, _ v: Int, _ address: UInt64, write: Bool, reason: VMFlags) -> VMFault {
        note("handle_userfault(\(reason == .uffdWP ? "WP" : reason == .uffdMinor ? "MINOR" : "MISSING"))")
        if reason == .uffdWP { noteWPFaultDelivered(m, address) }
        switch handleUserfault(mms[m].vmas[v], address: address, write: write, reason: reason) {
        case .sigbus: return .sigbus
        case .blocked(let w): return .userfault(w)
        }
    }

    /// Models do_user_addr_fault() (VMA lookup, access_error()) + handle_mm_fault().
    mutating func handleMMFault(_ m: Int, _ address: UInt64, write: Bool) -> VMFault {
        guard let v = mms[m].vmaIndex(containing: address) else { return .sigsegv(.segvMapErr) }
        let flags = mms[m].vmas[v].flags
        if write ? !flags.contains(.write) : !flags.contains(.read) && !flags.contains(.write) {
            return .sigsegv(.segvAccErr)
        }
        return handlePTEFault(m, v, address & ~(pageSize - 1), write: write)
    }

    /// Models handle_pte_fault().
    mutating func handlePTEFault(_ m: Int, _ v: Int, _ address: UInt64, write: Bool) -> VMFault {
        let pte = mms[m].pageTables.pte(address)
        costs.pteReads += 1
        if pte.isNone {
            return mms[m].vmas[v].isAnonymous
                ? doAnonymousPage(m, v, address, write: write, orig: pte)
                : doFault(m, v, address, write: write, orig: pte)
        }
        if !pte.isPresent { return doSwapPage(m, v, address, write: write, orig: pte) }
        if write && !pte.isWritable { return doWPPage(m, v, address, orig: pte) }
        if write {
            mms[m].pageTables.set(address, pte.mkdirty(softDirtyConfigured: config.memSoftDirty).with(PTE.accessed))
            costs.pteWrites += 1
        }
        return .done
    }

    /// Models vmf_anon_prepare() → __anon_vma_prepare(): give the VMA an anon_vma.
    mutating func anonVMAPrepare(_ m: Int, _ v: Int) {
        guard mms[m].vmas[v].anonVMA == nil else { return }
        let av = allocAnonVMA()
        mms[m].vmas[v].anonVMA = av
        mms[m].vmas[v].anonVMAChain.append(av)
    }

    /// Models vmf_orig_pte_uffd_wp(): the fault started from a uffd-wp marker.
    func origPTEUffdWP(_ orig: PTE) -> Bool { orig.marker?.contains(.uffdWP) ?? false }

    /// Models do_anonymous_page(): the zero page for reads, a new exclusive page for writes.
    mutating func doAnonymousPage(_ m: Int, _ v: Int, _ address: UInt64, write: Bool, orig: PTE) -> VMFault {
        note("do_anonymous_page")
        // pte_alloc() first: the PTE table exists even when the fault goes to userfaultfd
        // (PAGEMAP_SCAN tells a none PTE from a hole).
        _ = mms[m].pageTables.allocSlot(address)
        let flags = mms[m].vmas[v].flags
        if flags.contains(.uffdMissing) {
            return userfault(m, v, address, write: write, reason: .uffdMissing)
        }
        let prot = pageProt(flags)
        if !write {
            var entry = PTE.make(pfn: FrameTable.zeroPFN, prot: prot).with(PTE.special)
            if origPTEUffdWP(orig) { entry = entry.mkUffdWP() }
            mms[m].pageTables.set(address, entry)
            costs.pteWrites += 1
            return .done
        }
        anonVMAPrepare(m, v)
        let pfn = frames.alloc(token: 0)
        costs.pageZeroings += 1
        var entry = PTE.make(pfn: pfn, prot: prot)
        if flags.contains(.write) { entry = entry.mkdirty(softDirtyConfigured: config.memSoftDirty).with(PTE.rw) }
        if origPTEUffdWP(orig) { entry = entry.mkUffdWP() }
        addNewAnonRmap(pfn, anonVMA: mms[m].vmas[v].anonVMA ?? 0, index: mms[m].vmas[v].pgoff(of: address))
        mms[m].rssAnon += 1
        mms[m].pageTables.set(address, entry)
        costs.pteWrites += 1
        return .done
    }

    /// Models do_fault(): read, COW or shared fault on a file (shmem) VMA.
    mutating func doFault(_ m: Int, _ v: Int, _ address: UInt64, write: Bool, orig: PTE) -> VMFault {
        if vmaIsGuestMemfd(mms[m].vmas[v]) { return kvmGmemDoFault(m, v, address, write: write, orig: orig) }
        if vmaIsDax(mms[m].vmas[v]) { return daxFault(m, v, address, write: write) }
        if !write { return doReadFault(m, v, address, orig: orig) }
        if !mms[m].vmas[v].flags.contains(.shared) { return doCOWFault(m, v, address, orig: orig) }
        return doSharedFault(m, v, address, orig: orig)
    }

    /// The userfaultfd checks of shmem_get_folio_gfp() for a fault: MINOR when the page cache
    /// holds the page (or its swap entry), MISSING when it holds nothing. Fault-around runs
    /// before this in do_read_fault(), but only for VMAs it is not disabled for, where these
    /// checks cannot fire for pages it maps (MISSING-only VMAs map only cached pages).
    mutating func shmemFaultUserfault(_ m: Int, _ v: Int, _ address: UInt64, write: Bool) -> VMFault? {
        let vma = mms[m].vmas[v]
        // shmem_fault(): a fault in a hole being punched sleeps until the punch is done
        // (shmem_falloc_wait()), then retries.
        if let ino = vma.inode, let range = inodes[Int(ino)].falloc, range.contains(vma.pgoff(of: address)) {
            note("shmem_fault → shmem_falloc_wait: sleeps until the hole punch finishes")
            return .userfault(addWaiter(.fallocPunch(inode: ino)))
        }
        guard vma.flags.contains(.uffdMinor) || vma.flags.contains(.uffdMissing), let ino = vma.inode else { return nil }
        note("shmem_get_folio_gfp: userfaultfd check")
        let index = vma.pgoff(of: address)
        guard index < inodes[Int(ino)].sizeInPages else { return nil }
        let cached = !inodes[Int(ino)].pages[index].isEmpty
        if cached && vma.flags.contains(.uffdMinor) { return userfault(m, v, address, write: write, reason: .uffdMinor) }
        if !cached && vma.flags.contains(.uffdMissing) { return userfault(m, v, address, write: write, reason: .uffdMissing) }
        return nil
    }

    /// Models uffd_disable_fault_around(); the design switch fault_around.uffd decides.
    func uffdDisableFaultAround(_ vma: VMA) -> Bool {
        switch design.faultAroundUffd {
        case .skip_wp_minor: return !vma.flags.intersection([.uffdWP, .uffdMinor]).isEmpty
        case .skip_armed: return !vma.flags.intersection(VMFlags.uffdFlags).isEmpty
        case .never_skip: return false
        }
    }

    /// Models should_fault_around().
    func shouldFaultAround(_ vma: VMA) -> Bool {
        !uffdDisableFaultAround(vma) && config.faultAroundPages > 1
    }

    /// Models do_read_fault(): fault-around first, then __do_fault() + finish_fault().
    mutating func doReadFault(_ m: Int, _ v: Int, _ address: UInt64, orig: PTE) -> VMFault {
        note("do_read_fault")
        // A pageout marker faults around as a none PTE would (filemap_map_pages() then skips
        // the marked slot itself); an uffd-wp marker's VMA has fault-around off.
        if shouldFaultAround(mms[m].vmas[v]) && (orig.isNone || orig.marker == .pageout) {
            if doFaultAround(m, v, address) { return .done }
        }
        guard let ino = mms[m].vmas[v].inode else { return .sigbus }
        if let trapped = shmemFaultUserfault(m, v, address, write: false) { return trapped }
        guard case .folio(let pfn) = shmemGetFolio(ino, mms[m].vmas[v].pgoff(of: address)) else { return .sigbus }
        return finishFault(m, v, address, page: pfn, write: false, cow: false, orig: orig)
    }

    /// Models do_fault_around(): a window of fault_around_pages aligned on the virtual
    /// address, clamped to the VMA and to one PTE table, handed to filemap_map_pages().
    /// Returns whether the faulting page itself was mapped (VM_FAULT_NOPAGE).
    mutating func doFaultAround(_ m: Int, _ v: Int, _ address: UInt64) -> Bool {
        let vma = mms[m].vmas[v]
        let nr = UInt64(config.faultAroundPages)
        let pteOff = (address >> pageShift) & 511
        let vmaOff = (address - vma.start) >> pageShift
        let fromPTE = max(pteOff / nr * nr, pteOff - min(pteOff, vmaOff))
        let toPTE = min(min(fromPTE + nr, UInt64(ptrsPerPTE)), pteOff + UInt64(vma.pages) - vmaOff) - 1
        let pgoff = vma.pgoff(of: address)
        return filemapMapPages(m, v, from: pgoff + fromPTE - pteOff, to: pgoff + toPTE - pteOff, faultAddress: address)
    }

    /// Models filemap_map_pages(): map uptodate page-cache folios into none PTEs only;
    /// swap entries (xarray values) and pages beyond i_size are skipped.
    mutating func filemapMapPages(_ m: Int, _ v: Int, from: UInt64, to: UInt64, faultAddress: UInt64) -> Bool {
        let vma = mms[m].vmas[v]
        guard let ino = vma.inode else { return false }
        let size = inodes[Int(ino)].sizeInPages
        guard size > 0 else { return false }
        let end = min(to, size - 1)
        guard from <= end else { return false }
        var mapped = false
        var count = 0
        defer { note("do_fault_around → filemap_map_pages mapped \(count) page(s)") }
        for index in from...end {
            costs.pageCacheLookups += 1
            guard let pfn = inodes[Int(ino)].pages[index].folio,
                  frames.flags(pfn).contains(.uptodate), !frames.flags(pfn).contains(.hwpoison),
                  let a = vma.address(ofPgoff: index) else { continue }
            costs.pteReads += 1
            guard mms[m].pageTables.pte(a).isNone else { continue }
            setPTERange(m, v, a, page: pfn, write: false, cow: false, orig: .none)
            count += 1
            if a == faultAddress { mapped = true }
        }
        return mapped
    }

    /// Models do_cow_fault(): copy the page-cache page into a new anon page.
    mutating func doCOWFault(_ m: Int, _ v: Int, _ address: UInt64, orig: PTE) -> VMFault {
        note("do_cow_fault")
        if let trapped = shmemFaultUserfault(m, v, address, write: true) { return trapped }
        anonVMAPrepare(m, v)
        guard let ino = mms[m].vmas[v].inode,
              case .folio(let src) = shmemGetFolio(ino, mms[m].vmas[v].pgoff(of: address)) else { return .sigbus }
        let pfn = frames.alloc(token: frames[src].token)
        costs.pageCopies += 1
        let r = finishFault(m, v, address, page: pfn, write: true, cow: true, orig: orig)
        if frames[pfn].mapcount == 0 { frames.free(pfn) }   // lost the race: drop the copy
        return r
    }

    /// Models do_shared_fault(): map the page-cache page writable and dirty it.
    mutating func doSharedFault(_ m: Int, _ v: Int, _ address: UInt64, orig: PTE) -> VMFault {
        if let trapped = shmemFaultUserfault(m, v, address, write: true) { return trapped }
        note("do_shared_fault → finish_fault")
        let index = mms[m].vmas[v].pgoff(of: address)
        guard let ino = mms[m].vmas[v].inode, case .folio(var pfn) = shmemGetFolio(ino, index) else { return .sigbus }
        // A KSM page standing in for the slot (ksm.file_pages = on): the write breaks the
        // file's alias at the lookup and maps the file's own copy.
        if frames[pfn].flags.contains(.ksm) { pfn = ksmBreakAlias(ino, index) }
        let r = finishFault(m, v, address, page: pfn, write: true, cow: false, orig: orig)
        frames[pfn].flags.insert(.dirty)   // fault_dirty_shared_page()
        return r
    }

    /// Models finish_fault(): recheck the PTE under the lock, then set_pte_range().
    mutating func finishFault(_ m: Int, _ v: Int, _ address: UInt64, page: PFN, write: Bool, cow: Bool,
                              orig: PTE) -> VMFault {
        costs.pteReads += 1
        guard mms[m].pageTables.pte(address) == orig else { return .done }   // vmf_pte_changed()
        setPTERange(m, v, address, page: page, write: write, cow: cow, orig: orig)
        return .done
    }

    /// Models set_pte_range() for one page, with its rmap and rss accounting.
    mutating func setPTERange(_ m: Int, _ v: Int, _ address: UInt64, page: PFN, write: Bool, cow: Bool, orig: PTE) {
        let vma = mms[m].vmas[v]
        var entry = PTE.make(pfn: page, prot: pageProt(vma))
        if write {
            entry = entry.mkdirty(softDirtyConfigured: config.memSoftDirty)
            if vma.flags.contains(.write) { entry = entry.with(PTE.rw) }   // maybe_mkwrite()
        } else if entry.isWritable && frames.flags(page).contains(.dirty) {
            entry = entry.mkdirty(softDirtyConfigured: config.memSoftDirty)
        }
        if origPTEUffdWP(orig) { entry = entry.mkUffdWP() }
        if cow {
            addNewAnonRmap(page, vma: vma, address: address)
            mms[m].rssAnon += 1
        } else {
            addRmap(page)
            // mm_counter_file(), or MM_ANONPAGES for a KSM page in the page cache, which is
            // also mapped read-only (ksm.file_pages = on).
            if frames.flags(page).contains(.anon) { mms[m].rssAnon += 1 } else { mms[m].rssShmem += 1 }
            entry = ksmWrprotect(entry)
        }
        mms[m].pageTables.set(address, entry)
        costs.pteWrites += 1
    }

    /// Models do_wp_page(): a write to a present read-only PTE. Shared mappings are made
    /// writable; anon pages are reused when exclusive, otherwise copied.
    mutating func doWPPage(_ m: Int, _ v: Int, _ address: UInt64, orig origIn: PTE) -> VMFault {
        let vma = mms[m].vmas[v]
        var orig = origIn
        if vma.flags.contains(.uffdWP) && orig.uffdWP {
            // userfaultfd_pte_wp(): report the write, or with WP_ASYNC just drop the bit.
            if !uffdWPAsync(vma) { return userfault(m, v, address, write: true, reason: .uffdWP) }
            orig = orig.without(PTE.uffdWP)
            noteWPFaultDelivered(m, address)   // WP_ASYNC: the cleared bit is the report
            mms[m].pageTables.set(address, orig)
            costs.pteWrites += 1
        }
        var page = normalPage(orig)
        if !vma.flags.intersection([.shared, .mayShare]).isEmpty {
            // A KSM page the file's slot points at (ksm.file_pages = on): the store breaks the
            // file's alias first (a copy in the slot, every PTE of the file at this index
            // replaced), then takes the normal write path on the copy.
            if let p = page, frames[p].flags.contains(.ksm), let ino = vma.inode, ksmAlias(ino, vma.pgoff(of: address)) == p {
                page = ksmBreakAlias(ino, vma.pgoff(of: address))
                orig = mms[m].pageTables.pte(address)
            }
            note("do_wp_page → wp_page_shared: PTE made writable")
            // wp_page_shared() → wp_page_reuse() + fault_dirty_shared_page().
            wpPageReuse(m, v, address, orig)
            if let page { frames[page].flags.insert(.dirty) }
            return .done
        }
        if let page, frames[page].flags.contains(.anon),
           frames[page].flags.contains(.anonExclusive) || wpCanReuseAnonFolio(page) {
            frames[page].flags.insert(.anonExclusive)
            wpPageReuse(m, v, address, orig)
            return .done
        }
        return wpPageCopy(m, v, address, orig: orig, old: page)
    }

    /// Models wp_page_reuse(): make the PTE young, dirty and (with VM_WRITE) writable.
    mutating func wpPageReuse(_ m: Int, _ v: Int, _ address: UInt64, _ orig: PTE) {
        note("do_wp_page → wp_page_reuse")
        var entry = orig.with(PTE.accessed).mkdirty(softDirtyConfigured: config.memSoftDirty)
        if mms[m].vmas[v].flags.contains(.write) { entry = entry.with(PTE.rw) }
        mms[m].pageTables.set(address, entry)
        costs.pteWrites += 1
    }

    /// Models wp_can_reuse_anon_folio(): the only reference is this mapping's (after trying
    /// to drop the swap-cache copy); never for KSM folios.
    mutating func wpCanReuseAnonFolio(_ pfn: PFN) -> Bool {
        let f = frames[pfn]
        if f.flags.contains(.ksm) || f.refcount > 3 { return false }
        // A folio waiting in the lazyfree batch has the batch's reference too: on 6.18 the
        // fault copies it (checked on the kernel: examples/basics/madv-free-cow.mms).
        if lazyfreeBatch.contains(pfn) { return false }
        let swapcache: UInt16 = f.flags.contains(.swapcache) ? 1 : 0
        if f.refcount > 1 + swapcache { return false }
        if f.flags.contains(.swapcache) { folioFreeSwap(pfn) }
        return !frames[pfn].flags.contains(.ksm) && frames[pfn].refcount == 1
    }

    /// Models wp_page_copy(): a new exclusive anon page replaces the old mapping; the old
    /// folio, if mapped nowhere any more, leaves the swap cache (free_swap_cache()).
    mutating func wpPageCopy(_ m: Int, _ v: Int, _ address: UInt64, orig: PTE, old: PFN?) -> VMFault {
        note("do_wp_page → wp_page_copy")
        anonVMAPrepare(m, v)
        let vma = mms[m].vmas[v]
        let pfn = frames.alloc(token: old.map { frames[$0].token } ?? 0)
        if old == nil { costs.pageZeroings += 1 } else { costs.pageCopies += 1 }
        var entry = PTE.make(pfn: pfn, prot: pageProt(vma)).mkdirty(softDirtyConfigured: config.memSoftDirty)
        if vma.flags.contains(.write) { entry = entry.with(PTE.rw) }
        addNewAnonRmap(pfn, vma: vma, address: address)
        mms[m].rssAnon += 1
        mms[m].pageTables.set(address, entry)
        costs.pteWrites += 1
        costs.tlbFlushes += 1
        if let old {
            if frames[old].flags.contains(.anon) { mms[m].rssAnon -= 1 } else { mms[m].rssShmem -= 1 }
            removeRmapAndPut(old)
            // free_swap_cache(): a copied folio mapped nowhere now leaves the swap cache (a KSM
            // page swapped in before its merge, whose last mapping this COW was).
            if frames.isAllocated(old) && frames[old].mapcount == 0 && frames[old].flags.contains(.swapcache) {
                _ = folioFreeSwap(old)
            }
        } else {
            ksmMightUnmapZeroPage(m, orig)
        }
        return .done
    }

    /// Models should_try_to_free_swap(); the caller holds its own reference to the folio.
    func shouldTryToFreeSwap(_ pfn: PFN, _ vma: VMA, write: Bool) -> Bool {
        guard frames[pfn].flags.contains(.swapcache) else { return false }
        if swapIsFull || vma.flags.contains(.locked) { return true }
        // Only the swap cache and this fault hold it: we would be the exclusive user.
        return write && !frames[pfn].flags.contains(.ksm) && frames[pfn].refcount == 2
    }

    /// Models do_swap_page(): markers and special entries, then swap-in of a real entry
    /// (a swap-cache hit keeps the frame), with the exclusive and writable rules.
    mutating func doSwapPage(_ m: Int, _ v: Int, _ address: UInt64, write: Bool, orig: PTE) -> VMFault {
        let e = orig.swapEntry
        if !e.isRealSwap {
            if e.isMarker { note("do_swap_page → handle_pte_marker"); return handlePTEMarker(m, v, address, write: write, orig: orig) }
            if e.type == SwapEntry.hwpoisonType { return .hwpoison }
            return .sigbus
        }
        note("do_swap_page")
        let vma = mms[m].vmas[v]
        let pfn = swapCacheLookup(e) ?? swapReadIntoCache(e)
        frames[pfn].refcount += 1          // the lookup's reference; it becomes the mapping's
        let isKSM = frames[pfn].flags.contains(.ksm)
        let exclusive = !isKSM && orig.swpExclusive
        swapFree(e)
        mms[m].swapEntries -= 1
        if shouldTryToFreeSwap(pfn, vma, write: write) { folioFreeSwap(pfn) }
        var entry = PTE.make(pfn: pfn, prot: pageProt(vma))
        if orig.swpSoftDirty { entry = entry.with(PTE.softDirty) }
        if orig.swpUffdWP { entry = entry.mkUffdWP() }
        var writeDone = false
        var rmapExclusive = false
        // Same logic as do_wp_page(): exclusive, or ours is the only reference (the fault's).
        if !isKSM && (exclusive || frames[pfn].refcount == 1) {
            let uffdWPPTE = vma.flags.contains(.uffdWP) && entry.uffdWP
            if vma.flags.contains(.write) && !uffdWPPTE && !pteNeedsSoftDirtyWP(vma, entry) {
                entry = entry.with(PTE.rw)
                if write {
                    entry = entry.mkdirty(softDirtyConfigured: config.memSoftDirty)
                    writeDone = true
                }
            }
            rmapExclusive = true
        }
        if !frames[pfn].flags.contains(.anon) {
            // A folio fresh from the swap device: folio_add_new_anon_rmap().
            anonVMAPrepare(m, v)
            addNewAnonRmap(pfn, vma: mms[m].vmas[v], address: address)
            if !rmapExclusive { frames[pfn].flags.remove(.anonExclusive) }
        } else {
            addRmap(pfn)
            if rmapExclusive { frames[pfn].flags.insert(.anonExclusive) }
        }
        putFolio(pfn)                      // handed over to the mapping (addRmap took one)
        mms[m].rssAnon += 1
        mms[m].pageTables.set(address, entry)
        costs.pteWrites += 1
        if write && !writeDone { return doWPPage(m, v, address, orig: entry) }
        return .done
    }

    /// Models handle_pte_marker(): poison, guard and uffd-wp markers.
    mutating func handlePTEMarker(_ m: Int, _ v: Int, _ address: UInt64, write: Bool, orig: PTE) -> VMFault {
        guard let marker = orig.marker, !marker.isEmpty else { return .sigbus }
        costs.markerDecodes += 1
        if marker.contains(.poisoned) { return .hwpoison }
        if marker.contains(.guard_) { return .sigsegv(.segvMapErr) }
        if marker.contains(.uffdWP) {
            // pte_marker_handle_uffd_wp(): a stale marker in an unregistered VMA is just cleared.
            if !mms[m].vmas[v].flags.contains(.uffdWP) {
                mms[m].pageTables.set(address, .none)
                costs.pteWrites += 1
                return .done
            }
            return mms[m].vmas[v].isAnonymous
                ? doAnonymousPage(m, v, address, write: write, orig: orig)
                : doFault(m, v, address, write: write, orig: orig)
        }
        if marker == .pageout {
            // Peter Xu's RFC: PTE_MARKER_PAGEOUT → do_fault(), as for a none PTE.
            return doFault(m, v, address, write: write, orig: orig)
        }
        return .sigbus
    }
}
