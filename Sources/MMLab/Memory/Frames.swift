// SPDX-License-Identifier: Apache-2.0
//
// Physical memory: one 24-byte record per order-0 folio (struct folio / struct page in
// include/linux/mm_types.h), kept in one array indexed by PFN. Frame 0 is the shared
// zero page (mm/memory.c, ZERO_PAGE), which is never refcounted or freed.

/// Folio and page flags the model tracks (include/linux/page-flags.h).
public struct FolioFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The frame is allocated (not on the free list).
    public static let allocated = FolioFlags(rawValue: 1 << 0)
    /// PG_uptodate.
    public static let uptodate = FolioFlags(rawValue: 1 << 1)
    /// PG_dirty.
    public static let dirty = FolioFlags(rawValue: 1 << 2)
    /// PG_swapcache.
    public static let swapcache = FolioFlags(rawValue: 1 << 3)
    /// PG_anon_exclusive (per page; the model's folios are order-0).
    public static let anonExclusive = FolioFlags(rawValue: 1 << 4)
    /// folio_test_anon(): mapping is an anon_vma.
    public static let anon = FolioFlags(rawValue: 1 << 5)
    /// folio_test_ksm().
    public static let ksm = FolioFlags(rawValue: 1 << 6)
    /// PG_unevictable.
    public static let unevictable = FolioFlags(rawValue: 1 << 7)
    /// PG_hwpoison.
    public static let hwpoison = FolioFlags(rawValue: 1 << 8)
    /// PG_active (MADV_COLD clears it).
    public static let active = FolioFlags(rawValue: 1 << 9)
    /// PG_referenced.
    public static let referenced = FolioFlags(rawValue: 1 << 10)
    /// PG_swapbacked (anon and shmem).
    public static let swapbacked = FolioFlags(rawValue: 1 << 11)
    /// The frame is in a file's page cache (folio->mapping is an address_space).
    public static let pagecache = FolioFlags(rawValue: 1 << 12)
    /// PG_lru: on an LRU list (every allocated user folio in the model).
    public static let lru = FolioFlags(rawValue: 1 << 13)
}

/// The model's struct folio for an order-0 page, as one value (stored as parallel arrays).
public struct Frame: Sendable {
    /// The page's content token (0 = zero-filled).
    public var token: UInt64
    /// folio->mapping and folio->index packed: mapping id in the top 24 bits, index below.
    public var owner: UInt64
    /// folio_ref_count(): references held by mappings, the page cache and the swap cache.
    public var refcount: UInt16
    /// folio_mapcount(): PTEs that map it (CONFIG_PAGE_MAPCOUNT, order-0: exact).
    public var mapcount: UInt16
    public var flags: FolioFlags

    public var mappingID: UInt32 { UInt32(truncatingIfNeeded: owner >> 40) }
    public var index: UInt64 { owner & ((1 << 40) - 1) }
    public static func owner(mapping: UInt32, index: UInt64) -> UInt64 {
        UInt64(mapping) << 40 | (index & ((1 << 40) - 1))
    }
}

/// All of physical memory (mm/page_alloc.c): the frames, stored as parallel arrays (the
/// token, the owner, the two counts, the flags: 22 bytes a frame), and the free list.
public struct FrameTable: Sendable {
    var tokens: [UInt64]
    var owners: [UInt64]
    /// refcount in the low 16 bits, mapcount in the high 16 bits.
    var counts: [UInt32]
    var flagBits: [UInt16]
    /// Freed PFNs, reused last-freed-first as the page allocator's per-cpu lists do.
    var freeList: [PFN] = []
    public internal(set) var allocatedCount: Int = 0

    /// The shared zero page (my_zero_pfn()).
    public static let zeroPFN: PFN = 0

    init() {
        tokens = [0]
        owners = [0]
        counts = [0]
        flagBits = [UInt16(truncatingIfNeeded: FolioFlags([.allocated, .uptodate]).rawValue)]
    }

    /// Frames ever allocated (the highest PFN + 1).
    public var count: Int { tokens.count }

    mutating func append(_ f: Frame) {
        if tokens.count == tokens.capacity {
            // Grow by an eighth, not double: model state per page is a measured figure.
            let n = tokens.count + tokens.count / 8 + 4096
            tokens.reserveCapacity(n)
            owners.reserveCapacity(n)
            counts.reserveCapacity(n)
            flagBits.reserveCapacity(n)
        }
        tokens.append(f.token)
        owners.append(f.owner)
        counts.append(UInt32(f.refcount) | UInt32(f.mapcount) << 16)
        flagBits.append(UInt16(truncatingIfNeeded: f.flags.rawValue))
    }

    /// Models folio_alloc() of an order-0 folio holding `token`; the caller sets ownership.
    mutating func alloc(token: UInt64) -> PFN {
        allocatedCount += 1
        let f = Frame(token: token, owner: 0, refcount: 0, mapcount: 0, flags: [.allocated, .uptodate, .lru])
        if let pfn = freeList.popLast() {
            self[pfn] = f
            return pfn
        }
        append(f)
        return PFN(tokens.count - 1)
    }

    /// Models the final folio_put() freeing a folio.
    mutating func free(_ pfn: PFN) {
        precondition(pfn != Self.zeroPFN, "the zero page is never freed")
        flagBits[Int(pfn)] = 0
        owners[Int(pfn)] = 0
        allocatedCount -= 1
        freeList.append(pfn)
    }

    public subscript(pfn: PFN) -> Frame {
        get {
            let i = Int(pfn)
            return Frame(token: tokens[i], owner: owners[i], refcount: UInt16(truncatingIfNeeded: counts[i]),
                         mapcount: UInt16(truncatingIfNeeded: counts[i] >> 16),
                         flags: FolioFlags(rawValue: UInt32(flagBits[i])))
        }
        set {
            let i = Int(pfn)
            tokens[i] = newValue.token
            owners[i] = newValue.owner
            counts[i] = UInt32(newValue.refcount) | UInt32(newValue.mapcount) << 16
            flagBits[i] = UInt16(truncatingIfNeeded: newValue.flags.rawValue)
        }
    }

    /// The content token of `pfn` (one array read; the hot path of every access).
    @inline(__always) func token(_ pfn: PFN) -> UInt64 { tokens[Int(pfn)] }
    /// Stores a token in `pfn` (one array write).
    @inline(__always) mutating func setToken(_ pfn: PFN, _ t: UInt64) { tokens[Int(pfn)] = t }

    /// The flags of `pfn` (one array read).
    @inline(__always) func flags(_ pfn: PFN) -> FolioFlags { FolioFlags(rawValue: UInt32(flagBits[Int(pfn)])) }

    /// One more mapping: mapcount and refcount up by one (one array write).
    @inline(__always) mutating func addMapping(_ pfn: PFN) { counts[Int(pfn)] &+= 0x0001_0001 }
    /// One mapping less: mapcount and refcount down by one; returns the refcount left.
    @inline(__always) mutating func removeMapping(_ pfn: PFN) -> UInt16 {
        counts[Int(pfn)] &-= 0x0001_0001
        return UInt16(truncatingIfNeeded: counts[Int(pfn)])
    }
    /// One reference less; returns the refcount left.
    @inline(__always) mutating func dropReference(_ pfn: PFN) -> UInt16 {
        counts[Int(pfn)] &-= 1
        return UInt16(truncatingIfNeeded: counts[Int(pfn)])
    }

    /// Whether `pfn` is an allocated frame (or the zero page).
    public func isAllocated(_ pfn: PFN) -> Bool {
        Int(pfn) < tokens.count && flagBits[Int(pfn)] & UInt16(FolioFlags.allocated.rawValue) != 0
    }

    /// Bytes this table occupies, by capacity.
    public var bytes: Int {
        tokens.capacity * 8 + owners.capacity * 8 + counts.capacity * 4 + flagBits.capacity * 2
            + freeList.capacity * MemoryLayout<PFN>.stride
    }
}
