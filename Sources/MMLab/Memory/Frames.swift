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
public struct Frame: Sendable, Equatable, SparseEntry {
    /// The page's content token (0 = zero-filled).
    public var token: UInt64
    /// folio->mapping: an anon_vma id, or a file's mapping id (its inode + 1); 0 for none.
    public var mappingID: UInt32
    /// folio->index: the page offset in the mapping.
    public var index: UInt64
    /// folio_ref_count(): references held by mappings, the page cache and the swap cache.
    public var refcount: UInt16
    /// folio_mapcount(): PTEs that map it (CONFIG_PAGE_MAPCOUNT, order-0: exact).
    public var mapcount: UInt16
    public var flags: FolioFlags

    public init(token: UInt64, mappingID: UInt32 = 0, index: UInt64 = 0, refcount: UInt16, mapcount: UInt16,
                flags: FolioFlags) {
        self.token = token
        self.mappingID = mappingID
        self.index = index
        self.refcount = refcount
        self.mapcount = mapcount
        self.flags = flags
    }

    /// Sets folio->mapping and folio->index.
    public mutating func setOwner(mapping: UInt32, index: UInt64) {
        mappingID = mapping
        self.index = index
    }

    /// A frame no one allocated (and a device frame's "no record": see DeviceRange).
    public static let empty = Frame(token: 0, refcount: 0, mapcount: 0, flags: [])
}

/// A ZONE_DEVICE range (a device-dax instance's memory, drivers/dax/device.c): PFNs reserved
/// from the top of the PFN space, whose struct pages exist from the start. A frame of the
/// range has a record only once it differs from the state the device gave it (owned by the
/// device's mapping at its index, one reference, in the device's "page cache"), so a device
/// costs what was touched, not its size.
struct DeviceRange: Sendable {
    var base: PFN
    var count: UInt64
    var mapping: UInt32

    func contains(_ pfn: PFN) -> Bool { pfn >= base && UInt64(pfn - base) < count }

    /// The state of a frame of the range that nothing touched since the device was created.
    func initialFrame(_ pfn: PFN) -> Frame {
        Frame(token: 0, mappingID: mapping, index: UInt64(pfn - base), refcount: 1, mapcount: 0,
              flags: [.allocated, .uptodate, .unevictable, .pagecache])
    }
}

/// All of physical memory (mm/page_alloc.c): RAM frames stored as parallel arrays indexed by
/// PFN (the token, mapping and index packed, the two counts, the flags: 22 bytes a frame),
/// the free list, and the ZONE_DEVICE ranges at the top of the PFN space.
public struct FrameTable: Sendable {
    var tokens: [UInt64]
    /// mapping id (23 bits) << 40 | index (40 bits); bit 63: the pair is in `escaped` (an
    /// index of 2^40 or more, a file offset beyond 4 PiB, or a mapping id of 2^23 or more).
    var owners: [UInt64]
    /// refcount in the low 16 bits, mapcount in the high 16 bits.
    var counts: [UInt32]
    var flagBits: [UInt16]
    /// Mapping and index of the frames whose pair does not fit in `owners` (rare).
    var escaped: [PFN: OwnerPair] = [:]
    /// Freed PFNs, reused last-freed-first as the page allocator's per-cpu lists do.
    var freeList: [PFN] = []
    public internal(set) var allocatedCount: Int = 0
    /// Device ranges, newest (lowest) last, and the records of their touched frames.
    var devices: [DeviceRange] = []
    var deviceFrames = SparseTable<Frame>()
    /// The lowest PFN a device range holds (2^32: none); RAM frames stay below it.
    var deviceFloor: UInt64 = 1 << 32

    /// The shared zero page (my_zero_pfn()).
    public static let zeroPFN: PFN = 0

    struct OwnerPair: Sendable {
        var mapping: UInt32
        var index: UInt64
    }

    init() {
        tokens = [0]
        owners = [0]
        counts = [0]
        flagBits = [UInt16(truncatingIfNeeded: FolioFlags([.allocated, .uptodate]).rawValue)]
    }

    /// RAM frames ever allocated (the highest RAM PFN + 1).
    public var count: Int { tokens.count }

    mutating func append(_ f: Frame) {
        precondition(UInt64(tokens.count) < deviceFloor, "the model ran out of page frame numbers")
        if tokens.count == tokens.capacity {
            // Grow by an eighth, not double: model state per page is a measured figure.
            let n = tokens.count + tokens.count / 8 + 4096
            tokens.reserveCapacity(n)
            owners.reserveCapacity(n)
            counts.reserveCapacity(n)
            flagBits.reserveCapacity(n)
        }
        tokens.append(0)
        owners.append(0)
        counts.append(0)
        flagBits.append(0)
        self[PFN(tokens.count - 1)] = f
    }

    /// Models folio_alloc() of an order-0 folio holding `token`; the caller sets ownership.
    mutating func alloc(token: UInt64) -> PFN {
        allocatedCount += 1
        let f = Frame(token: token, refcount: 0, mapcount: 0, flags: [.allocated, .uptodate, .lru])
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
        let i = Int(pfn)
        guard i < tokens.count else {
            // A device frame goes back to its device (the pgmap keeps its struct page).
            if let d = device(containing: pfn) { self[pfn] = devices[d].initialFrame(pfn) }
            return
        }
        flagBits[i] = 0
        if owners[i] >> 63 != 0 { escaped.removeValue(forKey: pfn) }
        owners[i] = 0
        allocatedCount -= 1
        freeList.append(pfn)
    }

    /// The device range holding `pfn`, if any.
    func device(containing pfn: PFN) -> Int? {
        guard UInt64(pfn) >= deviceFloor else { return nil }
        return devices.firstIndex { $0.contains(pfn) }
    }

    public subscript(pfn: PFN) -> Frame {
        get {
            let i = Int(pfn)
            guard i < tokens.count else {
                guard let d = device(containing: pfn) else { return .empty }
                let r = deviceFrames[UInt64(pfn)]
                return r == .empty ? devices[d].initialFrame(pfn) : r
            }
            let o = owners[i]
            var mapping = UInt32(truncatingIfNeeded: o >> 40), index = o & ((1 << 40) - 1)
            if o >> 63 != 0, let e = escaped[pfn] { (mapping, index) = (e.mapping, e.index) }
            return Frame(token: tokens[i], mappingID: mapping, index: index, refcount: UInt16(truncatingIfNeeded: counts[i]),
                         mapcount: UInt16(truncatingIfNeeded: counts[i] >> 16),
                         flags: FolioFlags(rawValue: UInt32(flagBits[i])))
        }
        set {
            let i = Int(pfn)
            guard i < tokens.count else {
                guard let d = device(containing: pfn) else { return }
                deviceFrames[UInt64(pfn)] = newValue == devices[d].initialFrame(pfn) ? .empty : newValue
                return
            }
            tokens[i] = newValue.token
            let old = owners[i]
            if newValue.index < 1 << 40 && newValue.mappingID < 1 << 23 {
                owners[i] = UInt64(newValue.mappingID) << 40 | newValue.index
                if old >> 63 != 0 { escaped.removeValue(forKey: pfn) }
            } else {
                owners[i] = 1 << 63
                escaped[pfn] = OwnerPair(mapping: newValue.mappingID, index: newValue.index)
            }
            counts[i] = UInt32(newValue.refcount) | UInt32(newValue.mapcount) << 16
            flagBits[i] = UInt16(truncatingIfNeeded: newValue.flags.rawValue)
        }
    }

    /// The content token of `pfn` (one array read; the hot path of every access).
    @inline(__always) func token(_ pfn: PFN) -> UInt64 {
        let i = Int(pfn)
        return i < tokens.count ? tokens[i] : self[pfn].token
    }
    /// Stores a token in `pfn` (one array write).
    @inline(__always) mutating func setToken(_ pfn: PFN, _ t: UInt64) {
        let i = Int(pfn)
        if i < tokens.count { tokens[i] = t } else { self[pfn].token = t }
    }

    /// The flags of `pfn` (one array read).
    @inline(__always) func flags(_ pfn: PFN) -> FolioFlags {
        let i = Int(pfn)
        return i < tokens.count ? FolioFlags(rawValue: UInt32(flagBits[i])) : self[pfn].flags
    }

    /// One more mapping: mapcount and refcount up by one (one array write).
    @inline(__always) mutating func addMapping(_ pfn: PFN) {
        let i = Int(pfn)
        if i < tokens.count { counts[i] &+= 0x0001_0001 } else { self[pfn].mapcount &+= 1; self[pfn].refcount &+= 1 }
    }
    /// One mapping less: mapcount and refcount down by one; returns the refcount left.
    @inline(__always) mutating func removeMapping(_ pfn: PFN) -> UInt16 {
        let i = Int(pfn)
        guard i < tokens.count else {
            var f = self[pfn]
            f.mapcount &-= 1
            f.refcount &-= 1
            self[pfn] = f
            return f.refcount
        }
        counts[i] &-= 0x0001_0001
        return UInt16(truncatingIfNeeded: counts[i])
    }
    /// One reference less; returns the refcount left.
    @inline(__always) mutating func dropReference(_ pfn: PFN) -> UInt16 {
        let i = Int(pfn)
        guard i < tokens.count else {
            self[pfn].refcount &-= 1
            return self[pfn].refcount
        }
        counts[i] &-= 1
        return UInt16(truncatingIfNeeded: counts[i])
    }

    /// Whether `pfn` is an allocated frame (or the zero page).
    public func isAllocated(_ pfn: PFN) -> Bool {
        let i = Int(pfn)
        if i < tokens.count { return flagBits[i] & UInt16(FolioFlags.allocated.rawValue) != 0 }
        return device(containing: pfn) != nil
    }

    /// Reserves a ZONE_DEVICE range of `n` frames with consecutive PFNs, the first a multiple
    /// of `alignPages`, below the previous range (memremap_pages() of the device's memory):
    /// its frames are allocated, owned by `mapping` and referenced by the device. nil when the
    /// PFN space left above the RAM frames is too small.
    mutating func reserveDevice(_ n: UInt64, alignPages: UInt64, mapping: UInt32) -> PFN? {
        guard n > 0, n <= deviceFloor else { return nil }
        let base = (deviceFloor - n) & ~(max(alignPages, 1) - 1)
        guard base > UInt64(tokens.count) + 4096 else { return nil }   // keep room for RAM
        devices.append(DeviceRange(base: PFN(base), count: n, mapping: mapping))
        deviceFloor = base
        allocatedCount += Int(n)
        return PFN(base)
    }

    /// Releases the device range starting at `base` (the device is gone): its frames and
    /// their records.
    mutating func releaseDevice(base: PFN) {
        guard let d = devices.firstIndex(where: { $0.base == base }) else { return }
        let r = devices.remove(at: d)
        var i = UInt64(r.base)
        while let j = deviceFrames.next(from: i, below: UInt64(r.base) + r.count) {
            deviceFrames[j] = .empty
            i = j + 1
        }
        allocatedCount -= Int(r.count)
        // The PFNs are not handed out again (deviceFloor stays): an old inode may still name them.
    }

    /// The device frames that have a record (they differ from their initial state), in PFN order.
    var touchedDeviceFrames: [PFN] { deviceFrames.entries().map { PFN($0.index) } }

    /// Bytes this table occupies, by capacity.
    public var bytes: Int {
        tokens.capacity * 8 + owners.capacity * 8 + counts.capacity * 4 + flagBits.capacity * 2
            + freeList.capacity * MemoryLayout<PFN>.stride + escaped.capacity * (4 + 16 + 1) + deviceFrames.bytes
    }
}
