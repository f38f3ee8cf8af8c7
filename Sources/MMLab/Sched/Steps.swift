// SPDX-License-Identifier: Apache-2.0
//
// Kernel operations as sequences of steps at the kernel's lock boundaries. Each step runs
// atomically and declares what it reads and writes, so a scheduler can interleave the
// steps of several threads and skip permutations of independent ones.

/// A lock-protected piece of state a step touches.
public enum Resource: Hashable, Sendable, CustomStringConvertible {
    /// The PTE table (and its split PTE lock) covering one 2 MiB range of one mm.
    case pageTable(mm: MMID, pmd: UInt64)
    /// One slot of a file's page cache (the folio lock / xarray slot).
    case pageCache(inode: InodeID, index: UInt64)
    /// The VMA tree of an mm (mmap_lock).
    case vmas(mm: MMID)
    /// The i_mmap tree of a file (i_mmap_rwsem).
    case iMmap(inode: InodeID)

    public var description: String {
        switch self {
        case .pageTable(let m, let pmd): "ptl(mm\(m), 0x\(String(pmd << 21, radix: 16)))"
        case .pageCache(let i, let x): "pagecache(\(i)[\(x)])"
        case .vmas(let m): "mmap_lock(mm\(m))"
        case .iMmap(let i): "i_mmap(\(i))"
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
        for w in writes where o.reads.contains(w) || o.writes.contains(w) { return true }
        for w in o.writes where reads.contains(w) { return true }
        return false
    }
}

/// A kernel operation in progress.
public enum KernelTask: Hashable, Sendable {
    /// A user load or store; each step is one MMU attempt or one handle_mm_fault().
    case access(mm: MMID, address: UInt64, store: UInt64?)
    /// fallocate(PUNCH_HOLE): phase 0 unmap_mapping_range(), phase 1 shmem_truncate_range().
    case punchHole(inode: InodeID, first: UInt64, last: UInt64, phase: Int)
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
        case .punchHole(let ino, let first, let last, let phase):
            if phase == 0 {
                shmemPunchUnmap(ino, first: first, last: last)
                task = .punchHole(inode: ino, first: first, last: last, phase: 1)
                check()
                return .running
            }
            shmemTruncateRange(ino, first: first, last: last)
            check()
            return .finished
        }
    }

    /// What the next step of `task` reads and writes.
    public func footprint(of task: KernelTask) -> Footprint {
        switch task {
        case .access(let mm, let address, _):
            // The MMU attempt reads the PTE; a fault writes it and, for fault-around, the
            // other PTEs of the same table, and reads the page-cache slots of the window.
            var f = Footprint(reads: [.vmas(mm: mm)], writes: [.pageTable(mm: mm, pmd: address >> 21)])
            if let v = mms[Int(mm)].vmaIndex(containing: address), let ino = mms[Int(mm)].vmas[v].inode {
                let vma = mms[Int(mm)].vmas[v]
                let idx = vma.pgoff(of: address)
                let lo = idx >= 16 ? idx - 16 : 0
                for i in lo...(idx + 16) { f.writes.append(.pageCache(inode: ino, index: i)) }
            }
            return f
        case .punchHole(let ino, let first, let last, let phase):
            var f = Footprint(reads: [.iMmap(inode: ino)])
            if phase == 0 {
                for (m, mm) in mms.enumerated() where mm.alive {
                    for vma in mm.vmas where vma.inode == ino {
                        var pmd = vma.start >> 21
                        while pmd <= (vma.end - 1) >> 21 {
                            f.writes.append(.pageTable(mm: MMID(m), pmd: pmd))
                            pmd += 1
                        }
                    }
                }
            } else {
                for i in first...last { f.writes.append(.pageCache(inode: ino, index: i)) }
            }
            return f
        }
    }
}
