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
    /// Freed PFNs, reused last-freed-first as the page allocator's per-cpu lists do.
    var freeList: [PFN] = []
    public internal(set) var allocatedCount: Int = 0
    /// The lowest PFN a device range holds (2^32: none); RAM frames stay below it.
    var deviceFloor: UInt64 = 1 << 32
    /// What the hot paths never touch, behind one reference (CoWBox).
    var rare = CoWBox(RareFrames())

    /// The escaped owners and the device ranges.
    struct RareFrames: Sendable {
        /// Mapping and index of the frames whose pair does not fit in `owners`.
        var escaped: [PFN: OwnerPair] = [:]
        /// Device ranges, newest (lowest) last, and the records of their touched frames.
        var devices: [DeviceRange] = []
        var deviceFrames = SparseTable<Frame>()
    }
    var devices: [DeviceRange] { rare.value.devices }
    var deviceFrames: SparseTable<Frame> { rare.value.deviceFrames }

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

    @inline(__always) mutating func append(_ f: Frame) {
        if UInt64(tokens.count) >= deviceFloor { outOfFrames() }
        if tokens.count == tokens.capacity {
            // Grow by an eighth, not double: model state per page is a measured figure.
            let n = tokens.count + tokens.count / 8 + 4096
            tokens.reserveCapacity(n)
            owners.reserveCapacity(n)
            counts.reserveCapacity(n)
            flagBits.reserveCapacity(n)
        }
        tokens.append(f.token)
        owners.append(0)
        if f.index < 1 << 40 && f.mappingID < 1 << 23 {
            owners[owners.count - 1] = UInt64(f.mappingID) << 40 | f.index
        } else {
            setEscapedOwner(PFN(tokens.count - 1), f)
        }
        counts.append(UInt32(f.refcount) | UInt32(f.mapcount) << 16)
        flagBits.append(UInt16(truncatingIfNeeded: f.flags.rawValue))
    }

    /// RAM reached the lowest device PFN: the model's 2^32 page frames are used up (a model
    /// limit far beyond any scenario: 16 TiB of frames).
    @inline(never) func outOfFrames() -> Never {
        fatalError("the model ran out of page frame numbers")
    }

    /// Models folio_alloc() of an order-0 folio holding `token`; the caller sets ownership.
    @inline(__always) mutating func alloc(token: UInt64) -> PFN {
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
        if owners[i] >> 63 != 0 { rare.value.escaped.removeValue(forKey: pfn) }
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
        @inline(__always) get {
            let i = Int(pfn)
            guard i < tokens.count else { return deviceFrame(pfn) }
            let o = owners[i]
            if o >> 63 != 0 { return escapedFrame(pfn) }
            return Frame(token: tokens[i], mappingID: UInt32(truncatingIfNeeded: o >> 40), index: o & ((1 << 40) - 1),
                         refcount: UInt16(truncatingIfNeeded: counts[i]), mapcount: UInt16(truncatingIfNeeded: counts[i] >> 16),
                         flags: FolioFlags(rawValue: UInt32(flagBits[i])))
        }
        @inline(__always) set {
            let i = Int(pfn)
            guard i < tokens.count else { return setDeviceFrame(pfn, newValue) }
            tokens[i] = newValue.token
            if newValue.index < 1 << 40 && newValue.mappingID < 1 << 23 && owners[i] >> 63 == 0 {
                owners[i] = UInt64(newValue.mappingID) << 40 | newValue.index
            } else {
                setEscapedOwner(pfn, newValue)
            }
            counts[i] = UInt32(newValue.refcount) | UInt32(newValue.mapcount) << 16
            flagBits[i] = UInt16(truncatingIfNeeded: newValue.flags.rawValue)
        }
    }

    /// A RAM frame whose mapping and index are in `escaped`.
    @inline(never) func escapedFrame(_ pfn: PFN) -> Frame {
        let i = Int(pfn)
        let e = rare.value.escaped[pfn] ?? OwnerPair(mapping: 0, index: 0)
        return Frame(token: tokens[i], mappingID: e.mapping, index: e.index, refcount: UInt16(truncatingIfNeeded: counts[i]),
                     mapcount: UInt16(truncatingIfNeeded: counts[i] >> 16), flags: FolioFlags(rawValue: UInt32(flagBits[i])))
    }

    /// Stores the mapping and index of a RAM frame that has or needs the escape.
    @inline(never) mutating func setEscapedOwner(_ pfn: PFN, _ f: Frame) {
        let i = Int(pfn)
        if f.index < 1 << 40 && f.mappingID < 1 << 23 {
            owners[i] = UInt64(f.mappingID) << 40 | f.index
            rare.value.escaped.removeValue(forKey: pfn)
        } else {
            owners[i] = 1 << 63
            rare.value.escaped[pfn] = OwnerPair(mapping: f.mappingID, index: f.index)
        }
    }

    /// A device frame: its record, or the state its device gave it (.empty outside any device).
    @inline(never) func deviceFrame(_ pfn: PFN) -> Frame {
        guard let d = device(containing: pfn) else { return .empty }
        let r = deviceFrames[UInt64(pfn)]
        return r == .empty ? devices[d].initialFrame(pfn) : r
    }

    /// Stores a device frame (no record when it is back in its initial state).
    @inline(never) mutating func setDeviceFrame(_ pfn: PFN, _ f: Frame) {
        guard let d = device(containing: pfn) else { return }
        rare.value.deviceFrames[UInt64(pfn)] = f == devices[d].initialFrame(pfn) ? .empty : f
    }

    /// The content token of `pfn` (one array read; the hot path of every access).
    @inline(__always) func token(_ pfn: PFN) -> UInt64 {
        let i = Int(pfn)
        return i < tokens.count ? tokens[i] : deviceToken(pfn)
    }
    @inline(never) func deviceToken(_ pfn: PFN) -> UInt64 { deviceFrame(pfn).token }
    /// Stores a token in `pfn` (one array write).
    @inline(__always) mutating func setToken(_ pfn: PFN, _ t: UInt64) {
        let i = Int(pfn)
        if i < tokens.count { tokens[i] = t } else { setDeviceToken(pfn, t) }
    }
    @inline(never) mutating func setDeviceToken(_ pfn: PFN, _ t: UInt64) {
        var f = deviceFrame(pfn)
        f.token = t
        setDeviceFrame(pfn, f)
    }

    /// The flags of `pfn` (one array read).
    @inline(__always) func flags(_ pfn: PFN) -> FolioFlags {
        let i = Int(pfn)
        return i < tokens.count ? FolioFlags(rawValue: UInt32(flagBits[i])) : deviceFlags(pfn)
    }
    @inline(never) func deviceFlags(_ pfn: PFN) -> FolioFlags { deviceFrame(pfn).flags }

    /// folio_mapcount() of `pfn` (one array read).
    @inline(__always) func mapcount(_ pfn: PFN) -> UInt16 {
        let i = Int(pfn)
        return i < tokens.count ? UInt16(truncatingIfNeeded: counts[i] >> 16) : deviceMapcount(pfn)
    }
    @inline(never) func deviceMapcount(_ pfn: PFN) -> UInt16 { deviceFrame(pfn).mapcount }

    /// One more mapping: mapcount and refcount up by one (one array write).
    @inline(__always) mutating func addMapping(_ pfn: PFN) {
        let i = Int(pfn)
        if i < tokens.count { counts[i] &+= 0x0001_0001 } else { adjustDevice(pfn, mapcount: 1, refcount: 1) }
    }
    /// One mapping less: mapcount and refcount down by one; returns the refcount left.
    @inline(__always) mutating func removeMapping(_ pfn: PFN) -> UInt16 {
        let i = Int(pfn)
        guard i < tokens.count else { return adjustDevice(pfn, mapcount: -1, refcount: -1) }
        counts[i] &-= 0x0001_0001
        return UInt16(truncatingIfNeeded: counts[i])
    }
    /// One reference less; returns the refcount left.
    @inline(__always) mutating func dropReference(_ pfn: PFN) -> UInt16 {
        let i = Int(pfn)
        guard i < tokens.count else { return adjustDevice(pfn, mapcount: 0, refcount: -1) }
        counts[i] &-= 1
        return UInt16(truncatingIfNeeded: counts[i])
    }

    /// folio_add_new_anon_rmap(…, RMAP_EXCLUSIVE)'s changes to the frame: owned by anon_vma
    /// `mapping` at `index`, anon, exclusive and swap-backed, mapped once, one more reference
    /// (the fault path's one write per array, without building a Frame).
    @inline(__always) mutating func setNewAnon(_ pfn: PFN, mapping: UInt32, index: UInt64) {
        let i = Int(pfn)
        guard i < tokens.count, index < 1 << 40, mapping < 1 << 23, owners[i] >> 63 == 0 else {
            var f = self[pfn]
            f.setOwner(mapping: mapping, index: index)
            f.flags.formUnion([.anon, .anonExclusive, .swapbacked])
            f.mapcount = 1
            f.refcount &+= 1
            self[pfn] = f
            return
        }
        owners[i] = UInt64(mapping) << 40 | index
        flagBits[i] |= UInt16(truncatingIfNeeded: FolioFlags([.anon, .anonExclusive, .swapbacked]).rawValue)
        counts[i] = (counts[i] & 0xffff) &+ 1 | 1 << 16
    }

    /// Changes a device frame's counts; returns its refcount.
    @discardableResult
    @inline(never) mutating func adjustDevice(_ pfn: PFN, mapcount: Int, refcount: Int) -> UInt16 {
        var f = deviceFrame(pfn)
        f.mapcount = UInt16(truncatingIfNeeded: Int(f.mapcount) + mapcount)
        f.refcount = UInt16(truncatingIfNeeded: Int(f.refcount) + refcount)
        setDeviceFrame(pfn, f)
        return f.refcount
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
        rare.value.devices.append(DeviceRange(base: PFN(base), count: n, mapping: mapping))
        deviceFloor = base
        allocatedCount += Int(n)
        return PFN(base)
    }

    /// Releases the device range starting at `base` (the device is gone): its frames and
    /// their records.
    mutating func releaseDevice(base: PFN) {
        guard let d = devices.firstIndex(where: { $0.base == base }) else { return }
        let r = rare.value.devices.remove(at: d)
        var i = UInt64(r.base)
        while let j = deviceFrames.next(from: i, below: UInt64(r.base) + r.count) {
            rare.value.deviceFrames[j] = .empty
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
            + freeList.capacity * MemoryLayout<PFN>.stride + rare.value.escaped.capacity * (4 + 16 + 1) + deviceFrames.bytes
    }
}
