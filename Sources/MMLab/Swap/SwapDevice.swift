// SPDX-License-Identifier: Apache-2.0
//
// Swap devices (struct swap_info_struct, mm/swapfile.c) and the swap cache
// (mm/swap_state.c). swap_map counts references exactly as the kernel does: the low bits
// count PTEs and shmem page-cache slots that hold the entry, SWAP_HAS_CACHE says a folio
// for it is in the swap cache.

/// One slot of a swap device: its swap_map byte, what was written to it (the device's
/// content: one token per page), and the swap cache's folio for it (0: none). An unused slot
/// (swap_map 0) is empty.
struct SwapSlot: SparseEntry {
    var map: UInt8
    var cached: PFN
    var stored: UInt64
    static let empty = SwapSlot(map: 0, cached: 0, stored: 0)
}

/// One swap device.
public struct SwapDevice: Sendable {
    public let type: UInt8
    /// si->max: slots, the header (slot 0, SWAP_MAP_BAD) included.
    public let maxSlots: UInt64
    /// swap_map, the stored pages and the swap cache's index, by slot: only the slots in use
    /// (the kernel's swap_map is one byte per slot; the model's costs what is swapped).
    var slots = SparseTable<SwapSlot>()
    /// Rotating allocation cursor (the cluster allocator's next offset, simplified).
    var cursor: UInt64 = 1
    public internal(set) var inuse = 0

    public static let hasCache: UInt8 = 0x40   // SWAP_HAS_CACHE
    public static let mapBad: UInt8 = 0x3f     // SWAP_MAP_BAD
    public static let mapMax: UInt8 = 0x3e     // SWAP_MAP_MAX

    /// The most slots a swap device can have: si->max is an unsigned int, and the version-1
    /// swap header's last_page is 32 bits (read_swap_header() clamps maxpages to UINT_MAX).
    public static let maxSlotsLimit: UInt64 = (1 << 32) - 1

    init(type: UInt8, slots: UInt64) {
        self.type = type
        maxSlots = slots
        if slots > 0 { self.slots[0] = SwapSlot(map: Self.mapBad, cached: 0, stored: 0) }
    }

    /// Usable slots (pages), without the header (si->pages).
    public var pages: Int { Int(max(1, maxSlots) - 1) }

    /// swap_map[offset].
    public func map(_ offset: UInt64) -> UInt8 { slots[offset].map }

    /// swap_count(): references without the cache bit.
    public func count(_ offset: UInt64) -> Int { Int(slots[offset].map & ~Self.hasCache) }

    /// Bytes of model state, by capacity.
    var bytes: Int { slots.bytes }
}

extension Kernel {
    /// Models swapon(2) of a swap file of `bytes` with a version-1 header (mkswap): its
    /// last_page is 32 bits, so mkswap truncates an area of more than 2^32 − 1 pages, and
    /// read_swap_header() clamps maxpages to UINT_MAX; last_page 0 is "Empty swap-file"
    /// (EINVAL); at most MAX_SWAPFILES devices (EPERM).
    public mutating func swapon(bytes: UInt64) -> Errno? {
        let filePages = bytes >> pageShift
        guard filePages >= 2 else { return .EINVAL }
        guard swapDevices.count < Int(SwapEntry.maxSwapfiles) else { return .EPERM }
        let slots = min(filePages, SwapDevice.maxSlotsLimit)   // mkswap: last_page = slots − 1
        swapDevices.append(SwapDevice(type: UInt8(swapDevices.count), slots: slots))
        return nil
    }

    /// total_swap_pages.
    public var totalSwapPages: Int { swapDevices.reduce(0) { $0 + $1.pages } }

    /// Models vm_swap_full(): more than half of swap in use.
    var swapIsFull: Bool {
        let total = totalSwapPages
        let used = swapDevices.reduce(0) { $0 + $1.inuse }
        return total == 0 || used * 2 > total
    }

    /// Models folio_alloc_swap(): allocate a slot, put `pfn` in the swap cache (SWAP_HAS_CACHE).
    mutating func folioAllocSwap(_ pfn: PFN) -> SwapEntry? {
        for d in swapDevices.indices {
            let n = swapDevices[d].maxSlots
            guard swapDevices[d].inuse < swapDevices[d].pages else { continue }
            var off = swapDevices[d].cursor
            for _ in 0..<n {
                if off >= n { off = 1 }
                if swapDevices[d].slots[off].map == 0 {
                    swapDevices[d].slots[off].map = SwapDevice.hasCache
                    swapDevices[d].inuse += 1
                    swapDevices[d].cursor = off + 1
                    let e = SwapEntry(type: swapDevices[d].type, offset: off)
                    addToSwapCache(pfn, e)
                    return e
                }
                off += 1
            }
        }
        return nil
    }

    /// Models swap_cache_add_folio(): the folio gains PG_swapcache and a reference.
    mutating func addToSwapCache(_ pfn: PFN, _ e: SwapEntry) {
        frames[pfn].flags.insert(.swapcache)
        frames[pfn].refcount += 1
        swapCacheEntry[pfn] = e
        swapDevices[Int(e.type)].slots[e.offset].map |= SwapDevice.hasCache
        swapDevices[Int(e.type)].slots[e.offset].cached = pfn
    }

    /// Models swap_cache_del_folio() + put_swap_folio(): drop the folio from the swap cache.
    mutating func deleteFromSwapCache(_ pfn: PFN) {
        guard let e = swapCacheEntry.removeValue(forKey: pfn) else { return }
        frames[pfn].flags.remove(.swapcache)
        swapDevices[Int(e.type)].slots[e.offset].map &= ~SwapDevice.hasCache
        swapDevices[Int(e.type)].slots[e.offset].cached = 0
        releaseSlotIfUnused(e)
        putFolio(pfn)
    }

    /// The folio in the swap cache for `e`, if any (swap_cache_get_folio()).
    func swapCacheLookup(_ e: SwapEntry) -> PFN? {
        guard Int(e.type) < swapDevices.count else { return nil }
        let pfn = swapDevices[Int(e.type)].slots[e.offset].cached
        return pfn == 0 ? nil : pfn
    }

    /// The swap entry of a swap-cache folio (folio->swap).
    func swapEntry(ofFolio pfn: PFN) -> SwapEntry? { swapCacheEntry[pfn] }

    /// Models swap_duplicate(): one more PTE (or shmem slot) references `e`.
    mutating func swapDuplicate(_ e: SwapEntry) {
        swapDevices[Int(e.type)].slots[e.offset].map += 1
    }

    /// Models swap_free_nr() for one entry: drop one reference, free the slot when unused.
    mutating func swapFree(_ e: SwapEntry) {
        let d = Int(e.type)
        guard swapDevices[d].count(e.offset) > 0 else { return }
        swapDevices[d].slots[e.offset].map -= 1
        releaseSlotIfUnused(e)
    }

    /// Models free_swap_and_cache_nr(): drop a reference and, if nothing references the
    /// slot any more, reclaim the swap-cache folio when it is not mapped.
    mutating func freeSwapAndCache(_ e: SwapEntry) {
        swapFree(e)
        if swapDevices[Int(e.type)].count(e.offset) == 0, let pfn = swapCacheLookup(e), frames[pfn].mapcount == 0 {
            deleteFromSwapCache(pfn)
        }
    }

    /// Models folio_free_swap(): drop the swap-cache copy if no entry references it any more.
    @discardableResult
    mutating func folioFreeSwap(_ pfn: PFN) -> Bool {
        guard let e = swapCacheEntry[pfn] else { return false }
        guard swapDevices[Int(e.type)].count(e.offset) == 0 else { return false }
        deleteFromSwapCache(pfn)
        frames[pfn].flags.insert(.dirty)   // the memory copy is now the only one
        return true
    }

    mutating func releaseSlotIfUnused(_ e: SwapEntry) {
        let d = Int(e.type)
        if swapDevices[d].slots[e.offset].map == 0 {
            swapDevices[d].inuse -= 1
            swapDevices[d].slots[e.offset] = .empty   // what was stored goes with it
        }
    }

    /// Models swap_writeout(): the folio's content reaches the device.
    mutating func swapWriteout(_ pfn: PFN, _ e: SwapEntry) {
        swapDevices[Int(e.type)].slots[e.offset].stored = frames[pfn].token
        frames[pfn].flags.remove(.dirty)
        costs.swapOuts += 1
    }

    /// Models swap_read_folio() into a fresh folio added to the swap cache.
    mutating func swapReadIntoCache(_ e: SwapEntry) -> PFN {
        let token = swapDevices[Int(e.type)].slots[e.offset].stored
        let pfn = frames.alloc(token: token)
        frames[pfn].flags.insert(.swapbacked)
        addToSwapCache(pfn, e)
        costs.swapIns += 1
        costs.majorFaults += 1
        return pfn
    }
}
