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
    /// fallocate(PUNCH_HOLE): unmap_mapping_range() one mapping per step, then
    /// shmem_truncate_range(). `phase` counts the steps taken; `after` is the last mapping
    /// zapped (mm, start address), so that the walk resumes after it in i_mmap order even
    /// when another thread changed the VMA list in between.
    case punchHole(inode: InodeID, first: UInt64, last: UInt64, phase: Int, after: UnmapCursor? = nil)
}

/// Where an unmap_mapping_range() walk stands: the mm and start address of the piece it
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
                let what = "unmap_mapping_range → zap_page_range_single(\(mms[t.m].name), pages "
                    + "\(max(first, vma.pgoff))..\(min(last, vma.pgoff + UInt64(vma.pages) - 1)), even_cows=0)"
                note(what)
                zapPTERange(t.m, vma: vma, t.s, t.e, details: ZapDetails(evenCOWs: false, dropMarkers: false))
                task = .punchHole(inode: ino, first: first, last: last, phase: phase + 1,
                                  after: UnmapCursor(mm: t.m, address: t.s))
                check()
                return .running
            }
            shmemTruncateRange(ino, first: first, last: last)
            shmemFallocDone(ino)
            check()
            return .finished
        }
    }

    /// The mappings unmap_mapping_range() visits for file pages [first, last], in i_mmap order
    /// (processes in creation order, VMAs by address): (mm, vma, start, end) of each piece.
    /// With `after`, only the pieces that come after that one in this order.
    func unmapTargets(_ ino: InodeID, first: UInt64, last: UInt64,
                      after: UnmapCursor? = nil) -> [(m: Int, v: Int, s: UInt64, e: UInt64)] {
        var out: [(m: Int, v: Int, s: UInt64, e: UInt64)] = []
        for m in mms.indices where mms[m].alive {
            if let after, m < after.mm { continue }
            for v in mms[m].vmas.indices {
                let vma = mms[m].vmas[v]
                guard vma.inode == ino else { continue }
                let lo0 = vma.start + (max(first, vma.pgoff) &- vma.pgoff) << pageShift
                if let after, m == after.mm, lo0 <= after.address { continue }
                let vFirst = vma.pgoff, vLast = vma.pgoff + UInt64(vma.pages) - 1
                guard vFirst <= last && vLast >= first else { continue }
                let lo = max(first, vFirst), hi = min(last, vLast)
                out.append((m, v, vma.start + (lo - vma.pgoff) << pageShift, vma.start + (hi - vma.pgoff + 1) << pageShift))
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
                while a < t.e { f.writes.append(.pte(mm: MMID(t.m), page: a >> pageShift)); a += pageSize }
                return f
            }
            for t in unmapTargets(ino, first: first, last: last) {
                var a = t.s
                while a < t.e { f.writes.append(.pte(mm: MMID(t.m), page: a >> pageShift)); a += pageSize }
            }
            for i in first...last { f.writes.append(.pageCache(inode: ino, index: i)) }
            return f
        }
    }
}
