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

extension Kernel {
    /// Models do_madvise() → madvise_walk_vmas(): apply `advice` to every VMA piece in
    /// [start, start+length); a hole anywhere makes the call return ENOMEM after the rest
    /// was done, as the kernel does.
    public mutating func madvise(_ mmID: MMID, start: UInt64, length: UInt64, advice: Advice) -> Errno? {
        guard start & (pageSize - 1) == 0 else { return .EINVAL }
        guard advice.isImplemented else { return .ENOSYS }
        let m = Int(mmID)
        let end = start + ((length + pageSize - 1) & ~(pageSize - 1))
        guard end > start else { return nil }
        if advice == .populate_read || advice == .populate_write {
            let r = madvisePopulate(m, start, end, write: advice == .populate_write)
            check()
            return r
        }
        let hole = !rangeIsFullyMapped(m, start, end)
        var err: Errno? = nil
        if [.wipeonfork, .keeponfork, .dontfork, .dofork].contains(advice) {
            err = madviseUpdateFlags(m, start, end, advice)
        } else {
            var a = start
            while a < end, err == nil {
                guard let v = mms[m].vmas.firstIndex(where: { $0.end > a && $0.start < end }) else { break }
                let vma = mms[m].vmas[v]
                let s = max(a, vma.start), e = min(end, vma.end)
                err = madviseVMA(m, v, s, e, advice)
                a = e
            }
        }
        check()
        return err ?? (hole ? .ENOMEM : nil)
    }

    /// One VMA piece of madvise_vma_behavior().
    mutating func madviseVMA(_ m: Int, _ v: Int, _ s: UInt64, _ e: UInt64, _ advice: Advice) -> Errno? {
        let vma = mms[m].vmas[v]
        switch advice {
        case .dontneed:
            // madvise_dontneed_free_valid_vma(): not on locked, PFN-mapped or hugetlb VMAs.
            if !vma.flags.intersection([.locked, .pfnmap, .hugetlb]).isEmpty { return .EINVAL }
            if vma.isAnonymous || !vma.flags.contains(.shared) { noteDiscard(m, s, e) }
            lruAddDrain()   // zap_page_range_single_batched()
            zapPTERange(m, vma: vma, s, e, details: ZapDetails(evenCOWs: true, dropMarkers: false))
            return nil
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
        case .mergeable:
            return madviseMergeable(m, v)
        case .unmergeable:
            return madviseUnmergeable(m, v, s, e)
        case .guard_install:
            return madviseGuardInstall(m, v, s, e)
        case .guard_remove:
            return madviseGuardRemove(m, v, s, e)
        default:
            return .ENOSYS
        }
    }

    /// MADV_WIPEONFORK / KEEPONFORK / DONTFORK / DOFORK: flag changes with VMA split/merge.
    mutating func madviseUpdateFlags(_ m: Int, _ start: UInt64, _ end: UInt64, _ advice: Advice) -> Errno? {
        let r = isolateRange(m, start, end)
        var err: Errno? = nil
        for v in r {
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
    mutating func madvisePopulate(_ m: Int, _ start: UInt64, _ end: UInt64, write: Bool) -> Errno? {
        var a = start
        switch madvisePopulateFrom(m, &a, end, write: write) {
        case .finished(let e): return e
        case .sleeps(let w):
            // Only the resumable system call (start/resume) can sleep; a direct call cannot.
            cancelUserfault(w)
            return .EAGAIN
        }
    }

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
