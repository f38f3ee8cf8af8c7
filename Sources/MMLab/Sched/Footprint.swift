// SPDX-License-Identifier: Apache-2.0
//
// The scheduler's vocabulary: what a step of a kernel task reads and writes (its footprint),
// and the sleeping locks tasks hold between steps. The tasks themselves are SyscallTask
// (Syscall/); each mechanism declares its own footprint and locks.

/// A lock-protected piece of state a step touches. PTEs and page-cache slots come as ranges,
/// so that a step over a large range costs one resource, not one per page.
public enum Resource: Hashable, Sendable, CustomStringConvertible {
    /// The PTE table (and its split PTE lock) covering one 2 MiB range of one mm.
    case pageTable(mm: MMID, pmd: UInt64)
    /// PTEs of one mm (virtual page numbers): what the step reads or changes under the PTE lock.
    case ptes(mm: MMID, pages: Range<UInt64>)
    /// The content of one frame (a store writes it).
    case frame(PFN)
    /// Slots of a file's page cache (the folio lock / xarray slot), by page index.
    case pageCacheSlots(inode: InodeID, indices: Range<UInt64>)
    /// The VMA tree of an mm (mmap_lock).
    case vmas(mm: MMID)
    /// The i_mmap tree of a file (i_mmap_rwsem).
    case iMmap(inode: InodeID)
    /// Anonymous folios shared copy-on-write between processes (their mapcounts decide
    /// reuse or copy), taken coarsely as one resource.
    case anonMemory
    /// Everything: a step that declares this conflicts with every other step.
    case global

    /// One PTE (mm, virtual page number).
    public static func pte(mm: MMID, page: UInt64) -> Resource { .ptes(mm: mm, pages: page..<(page &+ 1)) }
    /// One slot of a file's page cache.
    public static func pageCache(inode: InodeID, index: UInt64) -> Resource {
        .pageCacheSlots(inode: inode, indices: index..<(index &+ 1))
    }

    /// Whether two resources share state (ranges overlap, or the same resource).
    public func overlaps(_ o: Resource) -> Bool {
        switch (self, o) {
        case (.ptes(let m1, let r1), .ptes(let m2, let r2)): return m1 == m2 && r1.overlaps(r2)
        case (.pageCacheSlots(let i1, let r1), .pageCacheSlots(let i2, let r2)): return i1 == i2 && r1.overlaps(r2)
        default: return self == o
        }
    }

    public var description: String {
        switch self {
        case .pageTable(let m, let pmd): "ptl(mm\(m), 0x\(String(pmd << 21, radix: 16)))"
        case .ptes(let m, let p) where p.count == 1: "pte(mm\(m), 0x\(String(p.lowerBound << 12, radix: 16)))"
        case .ptes(let m, let p): "ptes(mm\(m), 0x\(String(p.lowerBound << 12, radix: 16))..0x\(String(p.upperBound << 12, radix: 16)))"
        case .frame(let f): "frame \(f)"
        case .pageCacheSlots(let i, let x) where x.count == 1: "pagecache(\(i)[\(x.lowerBound)])"
        case .pageCacheSlots(let i, let x): "pagecache(\(i)[\(x.lowerBound)..<\(x.upperBound)])"
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
    /// Whether the step writes some of `r` (a page of a PTE range, a page-cache slot…).
    public func writesTo(_ r: Resource) -> Bool { writes.contains { $0.overlaps(r) } }

    /// Whether two steps conflict (one writes what the other touches): their order matters.
    public func conflicts(with o: Footprint) -> Bool {
        if writes.contains(.global) || o.writes.contains(.global) { return true }
        for w in writes where o.reads.contains(where: w.overlaps) || o.writes.contains(where: w.overlaps) { return true }
        for w in o.writes where reads.contains(where: w.overlaps) { return true }
        return false
    }
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

