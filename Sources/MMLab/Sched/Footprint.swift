// SPDX-License-Identifier: Apache-2.0
//
// The scheduler's vocabulary: what a step of a kernel task reads and writes (its footprint),
// and the sleeping locks tasks hold between steps. The tasks themselves are SyscallTask
// (Syscall/); each mechanism declares its own footprint and locks.

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

