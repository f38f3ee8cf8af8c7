// SPDX-License-Identifier: Apache-2.0
//
// Kernel operations as sequences of steps at the kernel's lock boundaries. Each step runs
// atomically and declares what it reads and writes, so a scheduler can interleave the
// steps of several threads and skip permutations of independent ones.

/// A lock-protected piece of state a step touches.
public enum Resource: Hashable, Sendable, CustomStringConvertible {
    /// The PTE table (and its split PTE lock) covering one 2 MiB range of one mm.
    case pageTable(mm: MMID, pmd: UInt64)
    /// One PTE (mm, virtual page number): what the step reads or changes under the PTE lock.
    case pte(mm: MMID, page: UInt64)
    /// The content of one frame (a store writes it).
    case frame(PFN)
    /// One slot of a file's page cache (the folio lock / xarray slot).
    case pageCache(inode: InodeID, index: UInt64)
    /// The VMA tree of an mm (mmap_lock).
    case vmas(mm: MMID)
    /// The i_mmap tree of a file (i_mmap_rwsem).
    case iMmap(inode: InodeID)
    /// Anonymous folios shared copy-on-write between processes (their mapcounts decide
    /// reuse or copy), taken coarsely as one resource.
    case anonMemory
    /// Everything: a step that declares this conflicts with every other step.
    case global

    public var description: String {
        switch self {
        case .pageTable(let m, let pmd): "ptl(mm\(m), 0x\(String(pmd << 21, radix: 16)))"
        case .pte(let m, let p): "pte(mm\(m), 0x\(String(p << 12, radix: 16)))"
        case .frame(let f): "frame \(f)"
        case .pageCache(let i, let x): "pagecache(\(i)[\(x)])"
        case .vmas(let m): "mmap_lock(mm\(m))"
        case .iMmap(let i): "i_mmap(\(i))"
        case .anonMemory: "anon folios"
        case .global: "everything"
        }
    }
}

/// What a step reads and writes.
public struct Footprint: Hashable, Sendable {
    public var reads: [Resource] = []
    public var writes: [Resource] = []
    public init(reads: [Resource] = [], writes: [Resource] = []) {
        self.reads = reads
        self.writes = writes
    }
    /// Whether two steps conflict (one writes what the other touches): their order matters.
    public func conflicts(with o: Footprint) -> Bool {
        if writes.contains(.global) || o.writes.contains(.global) { return true }
        for w in writes where o.reads.contains(w) || o.writes.contains(w) { return true }
        for w in o.writes where reads.contains(w) { return true }
        return false
    }
}

/// A kernel operation in progress.
public enum KernelTask: Hashable, Sendable {
    /// A user load or store; each step is one MMU attempt or one handle_mm_fault().
    case access(mm: MMID, address: UInt64, store: UInt64?)
    /// fallocate(PUNCH_HOLE): unmap_mapping_range() one mapping's piece within one PTE table
    /// per step (zap_page_range_single() → zap_pte_range() under each table's lock), then
    /// shmem_truncate_range(). `phase` counts the steps taken; `after` is where the walk
    /// stopped (mm, end of the range zapped last), so that it resumes there in i_mmap order
    /// even when the VMA list changed in between.
    case punchHole(inode: InodeID, first: UInt64, last: UInt64, phase: Int, after: UnmapCursor? = nil)
    /// UFFDIO_WRITEPROTECT: mwriteprotect_range() holds mmap_lock for read over the whole
    /// walk and changes one VMA piece within one PTE table per step (change_protection()
    /// takes each table's PTE lock in turn); the wake (unprotect without DONTWAKE) ends the
    /// last step. `next` is where the walk goes on (nil before the first step).
    case writeProtect(uffd: UffdID, start: UInt64, end: UInt64, protect: Bool, dontwake: Bool, next: UInt64? = nil)
    /// UFFDIO_COPY, ZEROPAGE, CONTINUE, POISON: mfill_atomic() holds mmap_lock for read and
    /// fills one page per step; `done` counts the pages filled (nil before the first step).
    case mfill(uffd: UffdID, start: UInt64, end: UInt64, mode: MfillMode, wp: Bool, dontwake: Bool, done: Int? = nil)
    /// PAGEMAP_SCAN: one VMA piece within one PTE table per step, mmap_lock held for read.
    case pagemapScan(mm: MMID, args: PagemapScanArgs, state: PagemapScanState)
}

/// A sleeping lock a multi-step kernel task holds between its steps, always for read here
/// (the tasks that would hold one for write, mmap and munmap, run as a single step).
public enum KernelLock: Hashable, Sendable, CustomStringConvertible {
    /// mm->mmap_lock.
    case mmapLock(MMID)
    /// mapping->i_mmap_rwsem of a file.
    case iMmapRwsem(InodeID)

    public var description: String {
        switch self {
        case .mmapLock(let m): "mmap_lock(mm\(m))"
        case .iMmapRwsem(let i): "i_mmap_rwsem(\(i))"
        }
    }
}

/// The next piece of a UFFDIO_WRITEPROTECT walk.
enum WriteProtectPiece: Equatable {
    /// VMA `v`, [s, e): within one VMA and one PTE table.
    case piece(v: Int, s: UInt64, e: UInt64)
    /// The next VMA of the range is not registered for wp: the walk stops with ENOENT.
    case notRegistered
    /// No VMA left in the range.
    case none
}

/// Where an unmap_mapping_range() walk stands: the mm and the end address of the range it
/// zapped last.
public struct UnmapCursor: Hashable, Sendable {
    public var mm: Int
    public var address: UInt64
}

/// The outcome of one step.
public enum TaskStep: Hashable, Sendable {
    case running
    case finishedAccess(AccessResult)
    case finished
    /// A system call or ioctl finished with this error (nil: success).
    case finishedCall(Errno?)
    /// PAGEMAP_SCAN finished: the regions it reports, or its error.
    case finishedScan(Result<[PageRegion], Errno>)
}

extension Kernel {
    /// Runs one step of `task`, advancing it.
    public mutating func step(_ task: inout KernelTask) -> TaskStep {
        switch task {
        case .access(let mm, let address, let store):
            switch accessStep(mm, address, store: store) {
            case .faulted: return .running
            case .completed(let r): return .finishedAccess(r)
            }
        case .punchHole(let ino, let first, let last, let phase, let after):
            if isGuestMemfd(ino) {   // kvm_gmem_punch_hole(): one step under the invalidate lock
                _ = kvmGmemFallocate(ino, mode: [.keepSize, .punchHole], offset: first << pageShift,
                                     length: (last - first + 1) << pageShift)
                return .finished
            }
            // unmap_mapping_range() zaps one mapping (one VMA, under its PTE locks) at a time
            // while holding i_mmap_rwsem for read, so faults of other threads may run between
            // two mappings; then shmem_truncate_range().
            let targets = unmapTargets(ino, first: first, last: last, after: after)
            if phase == 0 {
                note("shmem_fallocate → publish shmem_falloc (pages \(first)..\(last))")
                inodes[Int(ino)].falloc = first...last
                noteFileDiscard(ino, first: first, last: last)
            }
            if let t = targets.first {
                let vma = mms[t.m].vmas[t.v]
                let e = min(t.e, (t.s | (pmdSize - 1)) + 1)   // one PTE table
                let what = "unmap_mapping_range → zap_page_range_single(\(mms[t.m].name), pages "
                    + "\(vma.pgoff(of: t.s))..\(vma.pgoff(of: e - pageSize)), even_cows=0)"
                note(what)
                zapPTERange(t.m, vma: vma, t.s, e, details: ZapDetails(evenCOWs: false, dropMarkers: false))
                task = .punchHole(inode: ino, first: first, last: last, phase: phase + 1,
                                  after: UnmapCursor(mm: t.m, address: e))
                check()
                return .running
            }
            shmemTruncateRange(ino, first: first, last: last)
            shmemFallocDone(ino)
            check()
            return .finished
        case .mfill:
            return mfillStep(&task)
        case .pagemapScan:
            return pagemapScanStep(&task)
        case .writeProtect(let u, let start, let end, let protect, let dontwake, let next):
            if next == nil, let e = uffdWriteProtectCheck(u, start: start, end: end, protect: protect, dontwake: dontwake) {
                return .finishedCall(e)
            }
            let m = Int(uffds[Int(u)].mm)
            switch writeProtectPiece(m, from: next ?? start, end: end) {
            case .none, .notRegistered:
                return .finishedCall(.ENOENT)   // no VMA at all, or the first one is not registered
            case .piece(let v, let s, let e):
                let vma = mms[m].vmas[v], name = mms[m].name
                note("mwriteprotect_range → uffd_wp_range(\(name), 0x\(String(s, radix: 16))..0x\(String(e, radix: 16)), \(protect ? "wp" : "unwp"))")
                uffdWPRange(m, v, s, e, enable: protect, flush: e == vma.end || e == end)
                noteWriteProtect(m, s, e, protect: protect)
                check()
                switch writeProtectPiece(m, from: e, end: end) {
                case .piece:
                    task = .writeProtect(uffd: u, start: start, end: end, protect: protect, dontwake: dontwake, next: e)
                    return .running
                case .notRegistered:
                    return .finishedCall(.ENOENT)
                case .none:
                    if !protect && !dontwake {
                        note("wake_userfault")
                        wakeUserfault(u, start, end)
                    }
                    check()
                    return .finishedCall(nil)
                }
            }
        }
    }

    /// Runs `task` step after step to its end, as `run` does (no other thread in between);
    /// returns the error it finished with.
    mutating func runToEnd(_ task: KernelTask) -> Errno? {
        var task = task
        for _ in 0..<(1 << 22) {   // more steps than any range has PTE tables or pages: a model bug
            switch step(&task) {
            case .running: continue
            case .finishedCall(let e): return e
            case .finishedScan(let r): if case .failure(let e) = r { return e } else { return nil }
            case .finished, .finishedAccess: return nil
            }
        }
        invariantViolations.append("\(stepName(of: task)) did not finish (a model bug)")
        return .EIO
    }

    /// The piece of a UFFDIO_WRITEPROTECT walk at or after `from`: mwriteprotect_range()
    /// visits the VMAs of the range in order, skipping holes; change_protection() then walks
    /// each VMA's part one PTE table at a time.
    func writeProtectPiece(_ m: Int, from: UInt64, end: UInt64) -> WriteProtectPiece {
        guard from < end else { return .none }
        guard let v = mms[m].vmas.firstIndex(where: { $0.end > from && $0.start < end }) else { return .none }
        let vma = mms[m].vmas[v]
        guard vma.flags.contains(.uffdWP) else { return .notRegistered }
        let s = max(from, vma.start)
        return .piece(v: v, s: s, e: min(end, vma.end, (s | (pmdSize - 1)) + 1))
    }

    /// The locks a task holds between its steps (for read): a scheduler must not run a step
    /// that takes one of them for write (munmap, mmap, mprotect, fork…) until the task ends.
    public func heldLocks(of task: KernelTask) -> [KernelLock] {
        switch task {
        case .access:
            return []
        case .punchHole(let ino, let first, let last, let phase, let after):
            // unmap_mapping_range() holds i_mmap_rwsem for read from the first zap to the last.
            guard phase > 0, !isGuestMemfd(ino), !unmapTargets(ino, first: first, last: last, after: after).isEmpty else { return [] }
            return [.iMmapRwsem(ino)]
        case .writeProtect(let u, _, _, _, _, let next):
            return next == nil ? [] : [.mmapLock(uffds[Int(u)].mm)]
        case .mfill(let u, _, _, _, _, _, let done):
            return done == nil ? [] : [.mmapLock(uffds[Int(u)].mm)]
        case .pagemapScan(let mm, _, let st):
            return st.position == nil ? [] : [.mmapLock(mm)]
        }
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

    /// A name for the next step of a task, in kernel terms (for traces).
    public func stepName(of task: KernelTask) -> String {
        switch task {
        case .access: return "access"
        case .punchHole(let ino, let first, let last, _, let after):
            if isGuestMemfd(ino) { return "kvm_gmem_punch_hole" }
            return unmapTargets(ino, first: first, last: last, after: after).isEmpty ? "shmem_truncate_range" : "unmap_mapping_range"
        case .writeProtect:
            return "userfaultfd_writeprotect"
        case .mfill(_, _, _, let mode, _, _, _):
            switch mode {
            case .copy: return "userfaultfd_copy"
            case .zeropage: return "userfaultfd_zeropage"
            case .continue: return "userfaultfd_continue"
            case .poison: return "userfaultfd_poison"
            }
        case .pagemapScan:
            return "do_pagemap_scan"
        }
    }

    /// What the next step of `task` reads and writes.
    public func footprint(of task: KernelTask) -> Footprint {
        switch task {
        case .access(let mm, let address, let store):
            // Decided on the current state: an access the PTE permits is an MMU attempt that
            // reads that PTE (and, for a store, writes the frame); otherwise the step is a
            // fault, which writes the PTEs it may fill (the fault-around window for a read on
            // a file VMA) and the page-cache slots behind them.
            let m = Int(mm)
            let page = address >> pageShift
            let pte = mms[m].pageTables.pte(address & ~(pageSize - 1))
            if pte.isPresent && !pte.isProtNone && (store == nil || pte.isWritable) {
                // A load from a corrupted frame is a machine check: memory_failure() unmaps
                // the folio from every process.
                if store == nil && !corruptedPFNs.isEmpty && corruptedPFNs.contains(pte.pfn) {
                    return Footprint(writes: [.global])
                }
                var f = Footprint(reads: [.pte(mm: mm, page: page)])
                if store != nil { f.writes.append(.frame(pte.pfn)) } else { f.reads.append(.frame(pte.pfn)) }
                return f
            }
            var f = Footprint(reads: [.vmas(mm: mm)], writes: [])
            guard let v = mms[m].vmaIndex(containing: address) else { return f }
            let vma = mms[m].vmas[v]
            let window: ClosedRange<UInt64>
            if store == nil && vma.inode != nil {
                let nr = UInt64(max(config.faultAroundPages, 1))
                let lo = max(vma.start >> pageShift, page >= nr ? page - nr : 0)
                let hi = min((vma.end >> pageShift) - 1, page + nr)
                window = lo...hi
            } else {
                window = page...page
            }
            for p in window {
                f.writes.append(.pte(mm: mm, page: p))
                if let ino = vma.inode { f.writes.append(.pageCache(inode: ino, index: vma.pgoff(of: p << pageShift))) }
            }
            if vma.inode == nil || !vma.flags.contains(.shared) { f.writes.append(.anonMemory) }
            if pte.isPresent { f.writes.append(.frame(pte.pfn)) }
            return f
        case .punchHole(let ino, let first, let last, let phase, let after):
            // A zap step writes the PTEs of one mapping of the range; the truncate step drops
            // the page-cache slots and may zap PTEs that were filled again meanwhile. The first
            // step also publishes the hole (faults in it will sleep).
            var f = Footprint(reads: [.iMmap(inode: ino)])
            if phase == 0 { for i in first...last { f.writes.append(.pageCache(inode: ino, index: i)) } }
            if let t = unmapTargets(ino, first: first, last: last, after: after).first {
                var a = t.s
                let e = min(t.e, (t.s | (pmdSize - 1)) + 1)
                while a < e { f.writes.append(.pte(mm: MMID(t.m), page: a >> pageShift)); a += pageSize }
                return f
            }
            for t in unmapTargets(ino, first: first, last: last) {
                var a = t.s
                while a < t.e { f.writes.append(.pte(mm: MMID(t.m), page: a >> pageShift)); a += pageSize }
            }
            for i in first...last { f.writes.append(.pageCache(inode: ino, index: i)) }
            return f
        case .writeProtect(let u, let start, let end, let protect, let dontwake, let next):
            // One PTE table's piece: its PTEs change under the PTE lock, mmap_lock is held for
            // read. The last step wakes the faults waiting in the range (conflicts with all).
            guard Int(u) < uffds.count else { return Footprint(writes: [.global]) }
            let mm = uffds[Int(u)].mm, m = Int(mm)
            guard mms[m].alive, case .piece(_, let s, let e) = writeProtectPiece(m, from: next ?? start, end: end) else {
                return Footprint(reads: [.vmas(mm: mm)])
            }
            var f = Footprint(reads: [.vmas(mm: mm)])
            var a = s
            while a < e { f.writes.append(.pte(mm: mm, page: a >> pageShift)); a += pageSize }
            if !protect && !dontwake, writeProtectPiece(m, from: e, end: end) == .none { f.writes.append(.global) }
            return f
        case .mfill(let u, let start, let end, _, _, let dontwake, let done):
            // One page under its PTE lock (and its page-cache slot for shmem); the last step
            // wakes the faults waiting on the filled range (conflicts with all).
            guard Int(u) < uffds.count else { return Footprint(writes: [.global]) }
            let mm = uffds[Int(u)].mm, m = Int(mm)
            let a = start + UInt64(done ?? 0) << pageShift
            var f = Footprint(reads: [.vmas(mm: mm)], writes: [.pte(mm: mm, page: a >> pageShift)])
            if mms[m].alive, let v = mms[m].vmaIndex(containing: a), let ino = mms[m].vmas[v].inode {
                f.writes.append(.pageCache(inode: ino, index: mms[m].vmas[v].pgoff(of: a)))
            }
            if mms[m].alive, mms[m].vmaIndex(containing: a).map({ mms[m].vmas[$0].inode == nil }) ?? false { f.writes.append(.anonMemory) }
            if a + pageSize >= end && !dontwake { f.writes.append(.global) }
            return f
        case .pagemapScan(let mm, let args, let st):
            // One table's PTEs, read (and written with WP_MATCHING: the scan write-protects
            // what it reports written), mmap_lock held for read.
            guard Int(mm) < mms.count, mms[Int(mm)].alive, let r = pagemapScanNextPiece(mm, args, st) else {
                return Footprint(reads: [.vmas(mm: mm)])
            }
            var f = Footprint(reads: [.vmas(mm: mm)])
            var a = r.lowerBound
            while a < r.upperBound {
                if args.wpMatching { f.writes.append(.pte(mm: mm, page: a >> pageShift)) } else { f.reads.append(.pte(mm: mm, page: a >> pageShift)) }
                a += pageSize
            }
            return f
        }
    }
}
