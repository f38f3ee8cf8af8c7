// SPDX-License-Identifier: Apache-2.0
//
// Physical memory: one record per order-0 folio (struct folio / struct page in
// include/linux/mm_types.h), indexed by PFN (the layout is described at FrameTable). Frame 0 is the shared
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

/// All of physical memory (mm/page_alloc.c): RAM frames indexed by PFN, the free list, and the
/// ZONE_DEVICE ranges at the top of the PFN space.
///
/// Layout. Frames are kept in chunks of 512, PFN-aligned (the frames of one PMD-sized folio).
/// A chunk's records (mapping and index packed in 8 bytes, the two counts in 4, the flags in
/// 2) are either dense, in a slot of the pools `owners`, `counts` and `flagBits` (14 bytes a
/// frame), or packed, when all its frames have the same counts and flags and their owner
/// words step by 0 or 1 from frame to frame (512 frames of one mapping at consecutive
/// indices, as a sequential fault pass leaves them; or 512 free frames): then two words
/// describe the whole chunk. The chunk's content tokens are packed the same way, on their
/// own, when they form an arithmetic sequence (`seq()` writes, or one token repeated);
/// otherwise they are a slot of `tokenPool` (8 bytes a frame). Either part is packed when a
/// change to the chunk's last frame leaves it uniform, and unpacked by the first change that
/// breaks the pattern, so every field reads back exactly as it was stored (the invariants
/// see every field either way).
public struct FrameTable: Sendable {
    /// RAM frames ever allocated (the highest RAM PFN + 1).
    var frameCount = 1
    /// Per chunk: the slot of its tokens in `tokenPool`, or −1 when they are packed …
    var tokenSlot: [Int32]
    /// … as frame k's token = first + k · step.
    var packedTokens: [(first: UInt64, step: UInt64)]
    /// Pool of tokens, 512 per slot.
    var tokenPool: [UInt64]
    /// Slots of `tokenPool` that packed chunks left, reused first.
    var freeTokenSlots: [Int32] = []
    /// Per chunk (PFN >> 9): the slot of its records in the pools, or −1 when it is packed.
    var chunkSlot: [Int32]
    /// Per packed chunk: its first frame's owner word (frame k's is this + k · step) …
    var packedOwner: [UInt64]
    /// … and its frames' counts (bits 0–31), flags (bits 32–47) and the owner step (bit 48);
    /// bits 49–63 are free (room for a folio order).
    var packedMeta: [UInt64]
    /// Pool of owner words, 512 per slot: mapping id (23 bits) << 40 | index (40 bits); bit
    /// 63: the pair is in `escaped` (an index of 2^40 or more, a file offset beyond 4 PiB, or
    /// a mapping id of 2^23 or more).
    var owners: [UInt64]
    /// Pool of counts: refcount in the low 16 bits, mapcount in the high 16 bits.
    var counts: [UInt32]
    /// Pool of flags.
    var flagBits: [UInt16]
    /// Pool slots of chunks that were packed, reused first.
    var freePoolSlots: [Int32] = []
    /// Freed PFNs, reused last-freed-first as the page allocator's per-cpu lists do.
    var freeList = FreeFrameList()
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

    /// Frames per chunk (PTRS_PER_PMD: a PMD-sized folio's).
    static let chunkFrames = 512

    struct OwnerPair: Sendable {
        var mapping: UInt32
        var index: UInt64
    }

    init() {
        tokenSlot = [0]
        packedTokens = [(0, 0)]
        tokenPool = Array(repeating: 0, count: Self.chunkFrames)
        chunkSlot = [0]
        packedOwner = [0]
        packedMeta = [0]
        owners = Array(repeating: 0, count: Self.chunkFrames)
        counts = Array(repeating: 0, count: Self.chunkFrames)
        flagBits = Array(repeating: 0, count: Self.chunkFrames)
        flagBits[0] = UInt16(truncatingIfNeeded: FolioFlags([.allocated, .uptodate]).rawValue)
    }

    /// RAM frames ever allocated (the highest RAM PFN + 1).
    public var count: Int { frameCount }

    // MARK: chunks

    /// The pool index of RAM frame `i`'s record, or −1 when its chunk is packed.
    @inline(__always) func poolIndex(_ i: Int) -> Int {
        let s = chunkSlot[i >> 9]
        return s < 0 ? -1 : Int(s) << 9 | (i & 511)
    }

    /// The pool index of RAM frame `i`'s record, unpacking its chunk first if needed.
    @inline(__always) mutating func writableIndex(_ i: Int) -> Int {
        let s = chunkSlot[i >> 9]
        if s >= 0 { return Int(s) << 9 | (i & 511) }
        return unpack(i >> 9) << 9 | (i & 511)
    }

    /// After a change to RAM frame `i`: a change to a chunk's last frame packs the chunk if
    /// its records are now uniform.
    @inline(__always) mutating func changed(_ i: Int) {
        if i & 511 == 511 { tryPack(i >> 9) }
    }

    /// A pool slot for a chunk: a new one (zeroed), or one a packed chunk left (its records
    /// stale: append() writes each frame before it is read, unpack() writes all 512).
    mutating func allocPoolSlot() -> Int32 {
        if let s = freePoolSlots.popLast() { return s }
        let s = Int32(owners.count >> 9)
        if owners.count == owners.capacity {
            // Grow by an eighth, not double: model state per page is a measured figure.
            let n = owners.count + owners.count / 8 + 8 * Self.chunkFrames
            owners.reserveCapacity(n)
            counts.reserveCapacity(n)
            flagBits.reserveCapacity(n)
        }
        owners.append(contentsOf: repeatElement(0, count: Self.chunkFrames))
        counts.append(contentsOf: repeatElement(0, count: Self.chunkFrames))
        flagBits.append(contentsOf: repeatElement(0, count: Self.chunkFrames))
        return s
    }

    /// Gives packed chunk `c` a pool slot holding the records its two words describe; returns the slot.
    @inline(never) mutating func unpack(_ c: Int) -> Int {
        let s = allocPoolSlot()
        let meta = packedMeta[c]
        let step: UInt64 = meta >> 48 & 1
        let base = Int(s) << 9
        owners.withUnsafeMutableBufferPointer { o in
            var v = packedOwner[c]
            for k in base..<(base + Self.chunkFrames) {
                o[k] = v
                v &+= step
            }
        }
        counts.withUnsafeMutableBufferPointer { p in
            UnsafeMutableBufferPointer(rebasing: p[base..<(base + Self.chunkFrames)]).update(repeating: UInt32(truncatingIfNeeded: meta))
        }
        flagBits.withUnsafeMutableBufferPointer { p in
            UnsafeMutableBufferPointer(rebasing: p[base..<(base + Self.chunkFrames)])
                .update(repeating: UInt16(truncatingIfNeeded: meta >> 32))
        }
        chunkSlot[c] = s
        return Int(s)
    }

    /// Packs dense chunk `c` if all its frames have the same counts and flags and owner
    /// words that step by 0 or 1 (its last frame compared first: most attempts end there).
    /// The slot it leaves keeps its old records: whoever takes it next writes all 512.
    @inline(never) mutating func tryPack(_ c: Int) {
        let s = chunkSlot[c]
        guard s >= 0, frameCount >= (c + 1) << 9 else { return }
        let base = Int(s) << 9
        let last = base + Self.chunkFrames - 1
        let count = counts[base], flags = flagBits[base], o = owners[base]
        let step = owners[base + 1] &- o
        guard step <= 1, counts[last] == count, flagBits[last] == flags, owners[last] == o &+ 511 &* step else { return }
        let range = base..<(base + Self.chunkFrames)
        let same = counts.withUnsafeBufferPointer { p in !p[range].contains { $0 != count } }
            && flagBits.withUnsafeBufferPointer { p in !p[range].contains { $0 != flags } }
            && owners.withUnsafeBufferPointer { p in
                var v = o
                for k in range {
                    if p[k] != v { return false }
                    v &+= step
                }
                return true
            }
        guard same else { return }
        packedOwner[c] = o
        packedMeta[c] = UInt64(count) | UInt64(flags) << 32 | step << 48
        chunkSlot[c] = -1
        freePoolSlots.append(s)
    }

    /// The token of RAM frame `i`.
    @inline(__always) func ramToken(_ i: Int) -> UInt64 {
        let s = tokenSlot[i >> 9]
        if s >= 0 { return tokenPool[Int(s) << 9 | (i & 511)] }
        let p = packedTokens[i >> 9]
        return p.first &+ UInt64(i & 511) &* p.step
    }

    /// Stores the token of RAM frame `i`; a store to a chunk's last frame packs the chunk's
    /// tokens if they now form an arithmetic sequence.
    @inline(__always) mutating func setRAMToken(_ i: Int, _ t: UInt64) {
        var s = tokenSlot[i >> 9]
        if s < 0 {
            let p = packedTokens[i >> 9]
            if p.first &+ UInt64(i & 511) &* p.step == t { return }
            s = unpackTokens(i >> 9)
        }
        tokenPool[Int(s) << 9 | (i & 511)] = t
        if i & 511 == 511 { tryPackTokens(i >> 9) }
    }

    /// A slot of `tokenPool` for a chunk: a new one, or one a packed chunk left (stale:
    /// append() writes each frame's token before it is read, unpackTokens() all 512).
    mutating func allocTokenSlot() -> Int32 {
        if let s = freeTokenSlots.popLast() { return s }
        let s = Int32(tokenPool.count >> 9)
        if tokenPool.count == tokenPool.capacity {
            // Grow by an eighth, not double: model state per page is a measured figure.
            tokenPool.reserveCapacity(tokenPool.count + tokenPool.count / 8 + 8 * Self.chunkFrames)
        }
        tokenPool.append(contentsOf: repeatElement(0, count: Self.chunkFrames))
        return s
    }

    /// Gives the packed tokens of chunk `c` a pool slot holding them; returns the slot.
    @inline(never) mutating func unpackTokens(_ c: Int) -> Int32 {
        let s = allocTokenSlot()
        let p = packedTokens[c]
        let base = Int(s) << 9
        tokenPool.withUnsafeMutableBufferPointer { t in
            var v = p.first
            for k in base..<(base + Self.chunkFrames) {
                t[k] = v
                v &+= p.step
            }
        }
        tokenSlot[c] = s
        return s
    }

    /// Packs the tokens of chunk `c` if they form an arithmetic sequence (last one compared first).
    @inline(never) mutating func tryPackTokens(_ c: Int) {
        let s = tokenSlot[c]
        guard s >= 0, frameCount >= (c + 1) << 9 else { return }
        let base = Int(s) << 9
        let first = tokenPool[base]
        let step = tokenPool[base + 1] &- first
        guard tokenPool[base + Self.chunkFrames - 1] == first &+ 511 &* step else { return }
        let uniform = tokenPool.withUnsafeBufferPointer { t in
            var v = first &+ 2 &* step
            for k in (base + 2)..<(base + Self.chunkFrames) {
                if t[k] != v { return false }
                v &+= step
            }
            return true
        }
        guard uniform else { return }
        packedTokens[c] = (first, step)
        tokenSlot[c] = -1
        freeTokenSlots.append(s)
    }

    /// The owner word of RAM frame `i`.
    @inline(__always) func ownerWord(_ i: Int) -> UInt64 {
        let p = poolIndex(i)
        if p >= 0 { return owners[p] }
        return packedOwner[i >> 9] &+ UInt64(i & 511) &* (packedMeta[i >> 9] >> 48 & 1)
    }
    /// The counts word of RAM frame `i`.
    @inline(__always) func countsWord(_ i: Int) -> UInt32 {
        let p = poolIndex(i)
        return p >= 0 ? counts[p] : UInt32(truncatingIfNeeded: packedMeta[i >> 9])
    }
    /// The flag bits of RAM frame `i`.
    @inline(__always) func flagWord(_ i: Int) -> UInt16 {
        let p = poolIndex(i)
        return p >= 0 ? flagBits[p] : UInt16(truncatingIfNeeded: packedMeta[i >> 9] >> 32)
    }

    // MARK: allocation

    @inline(__always) mutating func append(_ f: Frame) {
        if UInt64(frameCount) >= deviceFloor { outOfFrames() }
        let i = frameCount
        if i & 511 == 0 {
            chunkSlot.append(allocPoolSlot())
            packedOwner.append(0)
            packedMeta.append(0)
            tokenSlot.append(allocTokenSlot())
            packedTokens.append((0, 0))
        }
        frameCount += 1
        self[PFN(i)] = f
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
        return PFN(frameCount - 1)
    }

    /// Models the final folio_put() freeing a folio.
    mutating func free(_ pfn: PFN) {
        precondition(pfn != Self.zeroPFN, "the zero page is never freed")
        let i = Int(pfn)
        guard i < frameCount else {
            // A device frame goes back to its device (the pgmap keeps its struct page).
            if let d = device(containing: pfn) { self[pfn] = devices[d].initialFrame(pfn) }
            return
        }
        let p = writableIndex(i)
        flagBits[p] = 0
        if owners[p] >> 63 != 0 { rare.value.escaped.removeValue(forKey: pfn) }
        owners[p] = 0
        allocatedCount -= 1
        freeList.append(pfn)
        changed(i)
    }

    /// The device range holding `pfn`, if any.
    func device(containing pfn: PFN) -> Int? {
        guard UInt64(pfn) >= deviceFloor else { return nil }
        return devices.firstIndex { $0.contains(pfn) }
    }

    public subscript(pfn: PFN) -> Frame {
        @inline(__always) get {
            let i = Int(pfn)
            guard i < frameCount else { return deviceFrame(pfn) }
            let p = poolIndex(i)
            let o: UInt64, c: UInt32, f: UInt16
            if p >= 0 {
                o = owners[p]
                c = counts[p]
                f = flagBits[p]
            } else {
                let meta = packedMeta[i >> 9]
                o = packedOwner[i >> 9] &+ UInt64(i & 511) &* (meta >> 48 & 1)
                c = UInt32(truncatingIfNeeded: meta)
                f = UInt16(truncatingIfNeeded: meta >> 32)
            }
            if o >> 63 != 0 { return escapedFrame(pfn) }
            return Frame(token: ramToken(i), mappingID: UInt32(truncatingIfNeeded: o >> 40), index: o & ((1 << 40) - 1),
                         refcount: UInt16(truncatingIfNeeded: c), mapcount: UInt16(truncatingIfNeeded: c >> 16),
                         flags: FolioFlags(rawValue: UInt32(f)))
        }
        @inline(__always) set {
            let i = Int(pfn)
            guard i < frameCount else { return setDeviceFrame(pfn, newValue) }
            setRAMToken(i, newValue.token)
            let p = writableIndex(i)
            if newValue.index < 1 << 40 && newValue.mappingID < 1 << 23 && owners[p] >> 63 == 0 {
                owners[p] = UInt64(newValue.mappingID) << 40 | newValue.index
            } else {
                setEscapedOwner(pfn, newValue)
            }
            counts[p] = UInt32(newValue.refcount) | UInt32(newValue.mapcount) << 16
            flagBits[p] = UInt16(truncatingIfNeeded: newValue.flags.rawValue)
            changed(i)
        }
    }

    /// A RAM frame whose mapping and index are in `escaped`.
    @inline(never) func escapedFrame(_ pfn: PFN) -> Frame {
        let i = Int(pfn)
        let e = rare.value.escaped[pfn] ?? OwnerPair(mapping: 0, index: 0)
        let c = countsWord(i)
        return Frame(token: ramToken(i), mappingID: e.mapping, index: e.index, refcount: UInt16(truncatingIfNeeded: c),
                     mapcount: UInt16(truncatingIfNeeded: c >> 16), flags: FolioFlags(rawValue: UInt32(flagWord(i))))
    }

    /// Stores the mapping and index of a RAM frame that has or needs the escape.
    @inline(never) mutating func setEscapedOwner(_ pfn: PFN, _ f: Frame) {
        let p = writableIndex(Int(pfn))
        if f.index < 1 << 40 && f.mappingID < 1 << 23 {
            owners[p] = UInt64(f.mappingID) << 40 | f.index
            rare.value.escaped.removeValue(forKey: pfn)
        } else {
            owners[p] = 1 << 63
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
        return i < frameCount ? ramToken(i) : deviceToken(pfn)
    }
    @inline(never) func deviceToken(_ pfn: PFN) -> UInt64 { deviceFrame(pfn).token }
    /// Stores a token in `pfn` (one array write).
    @inline(__always) mutating func setToken(_ pfn: PFN, _ t: UInt64) {
        let i = Int(pfn)
        if i < frameCount { setRAMToken(i, t) } else { setDeviceToken(pfn, t) }
    }
    @inline(never) mutating func setDeviceToken(_ pfn: PFN, _ t: UInt64) {
        var f = deviceFrame(pfn)
        f.token = t
        setDeviceFrame(pfn, f)
    }

    /// The flags of `pfn`.
    @inline(__always) func flags(_ pfn: PFN) -> FolioFlags {
        let i = Int(pfn)
        return i < frameCount ? FolioFlags(rawValue: UInt32(flagWord(i))) : deviceFlags(pfn)
    }
    @inline(never) func deviceFlags(_ pfn: PFN) -> FolioFlags { deviceFrame(pfn).flags }

    /// folio_mapcount() of `pfn`.
    @inline(__always) func mapcount(_ pfn: PFN) -> UInt16 {
        let i = Int(pfn)
        return i < frameCount ? UInt16(truncatingIfNeeded: countsWord(i) >> 16) : deviceMapcount(pfn)
    }
    @inline(never) func deviceMapcount(_ pfn: PFN) -> UInt16 { deviceFrame(pfn).mapcount }

    /// One more mapping: mapcount and refcount up by one (one write).
    @inline(__always) mutating func addMapping(_ pfn: PFN) {
        let i = Int(pfn)
        guard i < frameCount else { adjustDevice(pfn, mapcount: 1, refcount: 1); return }
        let p = writableIndex(i)
        counts[p] &+= 0x0001_0001
        changed(i)
    }
    /// One mapping less: mapcount and refcount down by one; returns the refcount left.
    @inline(__always) mutating func removeMapping(_ pfn: PFN) -> UInt16 {
        let i = Int(pfn)
        guard i < frameCount else { return adjustDevice(pfn, mapcount: -1, refcount: -1) }
        let p = writableIndex(i)
        counts[p] &-= 0x0001_0001
        let r = UInt16(truncatingIfNeeded: counts[p])
        changed(i)
        return r
    }
    /// One reference less; returns the refcount left.
    @inline(__always) mutating func dropReference(_ pfn: PFN) -> UInt16 {
        let i = Int(pfn)
        guard i < frameCount else { return adjustDevice(pfn, mapcount: 0, refcount: -1) }
        let p = writableIndex(i)
        counts[p] &-= 1
        let r = UInt16(truncatingIfNeeded: counts[p])
        changed(i)
        return r
    }

    /// folio_add_new_anon_rmap(…, RMAP_EXCLUSIVE)'s changes to the frame: owned by anon_vma
    /// `mapping` at `index`, anon, exclusive and swap-backed, mapped once, one more reference
    /// (the fault path's one write per field, without building a Frame).
    @inline(__always) mutating func setNewAnon(_ pfn: PFN, mapping: UInt32, index: UInt64) {
        let i = Int(pfn)
        guard i < frameCount, index < 1 << 40, mapping < 1 << 23 else { return setNewAnonSlow(pfn, mapping: mapping, index: index) }
        let p = writableIndex(i)
        guard owners[p] >> 63 == 0 else { return setNewAnonSlow(pfn, mapping: mapping, index: index) }
        owners[p] = UInt64(mapping) << 40 | index
        flagBits[p] |= UInt16(truncatingIfNeeded: FolioFlags([.anon, .anonExclusive, .swapbacked]).rawValue)
        counts[p] = (counts[p] & 0xffff) &+ 1 | 1 << 16
        changed(i)
    }
    @inline(never) mutating func setNewAnonSlow(_ pfn: PFN, mapping: UInt32, index: UInt64) {
        var f = self[pfn]
        f.setOwner(mapping: mapping, index: index)
        f.flags.formUnion([.anon, .anonExclusive, .swapbacked])
        f.mapcount = 1
        f.refcount &+= 1
        self[pfn] = f
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

    /// isAllocated(), flags() and mapcount() of `pfn` at once (one chunk lookup; what a
    /// pagemap word needs of its page).
    @inline(__always) func flagsAndMapcount(_ pfn: PFN) -> (allocated: Bool, flags: FolioFlags, mapcount: UInt16) {
        let i = Int(pfn)
        guard i < frameCount else {
            guard device(containing: pfn) != nil else { return (false, [], 0) }
            let f = deviceFrame(pfn)
            return (true, f.flags, f.mapcount)
        }
        let p = poolIndex(i)
        let f: UInt16, c: UInt32
        if p >= 0 {
            f = flagBits[p]
            c = counts[p]
        } else {
            f = UInt16(truncatingIfNeeded: packedMeta[i >> 9] >> 32)
            c = UInt32(truncatingIfNeeded: packedMeta[i >> 9])
        }
        let flags = FolioFlags(rawValue: UInt32(f))
        return (flags.contains(.allocated), flags, UInt16(truncatingIfNeeded: c >> 16))
    }

    /// Whether `pfn` is an allocated frame (or the zero page).
    @inline(__always) public func isAllocated(_ pfn: PFN) -> Bool {
        let i = Int(pfn)
        if i < frameCount { return flagWord(i) & UInt16(FolioFlags.allocated.rawValue) != 0 }
        return device(containing: pfn) != nil
    }

    /// Reserves a ZONE_DEVICE range of `n` frames with consecutive PFNs, the first a multiple
    /// of `alignPages`, below the previous range (memremap_pages() of the device's memory):
    /// its frames are allocated, owned by `mapping` and referenced by the device. nil when the
    /// PFN space left above the RAM frames is too small.
    mutating func reserveDevice(_ n: UInt64, alignPages: UInt64, mapping: UInt32) -> PFN? {
        guard n > 0, n <= deviceFloor else { return nil }
        let base = (deviceFloor - n) & ~(max(alignPages, 1) - 1)
        guard base > UInt64(frameCount) + 4096 else { return nil }   // keep room for RAM
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
        tokenPool.capacity * 8 + tokenSlot.capacity * 4 + packedTokens.capacity * 16 + freeTokenSlots.capacity * 4
            + chunkSlot.capacity * 4 + packedOwner.capacity * 8 + packedMeta.capacity * 8
            + owners.capacity * 8 + counts.capacity * 4 + flagBits.capacity * 2 + freePoolSlots.capacity * 4
            + freeList.bytes + rare.value.escaped.capacity * (4 + 16 + 1) + deviceFrames.bytes
    }
}

/// The page allocator's free list of order-0 frames (a per-cpu list: the last frame freed is
/// the first allocated), stored as runs of consecutive PFNs freed in ascending order, so that
/// freeing a whole mapping in address order costs one entry, not one per frame.
struct FreeFrameList: Sendable {
    /// Runs (first PFN, length) before the newest: the list is these runs in order, then the
    /// newest run, each run's PFNs ascending.
    var runs: [(first: PFN, length: UInt32)] = []
    /// The newest run (length 0: none), kept out of `runs` so that extending it is two stores.
    var lastFirst: PFN = 0
    var lastLength: UInt32 = 0
    /// Frames on the list.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Puts `pfn` at the end of the list (list_add() to the pcp list's head, in LIFO terms).
    @inline(__always) mutating func append(_ pfn: PFN) {
        count += 1
        if lastLength != 0 && lastFirst &+ PFN(lastLength) == pfn && lastLength < .max {
            lastLength += 1
            return
        }
        if lastLength != 0 { runs.append((lastFirst, lastLength)) }
        lastFirst = pfn
        lastLength = 1
    }

    /// Takes the frame freed last.
    @inline(__always) mutating func popLast() -> PFN? {
        guard lastLength != 0 else { return nil }
        count -= 1
        lastLength -= 1
        let pfn = lastFirst &+ PFN(lastLength)
        if lastLength == 0, let r = runs.popLast() {
            lastFirst = r.first
            lastLength = r.length
        }
        return pfn
    }

    /// Bytes the list occupies, by capacity.
    var bytes: Int { runs.capacity * MemoryLayout<(first: PFN, length: UInt32)>.stride }
}
