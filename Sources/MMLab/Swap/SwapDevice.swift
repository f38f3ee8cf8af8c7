// SPDX-License-Identifier: Apache-2.0
//
// Swap devices (struct swap_info_struct, mm/swapfile.c) and the swap cache
// (mm/swap_state.c). swap_map counts references exactly as the kernel does: the low bits
// count PTEs and shmem page-cache slots that hold the entry, SWAP_HAS_CACHE says a folio
// for it is in the swap cache.

/// One swap device.
public struct SwapDevice: Sendable {
    public let type: UInt8
    /// swap_map: one byte per slot. Slot 0 is the header (SWAP_MAP_BAD).
    public internal(set) var swapMap: [UInt8]
    /// What was written to each slot (the device's content: one token per page).
    var stored: [UInt64]
    /// The swap cache's index by slot: the folio holding each slot's data (0 = none).
    var cached: [PFN]
    /// Rotating allocation cursor (the cluster allocator's next offset, simplified).
    var cursor: Int = 1
    public internal(set) var inuse = 0

    public static let hasCache: UInt8 = 0x40   // SWAP_HAS_CACHE
    public static let mapBad: UInt8 = 0x3f     // SWAP_MAP_BAD
    public static let mapMax: UInt8 = 0x3e     // SWAP_MAP_MAX

    init(type: UInt8, slots: Int) {
        self.type = type
        swapMap = Array(repeating: 0, count: slots)
        stored = Array(repeating: 0, count: slots)
        cached = Array(repeating: 0, count: slots)
        if slots > 0 { swapMap[0] = Self.mapBad }
    }

    /// Usable slots (pages), without the header.
    public var pages: Int { max(0, swapMap.count - 1) }

    /// swap_count(): references without the cache bit.
    public func count(_ offset: Int) -> Int { Int(swapMap[offset] & ~Self.hasCache) }
}

extension Kernel {
    /// Models swapon(2) of a swap file of `bytes`.
    public mutating func swapon(bytes: UInt64) -> Errno? {
        let slots = Int(bytes >> pageShift)
        guard slots >= 2 else { return .EINVAL }
        guard swapDevices.count < Int(SwapEntry.maxSwapfiles) else { return .EPERM }
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
            let n = swapDevices[d].swapMap.count
            guard swapDevices[d].inuse < swapDevices[d].pages else { continue }
            var off = swapDevices[d].cursor
            for _ in 0..<n {
                if off >= n { off = 1 }
                if swapDevices[d].swapMap[off] == 0 {
                    swapDevices[d].swapMap[off] = SwapDevice.hasCache
                    swapDevices[d].inuse += 1
                    swapDevices[d].cursor = off + 1
                    let e = SwapEntry(type: swapDevices[d].type, offset: UInt64(off))
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
        swapDevices[Int(e.type)].swapMap[Int(e.offset)] |= SwapDevice.hasCache
        swapDevices[Int(e.type)].cached[Int(e.offset)] = pfn
    }

    /// Models swap_cache_del_folio() + put_swap_folio(): drop the folio from the swap cache.
    mutating func deleteFromSwapCache(_ pfn: PFN) {
        guard let e = swapCacheEntry.removeValue(forKey: pfn) else { return }
        frames[pfn].flags.remove(.swapcache)
        swapDevices[Int(e.type)].swapMap[Int(e.offset)] &= ~SwapDevice.hasCache
        swapDevices[Int(e.type)].cached[Int(e.offset)] = 0
        releaseSlotIfUnused(e)
        putFolio(pfn)
    }

    /// The folio in the swap cache for `e`, if any (swap_cache_get_folio()).
    func swapCacheLookup(_ e: SwapEntry) -> PFN? {
        guard Int(e.type) < swapDevices.count else { return nil }
        let pfn = swapDevices[Int(e.type)].cached[Int(e.offset)]
        return pfn == 0 ? nil : pfn
    }

    /// The swap entry of a swap-cache folio (folio->swap).
    func swapEntry(ofFolio pfn: PFN) -> SwapEntry? { swapCacheEntry[pfn] }

    /// Models swap_duplicate(): one more PTE (or shmem slot) references `e`.
    mutating func swapDuplicate(_ e: SwapEntry) {
        swapDevices[Int(e.type)].swapMap[Int(e.offset)] += 1
    }

    /// Models swap_free_nr() for one entry: drop one reference, free the slot when unused.
    mutating func swapFree(_ e: SwapEntry) {
        let d = Int(e.type), o = Int(e.offset)
        guard swapDevices[d].count(o) > 0 else { return }
        swapDevices[d].swapMap[o] -= 1
        releaseSlotIfUnused(e)
    }

    /// Models free_swap_and_cache_nr(): drop a reference and, if nothing references the
    /// slot any more, reclaim the swap-cache folio when it is not mapped.
    mutating func freeSwapAndCache(_ e: SwapEntry) {
        swapFree(e)
        let d = Int(e.type), o = Int(e.offset)
        if swapDevices[d].count(o) == 0, let pfn = swapCacheLookup(e), frames[pfn].mapcount == 0 {
            deleteFromSwapCache(pfn)
        }
    }

    /// Models folio_free_swap(): drop the swap-cache copy if no entry references it any more.
    @discardableResult
    mutating func folioFreeSwap(_ pfn: PFN) -> Bool {
        guard let e = swapCacheEntry[pfn] else { return false }
        guard swapDevices[Int(e.type)].count(Int(e.offset)) == 0 else { return false }
        deleteFromSwapCache(pfn)
        frames[pfn].flags.insert(.dirty)   // the memory copy is now the only one
        return true
    }

    mutating func releaseSlotIfUnused(_ e: SwapEntry) {
        let d = Int(e.type), o = Int(e.offset)
        if swapDevices[d].swapMap[o] == 0 {
            swapDevices[d].inuse -= 1
            swapDevices[d].stored[o] = 0
        }
    }

    /// Models swap_writeout(): the folio's content reaches the device.
    mutating func swapWriteout(_ pfn: PFN, _ e: SwapEntry) {
        swapDevices[Int(e.type)].stored[Int(e.offset)] = frames[pfn].token
        frames[pfn].flags.remove(.dirty)
        costs.swapOuts += 1
    }

    /// Models swap_read_folio() into a fresh folio added to the swap cache.
    mutating func swapReadIntoCache(_ e: SwapEntry) -> PFN {
        let token = swapDevices[Int(e.type)].stored[Int(e.offset)]
        let pfn = frames.alloc(token: token)
        frames[pfn].flags.insert(.swapbacked)
        addToSwapCache(pfn, e)
        costs.swapIns += 1
        costs.majorFaults += 1
        return pfn
    }
}
