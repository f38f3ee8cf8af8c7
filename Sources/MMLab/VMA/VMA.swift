// SPDX-License-Identifier: Apache-2.0
//
// Virtual memory areas (struct vm_area_struct, include/linux/mm_types.h) with the flag
// values of include/linux/mm.h.

/// vm_flags (include/linux/mm.h), with the kernel's bit values.
public struct VMFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let read = VMFlags(rawValue: 0x1)
    public static let write = VMFlags(rawValue: 0x2)
    public static let exec = VMFlags(rawValue: 0x4)
    public static let shared = VMFlags(rawValue: 0x8)
    public static let mayRead = VMFlags(rawValue: 0x10)
    public static let mayWrite = VMFlags(rawValue: 0x20)
    public static let mayExec = VMFlags(rawValue: 0x40)
    public static let mayShare = VMFlags(rawValue: 0x80)
    public static let uffdMissing = VMFlags(rawValue: 0x200)
    public static let pfnmap = VMFlags(rawValue: 0x400)
    public static let uffdWP = VMFlags(rawValue: 0x1000)
    public static let locked = VMFlags(rawValue: 0x2000)
    public static let io = VMFlags(rawValue: 0x4000)
    public static let dontCopy = VMFlags(rawValue: 0x20000)
    public static let dontExpand = VMFlags(rawValue: 0x40000)
    public static let hugetlb = VMFlags(rawValue: 0x400000)
    public static let wipeOnFork = VMFlags(rawValue: 0x2000000)
    public static let softDirty = VMFlags(rawValue: 0x8000000)
    public static let mixedMap = VMFlags(rawValue: 0x10000000)
    public static let hugepage = VMFlags(rawValue: 0x20000000)
    public static let mergeable = VMFlags(rawValue: 0x80000000)
    public static let uffdMinor = VMFlags(rawValue: 1 << 41)

    /// VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR (__VM_UFFD_FLAGS).
    public static let uffdFlags: VMFlags = [.uffdMissing, .uffdWP, .uffdMinor]
    /// VM_SPECIAL.
    public static let special: VMFlags = [.io, .dontExpand, .pfnmap, .mixedMap]
}

/// What backs a VMA.
public enum VMABacking: Hashable, Sendable {
    /// Private anonymous memory (vma_is_anonymous()).
    case anon
    /// A shmem/memfd inode (vma->vm_file, shmem_vm_ops).
    case shmem(InodeID)
}

/// One VMA.
public struct VMA: Sendable {
    public var start: UInt64
    public var end: UInt64
    public var flags: VMFlags
    public var backing: VMABacking
    /// vm_pgoff: file offset in pages; for anon, start >> PAGE_SHIFT at creation.
    public var pgoff: UInt64
    /// vma->anon_vma: the anon_vma new anon folios of this VMA belong to.
    public var anonVMA: AnonVMAID?
    /// The anon_vma chain: every anon_vma whose folios this VMA may map (after fork).
    public var anonVMAChain: [AnonVMAID] = []
    /// vma->vm_userfaultfd_ctx.
    public var uffd: UffdID?

    public var pages: Int { Int((end - start) >> pageShift) }
    public func contains(_ address: UInt64) -> Bool { address >= start && address < end }

    /// Models vma_is_anonymous().
    public var isAnonymous: Bool { if case .anon = backing { return true } else { return false } }
    public var inode: InodeID? { if case .shmem(let i) = backing { return i } else { return nil } }
    /// The page offset in the backing object of `address` (linear_page_index()).
    public func pgoff(of address: UInt64) -> UInt64 { pgoff + ((address - start) >> pageShift) }
    /// The address mapping page offset `index`, if inside this VMA (vma_address()).
    public func address(ofPgoff index: UInt64) -> UInt64? {
        guard index >= pgoff else { return nil }
        let a = start + (index - pgoff) << pageShift
        return a < end ? a : nil
    }
    /// Models is_cow_mapping(): private and may-write.
    public var isCOWMapping: Bool { !flags.contains(.shared) && flags.contains(.mayWrite) }
}

public typealias InodeID = Int32
public typealias AnonVMAID = UInt32
public typealias UffdID = Int32
public typealias MMID = Int32
