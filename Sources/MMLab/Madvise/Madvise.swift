// SPDX-License-Identifier: Apache-2.0
//
// madvise(2) (mm/madvise.c): the VMA walk and the advices the model implements.

extension Advice {
    /// Whether the model implements this advice yet.
    public var isImplemented: Bool {
        switch self {
        case .dontneed, .pageout, .cold, .remove, .populate_read, .populate_write,
             .wipeonfork, .keeponfork, .dontfork, .dofork, .guard_install, .guard_remove,
             .mergeable, .unmergeable, .free: true
        }
    }
}


/// Where MADV_POPULATE_(READ|WRITE) stands: done (with its error), or asleep on a userfault.
enum PopulateProgress {
    case finished(Errno?)
    case sleeps(WaitID)
}

/// Where a madvise() walk over its VMAs stands between two steps.
struct MadviseWalk: Hashable, Sendable {
    /// The address up to which the walk got.
    var position: UInt64
    /// Whether the VMA piece at `position` was already announced with a REMOVE event.
    var announced = false
    /// Whether [start, end) has a hole (ENOMEM once the rest was done).
    var hole = false
    var error: Errno? = nil
    /// MADV_DONTNEED: a zap of the current VMA piece cleared an entry; its TLB flush is due
    /// when the piece ends (tlb_finish_mmu() of zap_page_range_single_batched()).
    var flushPending = false
}

extension Kernel {
    /// Models do_madvise(), run to its end (see madviseStep()).
    public mutating func madvise(_ mmID: MMID, start: UInt64, length: UInt64, advice: Advice) -> Errno? {
        performForError(.madvise(mmID, address: start, length: length, advice: advice))
    }

    /// One step of do_madvise() → madvise_walk_vmas(): apply `advice` to every VMA piece in
    /// [start, start+length); a hole anywhere makes the call return ENOMEM after the rest was
    /// done, as the kernel does. MADV_DONTNEED, MADV_FREE and MADV_REMOVE first call
    /// userfaultfd_remove() for each VMA piece, which sleeps until a reader reads the REMOVE
    /// event; MADV_POPULATE_* sleeps on each fault that traps and retries once woken. MADV_DONTNEED
    /// zaps one PTE table per step (zap_pte_range() takes each table's lock in turn, mmap_lock
    /// or the VMA lock held for read between them); every other advice runs its VMA pieces
    /// within one step.
    mutating func madviseStep(_ task: inout SyscallTask, _ mmID: MMID, start: UInt64, length: UInt64, advice: Advice) -> StepResult {
        let m = Int(mmID)
        let end = start &+ ((length &+ pageSize &- 1) & ~(pageSize - 1))
        var walk: MadviseWalk
        switch task.progress {
        case .madvise(let w):
            walk = w
        default:
            guard start & (pageSize - 1) == 0 else { return .finished(.errno(.EINVAL)) }
            guard advice.isImplemented else { return .finished(.errno(.ENOSYS)) }
            walk = MadviseWalk(position: start)
            if advice != .populate_read && advice != .populate_write {
                guard end > start else { return .finished(.ok) }
                walk.hole = !rangeIsFullyMapped(m, start, end)
            }
            if [.wipeonfork, .keeponfork, .dontfork, .dofork, .mergeable, .unmergeable].contains(advice) {
                let err = madviseUpdateFlags(m, start, end, advice)
                check()
                return .finished(madviseResult(err, hole: walk.hole))
            }
        }
        if advice == .populate_read || advice == .populate_write {
            // madvise_populate(): a fault that traps sleeps until woken, then is retried.
            switch madvisePopulateFrom(m, &walk.position, end, write: advice == .populate_write) {
            case .finished(let e):
                check()
                return .finished(e.map { .errno($0) } ?? .ok)
            case .sleeps(let w):
                task.progress = .madvise(walk)
                return .blocked(w, .userfault(address: walk.position))
            }
        }
        let removes = advice == .dontneed || advice == .remove || advice == .free
        while walk.position < end && walk.error == nil {
            guard let v = mms[m].vmas.firstIndex(where: { $0.end > walk.position && $0.start < end }) else { break }
            let vma = mms[m].vmas[v]
            let s = max(walk.position, vma.start), e = min(end, vma.end)
            if removes && !walk.announced, let err = madviseRemoveRefusal(vma, advice) {
                // The VMA is refused before userfaultfd_remove() is reached: no REMOVE event.
                walk.error = err
                break
            }
            if removes && !walk.announced, let u = vma.uffd, uffdFeatures(vma).contains(.eventRemove) {
                // userfaultfd_remove(): drop mmap_lock, queue REMOVE, sleep until it is read.
                walk.announced = true
                walk.position = s
                task.progress = .madvise(walk)
                return .blocked(queueEvent(u, UffdMessage(event: .remove, start: s, end: e)), .event)
            }
            if advice == .dontneed {
                let tableEnd = madviseDontneedStepEnd(m, vma, s, e)
                let name = mms[m].name
                note("madvise_dontneed_single_vma → zap_page_range_single(\(name), 0x\(String(s, radix: 16))..0x\(String(tableEnd, radix: 16)))")
                let (err, flushed) = madviseDontneedRange(m, v, s, tableEnd)
                walk.error = err
                if flushed { walk.flushPending = true }
                walk.position = tableEnd
                if tableEnd == e {
                    walk.announced = false
                    if walk.flushPending { costs.tlbFlushes += 1 }
                    walk.flushPending = false
                }
                check()
                if walk.error == nil, walk.position < end,
                   mms[m].vmas.contains(where: { $0.end > walk.position && $0.start < end }) {
                    task.progress = .madvise(walk)
                    return .running
                }
                continue
            }
            walk.error = madviseVMA(m, v, s, e, advice)
            walk.announced = false
            walk.position = e
        }
        check()
        return .finished(madviseResult(walk.error, hole: walk.hole))
    }

    /// The error MADV_DONTNEED, MADV_FREE or MADV_REMOVE gives a VMA before it calls
    /// userfaultfd_remove(): madvise_dontneed_free_valid_vma() (locked, PFN-mapped, hugetlb)
    /// for the first two; for MADV_REMOVE, madvise_remove()'s checks (locked, no file: EINVAL;
    /// not a shared writable mapping: EACCES). MADV_FREE's own EINVAL for a VMA that is not
    /// anonymous comes after the event (madvise_free_single_vma()).
    func madviseRemoveRefusal(_ vma: VMA, _ advice: Advice) -> Errno? {
        if advice == .remove {
            if vma.flags.contains(.locked) { return .EINVAL }
            guard vma.inode != nil else { return .EINVAL }
            if !(vma.flags.contains(.shared) && vma.flags.contains(.mayWrite)) { return .EACCES }
            return nil
        }
        if !vma.flags.intersection([.locked, .pfnmap, .hugetlb]).isEmpty { return .EINVAL }
        return nil
    }

    /// madvise()'s return value: the first error, else ENOMEM for a hole in the range.
    func madviseResult(_ err: Errno?, hole: Bool) -> CallResult {
        if let err { return .errno(err) }
        return hole ? .errno(.ENOMEM) : .ok
    }

    /// How much of a VMA one MADV_DONTNEED step zaps: one PTE table (zap_pmd_range() →
    /// zap_pte_range() under its lock), or one huge entry of a device-dax mapping aligned
    /// beyond 2 MiB (zap_pud_range() clears a PUD whole).
    func madviseDontneedChunk(_ vma: VMA) -> UInt64 {
        if let ino = vma.inode, let dev = inodes[Int(ino)].dax, dev.align > pmdSize { return dev.align }
        return pmdSize
    }

    /// Where the MADV_DONTNEED step from `s` ends: one chunk that holds a table, or every
    /// chunk up to the next table at once (zap_pmd_range() takes no lock for pmd_none()).
    func madviseDontneedStepEnd(_ m: Int, _ vma: VMA, _ s: UInt64, _ e: UInt64) -> UInt64 {
        mms[m].pageTables.lockStepEnd(s, e, chunk: madviseDontneedChunk(vma))
    }

    /// MADV_DONTNEED of [s, e) within one VMA (madvise_dontneed_single_vma()): its error, and
    /// whether the zap cleared an entry (the caller counts the TLB flush once per VMA piece).
    mutating func madviseDontneedRange(_ m: Int, _ v: Int, _ s: UInt64, _ e: UInt64) -> (Errno?, Bool) {
        let vma = mms[m].vmas[v]
        // madvise_dontneed_free_valid_vma(): not on locked, PFN-mapped or hugetlb VMAs.
        if !vma.flags.intersection([.locked, .pfnmap, .hugetlb]).isEmpty { return (.EINVAL, false) }
        if vma.isAnonymous || !vma.flags.contains(.shared) { noteDiscard(m, s, e) }
        lruAddDrain()   // zap_page_range_single_batched()
        let flushed = zapPTERange(m, vma: vma, s, e, details: ZapDetails(evenCOWs: true, dropMarkers: false), countFlush: false)
        return (nil, flushed)
    }

    /// What the next step of MADV_DONTNEED reads and writes: one PTE table's zap under
    /// mmap_lock (read): its PTEs, and the anonymous folios it unmaps; a step that first
    /// queues a REMOVE event conflicts with everything.
    func madviseFootprint(_ task: SyscallTask) -> Footprint {
        guard case .madvise(let mm, let start, let length, .dontneed) = task.call, Int(mm) < mms.count else {
            return Footprint(writes: [.global])
        }
        let m = Int(mm)
        let end = start &+ ((length &+ pageSize &- 1) & ~(pageSize - 1))
        var walk: MadviseWalk? = nil
        if case .madvise(let w) = task.progress { walk = w }
        let from = walk?.position ?? start
        guard from < end, let v = mms[m].vmas.firstIndex(where: { $0.end > from && $0.start < end }) else {
            return Footprint(reads: [.vmas(mm: mm)])
        }
        let vma = mms[m].vmas[v]
        let s = max(from, vma.start), e = min(end, vma.end)
        if !(walk?.announced ?? false) && vma.uffd != nil && uffdFeatures(vma).contains(.eventRemove) {
            return Footprint(writes: [.global])
        }
        var f = Footprint(reads: [.vmas(mm: mm)], writes: [.anonMemory])
        let stepEnd = madviseDontneedStepEnd(m, vma, s, e)
        f.writes.append(.ptes(mm: mm, pages: (s >> pageShift)..<(stepEnd >> pageShift)))
        return f
    }

    /// One VMA piece of madvise_vma_behavior().
    mutating func madviseVMA(_ m: Int, _ v: Int, _ s: UInt64, _ e: UInt64, _ advice: Advice) -> Errno? {
        let vma = mms[m].vmas[v]
        switch advice {
        case .dontneed:
            let (err, flushed) = madviseDontneedRange(m, v, s, e)
            if flushed { costs.tlbFlushes += 1 }
            return err
        case .free:
            // madvise_dontneed_free_valid_vma(), then madvise_free_single_vma(): anonymous
            // private memory only (shared anonymous memory is shmem).
            if !vma.flags.intersection([.locked, .pfnmap, .hugetlb]).isEmpty { return .EINVAL }
            guard vma.isAnonymous else { return .EINVAL }
            noteDiscard(m, s, e)   // a store before MADV_FREE may be dropped by reclaim
            madviseFreePTERange(m, v, s, e)
            return nil
        case .cold, .pageout:
            if !vma.flags.intersection([.locked, .pfnmap, .hugetlb]).isEmpty { return .EINVAL }
            madviseColdOrPageout(m, v, s, e, pageout: advice == .pageout)
            return nil
        case .remove:
            // madvise_remove(): punch the file range behind the VMA.
            if vma.flags.contains(.locked) { return .EINVAL }
            guard let ino = vma.inode else { return .EINVAL }
            if !(vma.flags.contains(.shared) && vma.flags.contains(.mayWrite)) { return .EACCES }
            let offset = (s - vma.start) + (vma.pgoff << pageShift)
            if isGuestMemfd(ino) { return kvmGmemFallocate(ino, mode: [.keepSize, .punchHole], offset: offset, length: e - s) }
            if isDax(ino) { return .EOPNOTSUPP }   // a device has no ->fallocate
            return shmemFallocatePunch(ino, offset: offset, length: e - s)
        case .guard_install:
            return madviseGuardInstall(m, v, s, e)
        case .guard_remove:
            return madviseGuardRemove(m, v, s, e)
        default:
            return .ENOSYS
        }
    }

    /// The advices that change VMA flags (MADV_WIPEONFORK / KEEPONFORK / DONTFORK / DOFORK,
    /// and MADV_MERGEABLE / UNMERGEABLE through ksm_madvise()): madvise_vma_behavior() →
    /// madvise_update_vma() → vma_modify_flags(), which splits the VMA at the range's ends and
    /// merges it with its neighbours again where the flags allow.
    mutating func madviseUpdateFlags(_ m: Int, _ start: UInt64, _ end: UInt64, _ advice: Advice) -> Errno? {
        let r = isolateRange(m, start, end)
        var err: Errno? = nil
        for v in r {
            if advice == .mergeable || advice == .unmergeable {
                // ksm_madvise() sets or clears VM_MERGEABLE on the range only (KSM/KSM.swift).
                let vma = mms[m].vmas[v]
                if let e = advice == .mergeable ? madviseMergeable(m, v) : madviseUnmergeable(m, v, vma.start, vma.end) {
                    err = e
                }
                continue
            }
            var vma = mms[m].vmas[v]
            switch advice {
            case .wipeonfork:
                // Only private anonymous memory.
                guard vma.isAnonymous, !vma.flags.contains(.shared) else { err = .EINVAL; continue }
                vma.flags.insert(.wipeOnFork)
            case .keeponfork: vma.flags.remove(.wipeOnFork)
            case .dontfork: vma.flags.insert(.dontCopy)
            case .dofork:
                guard !vma.flags.contains(.io) else { err = .EINVAL; continue }
                vma.flags.remove(.dontCopy)
            default: break
            }
            mms[m].vmas[v] = vma
        }
        if !r.isEmpty { mergeVMAs(m, around: r.lowerBound...(r.upperBound - 1)) }
        return err
    }

    /// Models madvise_populate() → faultin_page_range(): fault every page in as GUP would,
    /// readable or writable. No VMA → ENOMEM, wrong permissions → EINVAL, a fault that
    /// would raise SIGBUS or SIGSEGV → EFAULT, poison → EHWPOISON.
    /// Populates from `a` on; stops when a fault sleeps in handle_userfault() (GUP with
    /// FOLL_UNLOCKABLE allows it: mmap_lock is dropped, the task sleeps, and once woken
    /// madvise_populate() retries from the page it stopped at), leaving `a` there.
    mutating func madvisePopulateFrom(_ m: Int, _ a: inout UInt64, _ end: UInt64, write: Bool) -> PopulateProgress {
        while a < end {
            guard let v = mms[m].vmaIndex(containing: a) else { return .finished(.ENOMEM) }
            let flags = mms[m].vmas[v].flags
            if write ? !flags.contains(.write) : !flags.contains(.read) { return .finished(.EINVAL) }
            var tries = 0
            while true {
                let pte = mms[m].pageTables.pte(a)
                if pte.isPresent && (!write || pte.isWritable) { break }
                tries += 1
                if tries > 8 { return .finished(.EFAULT) }
                switch handleMMFault(m, a, write: write) {
                case .done: continue
                case .sigbus, .sigsegv: return .finished(.EFAULT)
                case .hwpoison: return .finished(.EHWPOISON)
                case .userfault(let w): return .sleeps(w)
                }
            }
            if write, let pfn = normalPage(mms[m].pageTables.pte(a)) {
                frames[pfn].flags.insert(.dirty)   // FOLL_TOUCH with FOLL_WRITE
            }
            a += pageSize
        }
        return .finished(nil)
    }
}
