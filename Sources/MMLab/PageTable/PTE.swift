// SPDX-License-Identifier: Apache-2.0
//
// Page-table entries in the x86-64 encoding (arch/x86/include/asm/pgtable_types.h,
// arch/x86/include/asm/pgtable_64.h) and the arch-independent swap entry
// (include/linux/swapops.h). A PTE is a UInt64 exactly as the hardware and kernel see it.

/// A page-frame number in the model. Frame 0 is the shared zero page.
public typealias PFN = UInt32

/// One x86-64 page-table entry.
public struct PTE: Hashable, Sendable, CustomStringConvertible {
    public var raw: UInt64
    @inlinable public init(raw: UInt64) { self.raw = raw }

    // Hardware and software bits (arch/x86/include/asm/pgtable_types.h).
    public static let present: UInt64 = 1 << 0       // _PAGE_BIT_PRESENT
    public static let rw: UInt64 = 1 << 1            // _PAGE_BIT_RW
    public static let user: UInt64 = 1 << 2          // _PAGE_BIT_USER
    public static let accessed: UInt64 = 1 << 5      // _PAGE_BIT_ACCESSED
    public static let dirty: UInt64 = 1 << 6         // _PAGE_BIT_DIRTY
    public static let protnone: UInt64 = 1 << 8      // _PAGE_BIT_PROTNONE (= GLOBAL)
    public static let special: UInt64 = 1 << 9       // _PAGE_BIT_SPECIAL (SOFTW1)
    public static let uffdWP: UInt64 = 1 << 10       // _PAGE_BIT_UFFD_WP (SOFTW2)
    public static let softDirty: UInt64 = 1 << 11    // _PAGE_BIT_SOFT_DIRTY (SOFTW3)
    public static let nx: UInt64 = 1 << 63           // _PAGE_BIT_NX
    public static let pfnMask: UInt64 = 0x000F_FFFF_FFFF_F000  // PTE_PFN_MASK (52-bit physical)

    // Swap-PTE bits (arch/x86/include/asm/pgtable.h).
    public static let swpSoftDirty: UInt64 = 1 << 1  // _PAGE_SWP_SOFT_DIRTY (= _PAGE_RW)
    public static let swpUffdWP: UInt64 = 1 << 2     // _PAGE_SWP_UFFD_WP (= _PAGE_USER)
    public static let swpExclusive: UInt64 = 1 << 3 // _PAGE_SWP_EXCLUSIVE (= _PAGE_PWT)

    public static let none = PTE(raw: 0)

    /// Models pte_none().
    @inlinable public var isNone: Bool { raw == 0 }
    /// Models pte_present() on x86: PRESENT or PROTNONE.
    @inlinable public var isPresent: Bool { raw & (Self.present | Self.protnone) != 0 }
    /// Models is_swap_pte(): neither none nor present (swap, migration, marker, hwpoison…).
    @inlinable public var isSwapPTE: Bool { !isNone && !isPresent }
    /// Models pte_protnone().
    @inlinable public var isProtNone: Bool { raw & (Self.present | Self.protnone) == Self.protnone }
    @inlinable public var isWritable: Bool { raw & Self.rw != 0 }
    @inlinable public var isDirty: Bool { raw & Self.dirty != 0 }
    @inlinable public var isSpecial: Bool { raw & Self.special != 0 }
    @inlinable public var pfn: PFN { PFN(truncatingIfNeeded: (raw & Self.pfnMask) >> 12) }

    /// Models pte_uffd_wp() for present PTEs.
    @inlinable public var uffdWP: Bool { raw & Self.uffdWP != 0 }
    /// Models pte_soft_dirty() for present PTEs.
    @inlinable public var softDirty: Bool { raw & Self.softDirty != 0 }
    /// Models pte_swp_uffd_wp().
    @inlinable public var swpUffdWP: Bool { raw & Self.swpUffdWP != 0 }
    /// Models pte_swp_soft_dirty().
    @inlinable public var swpSoftDirty: Bool { raw & Self.swpSoftDirty != 0 }
    /// Models pte_swp_exclusive().
    @inlinable public var swpExclusive: Bool { raw & Self.swpExclusive != 0 }

    /// Models pfn_pte(pfn, prot): a present entry for `pfn` with protection bits `prot`.
    @inlinable public static func make(pfn: PFN, prot: UInt64) -> PTE {
        PTE(raw: (UInt64(pfn) << 12) & pfnMask | prot)
    }

    @inlinable public func with(_ bits: UInt64) -> PTE { PTE(raw: raw | bits) }
    @inlinable public func without(_ bits: UInt64) -> PTE { PTE(raw: raw & ~bits) }

    /// Models pte_mkdirty(): on x86 it sets soft-dirty too (when CONFIG_MEM_SOFT_DIRTY).
    @inlinable public func mkdirty(softDirtyConfigured: Bool) -> PTE {
        with(Self.dirty | (softDirtyConfigured ? Self.softDirty : 0))
    }
    /// Models pte_mkuffd_wp(): sets the bit and write-protects.
    @inlinable public func mkUffdWP() -> PTE { with(Self.uffdWP).without(Self.rw) }

    // MARK: swap entries

    /// Models pte_to_swp_entry() (x86 __swp_type / __swp_offset, then swp_entry()).
    @inlinable public var swapEntry: SwapEntry {
        let type = UInt8(truncatingIfNeeded: raw >> 59)
        let offset = ((~raw) << 5) >> 14
        return SwapEntry(type: type, offset: offset)
    }

    /// Models swp_entry_to_pte() (x86 __swp_entry): type in bits 59–63, ~offset in 9–58.
    @inlinable public static func swap(_ e: SwapEntry) -> PTE {
        let off = ((~e.offset) << 14) >> 5
        return PTE(raw: off | (UInt64(e.type) << 59))
    }

    public var description: String {
        "0x" + String(raw, radix: 16)
    }
}

/// The arch-independent swap entry: a 5-bit type and an offset (include/linux/swapops.h).
public struct SwapEntry: Hashable, Sendable {
    public var type: UInt8
    public var offset: UInt64
    @inlinable public init(type: UInt8, offset: UInt64) {
        self.type = type
        self.offset = offset
    }

    /// MAX_SWAPFILES with CONFIG_DEVICE_PRIVATE: 32 − 3 − 3 − 1 − 1.
    public static let maxSwapfiles: UInt8 = 24
    /// SWP_HWPOISON.
    public static let hwpoisonType: UInt8 = 24
    /// SWP_PTE_MARKER: always 31.
    public static let markerType: UInt8 = 31

    /// Models non_swap_entry(): false for real swap devices.
    @inlinable public var isRealSwap: Bool { type < Self.maxSwapfiles }
    /// Models is_pte_marker_entry().
    @inlinable public var isMarker: Bool { type == Self.markerType }
}

/// PTE marker bits (include/linux/swapops.h).
public struct PTEMarker: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// PTE_MARKER_UFFD_WP.
    public static let uffdWP = PTEMarker(rawValue: 1 << 0)
    /// PTE_MARKER_POISONED.
    public static let poisoned = PTEMarker(rawValue: 1 << 1)
    /// PTE_MARKER_GUARD.
    public static let guard_ = PTEMarker(rawValue: 1 << 2)
    /// PTE_MARKER_PAGEOUT of Peter Xu's RFC (2021), as BIT(3) on 6.18: reclaim left it where
    /// it unmapped a shmem folio (design pagemap.shmem_swap = marker only).
    public static let pageout = PTEMarker(rawValue: 1 << 3)

    /// Models make_pte_marker(): a swap PTE of type SWP_PTE_MARKER whose offset is the bits.
    public var pte: PTE { PTE.swap(SwapEntry(type: SwapEntry.markerType, offset: rawValue)) }
}

extension PTE {
    /// Models is_pte_marker() + pte_marker_get(): the marker bits, or nil.
    @inlinable public var marker: PTEMarker? {
        guard isSwapPTE else { return nil }
        let e = swapEntry
        // PTE_MARKER_MASK: 6.18's three bits, and PTE_MARKER_PAGEOUT of design
        // pagemap.shmem_swap = marker (which only that design ever sets).
        return e.isMarker ? PTEMarker(rawValue: e.offset & 0b1111) : nil
    }
}
