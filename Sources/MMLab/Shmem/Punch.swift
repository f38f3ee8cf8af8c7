// SPDX-License-Identifier: Apache-2.0
//
// fallocate(FALLOC_FL_PUNCH_HOLE) on shmem (mm/shmem.c shmem_fallocate()) as the kernel does
// it, in steps at its lock boundaries: publish the hole (inode->i_private's shmem_falloc, so
// faults in it wait), unmap_mapping_range() one mapping's piece within one PTE table per step
// (i_mmap_rwsem held for read from the first zap to the last, each table under its PTE lock),
// then shmem_truncate_range() and the wake of the faults that waited. `run`, `explore` and
// MADV_REMOVE all execute this one walk.

/// Where a hole punch stands between its steps.
struct PunchWalk: Hashable, Sendable {
    var inode: InodeID
    /// The whole pages of the hole, [first, last].
    var first: UInt64
    var last: UInt64
    /// Steps taken.
    var phase = 0
    /// Where the unmap walk stopped (mm, end of the range zapped last), so that it resumes
    /// there in i_mmap order even when the VMA list changed in between.
    var after: UnmapCursor? = nil
    /// A zap of the current mapping's piece cleared an entry: its TLB flush is due when the
    /// piece ends (tlb_finish_mmu() of zap_page_range_single()).
    var flushPending = false
}

/// Where an unmap_mapping_range() walk stands: the mm and the end address of the range it
/// zapped last.
public struct UnmapCursor: Hashable, Sendable {
    public var mm: Int
    public var address: UInt64
}

extension Kernel {
    /// Models fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len), run to
    /// its end.
    public mutating func fallocatePunchHole(_ ino: InodeID, offset: UInt64, length: UInt64) -> Errno? {
        performForError(.punchHole(ino, offset: offset, length: length))
    }

    /// One step of fallocate(PUNCH_HOLE) through a file descriptor: vfs_fallocate()'s checks
    /// and the file's ->fallocate with the first step, then the shmem walk.
    mutating func punchHoleStep(_ task: inout SyscallTask, _ ino: InodeID, offset: UInt64, length: UInt64) -> StepResult {
        var walk: PunchWalk
        switch task.progress {
        case .punch(let w):
            walk = w
        default:
            guard Int(ino) < inodes.count, inodes[Int(ino)].open else { return .finished(.errno(.EBADF)) }
            if isGuestMemfd(ino) {   // kvm_gmem_punch_hole(): one step under the invalidate lock
                return .finished(kvmGmemFallocate(ino, mode: [.keepSize, .punchHole], offset: offset, length: length)
                    .map { .errno($0) } ?? .ok)
            }
            if isDax(ino) { return .finished(.errno(.EOPNOTSUPP)) }   // a device has no ->fallocate
            switch shmemPunchBegin(ino, offset: offset, length: length) {
            case .failure(let e): return .finished(.errno(e))
            case .success(nil): return .finished(.ok)
            case .success(let w?): walk = w
            }
        }
        let done = shmemPunchStep(&walk)
        task.progress = .punch(walk)
        return done ? .finished(.ok) : .running
    }

    /// shmem_fallocate(PUNCH_HOLE)'s arguments as whole pages: the walk to run, nil when the
    /// range holds no whole page (partial pages would be zeroed in place; scenarios address
    /// pages).
    func shmemPunchBegin(_ ino: InodeID, offset: UInt64, length: UInt64) -> Result<PunchWalk?, Errno> {
        guard length > 0 else { return .failure(.EINVAL) }
        let first = (offset + pageSize - 1) >> pageShift
        let end = (offset + length) >> pageShift
        guard end > first else { return .success(nil) }
        return .success(PunchWalk(inode: ino, first: first, last: end - 1))
    }

    /// Models shmem_fallocate(PUNCH_HOLE) on an inode reached through a VMA's vm_file
    /// (MADV_REMOVE, which works on MAP_SHARED|MAP_ANONYMOUS too): the same walk, run to its
    /// end within the caller's step.
    mutating func shmemFallocatePunch(_ ino: InodeID, offset: UInt64, length: UInt64) -> Errno? {
        switch shmemPunchBegin(ino, offset: offset, length: length) {
        case .failure(let e): return e
        case .success(nil): return nil
        case .success(var walk?):
            for _ in 0..<(1 << 22) {
                if shmemPunchStep(&walk) { return nil }
            }
            invariantViolations.append("shmem_fallocate did not finish (a model bug)")
            return .EIO
        }
    }

    /// One step of the shmem punch walk; returns whether the punch finished. The first step
    /// publishes the hole; each step then zaps one mapping's piece within one PTE table
    /// (zap_page_range_single() → zap_pte_range(), even_cows=0, markers kept); the last
    /// step runs shmem_truncate_range() and ends the hole.
    mutating func shmemPunchStep(_ walk: inout PunchWalk) -> Bool {
        let ino = walk.inode, first = walk.first, last = walk.last
        let targets = unmapTargets(ino, first: first, last: last, after: walk.after)
        if walk.phase == 0 {
            note("shmem_fallocate → publish shmem_falloc (pages \(first)..\(last))")
            inodes[Int(ino)].falloc = first...last
            noteFileDiscard(ino, first: first, last: last)
        }
        walk.phase += 1
        if let t = targets.first {
            let vma = mms[t.m].vmas[t.v]
            let e = punchStepEnd(t.m, t.s, t.e)   // one PTE table, or the absent ones up to the next
            let name = mms[t.m].name
            note("unmap_mapping_range → zap_page_range_single(\(name), pages "
                + "\(vma.pgoff(of: t.s))..\(vma.pgoff(of: e - pageSize)), even_cows=0)")
            if zapPTERange(t.m, vma: vma, t.s, e, details: ZapDetails(evenCOWs: false, dropMarkers: false), countFlush: false) {
                walk.flushPending = true
            }
            if e == t.e && walk.flushPending {   // the end of this mapping's piece
                costs.tlbFlushes += 1
                walk.flushPending = false
            }
            walk.after = UnmapCursor(mm: t.m, address: e)
            check()
            return false
        }
        shmemTruncateRange(ino, first: first, last: last)
        shmemFallocDone(ino)
        check()
        return true
    }

    /// Where a punch's zap step from `s` ends in mm `m`: the end of its PTE table, or, where
    /// no table exists, the start of the next one (zap_pmd_range() skips pmd_none()).
    func punchStepEnd(_ m: Int, _ s: UInt64, _ e: UInt64) -> UInt64 {
        mms[m].pageTables.lockStepEnd(s, e)
    }

    /// The name of a punch's next step, for traces.
    func punchStepName(_ task: SyscallTask, _ ino: InodeID) -> String {
        if Int(ino) < inodes.count, isGuestMemfd(ino) { return "kvm_gmem_punch_hole" }
        guard case .punch(let w) = task.progress else {
            guard case .punchHole(_, let offset, let length) = task.call,
                  case .success(let w?) = shmemPunchBegin(ino, offset: offset, length: length) else { return "shmem_fallocate" }
            return unmapTargets(ino, first: w.first, last: w.last).isEmpty ? "shmem_truncate_range" : "unmap_mapping_range"
        }
        return unmapTargets(ino, first: w.first, last: w.last, after: w.after).isEmpty ? "shmem_truncate_range" : "unmap_mapping_range"
    }

    /// The walk a punch task is at (its first step's walk before it started).
    func punchWalk(_ task: SyscallTask) -> PunchWalk? {
        if case .punch(let w) = task.progress { return w }
        guard case .punchHole(let ino, let offset, let length) = task.call, Int(ino) < inodes.count,
              case .success(let w?) = shmemPunchBegin(ino, offset: offset, length: length) else { return nil }
        return w
    }

    /// What the next step of a punch reads and writes: a zap step writes the PTEs of one
    /// mapping's piece; the truncate step drops the page-cache slots and may zap PTEs that
    /// were filled again meanwhile. The first step also publishes the hole (faults in it will
    /// sleep).
    func punchFootprint(_ task: SyscallTask) -> Footprint {
        guard let w = punchWalk(task) else { return Footprint(writes: [.global]) }
        let ino = w.inode, first = w.first, last = w.last
        var f = Footprint(reads: [.iMmap(inode: ino)])
        let slots = Resource.pageCacheSlots(inode: ino, indices: first..<(last + 1))
        if w.phase == 0 { f.writes.append(slots) }
        if let t = unmapTargets(ino, first: first, last: last, after: w.after).first {
            let e = punchStepEnd(t.m, t.s, t.e)
            f.writes.append(.ptes(mm: MMID(t.m), pages: (t.s >> pageShift)..<(e >> pageShift)))
            return f
        }
        for t in unmapTargets(ino, first: first, last: last) {
            f.writes.append(.ptes(mm: MMID(t.m), pages: (t.s >> pageShift)..<(t.e >> pageShift)))
        }
        f.writes.append(slots)
        return f
    }

    /// The lock a punch holds between its steps: unmap_mapping_range() holds i_mmap_rwsem
    /// for read from the first zap to the last.
    func punchHeldLocks(_ task: SyscallTask) -> [KernelLock] {
        guard case .punch(let w) = task.progress, w.phase > 0,
              !unmapTargets(w.inode, first: w.first, last: w.last, after: w.after).isEmpty else { return [] }
        return [.iMmapRwsem(w.inode)]
    }

    /// The mappings unmap_mapping_range() visits for file pages [first, last], in i_mmap order
    /// (processes in creation order, VMAs by address): (mm, vma, start, end) of each piece.
    /// With `after`, only what comes after that point in this order (a piece it falls in
    /// starts there).
    func unmapTargets(_ ino: InodeID, first: UInt64, last: UInt64,
                      after: UnmapCursor? = nil) -> [(m: Int, v: Int, s: UInt64, e: UInt64)] {
        var out: [(m: Int, v: Int, s: UInt64, e: UInt64)] = []
        for m in mms.indices where mms[m].alive {
            if let after, m < after.mm { continue }
            for v in mms[m].vmas.indices {
                let vma = mms[m].vmas[v]
                guard vma.inode == ino else { continue }
                let vFirst = vma.pgoff, vLast = vma.pgoff + UInt64(vma.pages) - 1
                guard vFirst <= last && vLast >= first else { continue }
                let lo = max(first, vFirst), hi = min(last, vLast)
                var s = vma.start + (lo - vma.pgoff) << pageShift
                let e = vma.start + (hi - vma.pgoff + 1) << pageShift
                if let after, m == after.mm {
                    if e <= after.address { continue }
                    s = max(s, after.address)
                }
                out.append((m, v, s, e))
            }
        }
        return out
    }
}
