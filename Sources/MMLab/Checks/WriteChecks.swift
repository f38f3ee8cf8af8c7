// SPDX-License-Identifier: Apache-2.0
//
// What `explore` checks about stores (the checks `no_silent_write` and `no_lost_write`):
// which pages a process write-protected with userfaultfd, whether a wp fault reached the
// handler since, and the last token stored in each page, with the operations that may
// legitimately discard it.

/// Sorted, disjoint, non-adjacent ranges of keys: the pages a process write-protected, kept
/// as ranges so that protecting a large range costs one entry.
struct KeyRanges: Hashable, Sendable {
    var ranges: [Range<UInt64>] = []

    /// The index of the first range that ends after `k`.
    func firstEnding(after k: UInt64) -> Int {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound <= k { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    func contains(_ k: UInt64) -> Bool {
        let i = firstEnding(after: k)
        return i < ranges.count && ranges[i].contains(k)
    }

    mutating func insert(_ r: Range<UInt64>) {
        guard !r.isEmpty else { return }
        var i = firstEnding(after: r.lowerBound)
        if i > 0 && ranges[i - 1].upperBound == r.lowerBound { i -= 1 }   // adjacent below
        var lo = r.lowerBound, hi = r.upperBound
        var j = i
        while j < ranges.count && ranges[j].lowerBound <= hi {
            lo = min(lo, ranges[j].lowerBound)
            hi = max(hi, ranges[j].upperBound)
            j += 1
        }
        ranges.replaceSubrange(i..<j, with: [lo..<hi])
    }

    mutating func remove(_ r: Range<UInt64>) {
        guard !r.isEmpty else { return }
        let i = firstEnding(after: r.lowerBound)
        var j = i
        var keep: [Range<UInt64>] = []
        while j < ranges.count && ranges[j].lowerBound < r.upperBound {
            let x = ranges[j]
            if x.lowerBound < r.lowerBound { keep.append(x.lowerBound..<r.lowerBound) }
            if x.upperBound > r.upperBound { keep.append(r.upperBound..<x.upperBound) }
            j += 1
        }
        ranges.replaceSubrange(i..<j, with: keep)
    }
}

/// The bookkeeping behind the write checks; a key is (mm, virtual page).
public struct WriteChecks: Hashable, Sendable {
    /// Pages write-protected with UFFDIO_WRITEPROTECT and not unprotected since.
    var protected = KeyRanges()
    /// Protected pages for which a wp fault was delivered (or resolved by WP_ASYNC).
    var delivered: Set<UInt64> = []
    /// The last token stored in each page.
    var stores: [UInt64: UInt64] = [:]
    /// Stores that completed on a protected page without a wp fault first.
    public internal(set) var silentWrites: [String] = []

    public init() {}

    static func key(_ mm: MMID, _ address: UInt64) -> UInt64 { UInt64(mm) << 40 | address >> 12 }

    /// The keys of the pages of [start, end) in mm `mm`.
    static func keys(_ mm: MMID, _ start: UInt64, _ end: UInt64) -> Range<UInt64> {
        let lo = key(mm, start & ~(pageSize - 1)), hi = key(mm, (end &+ pageSize &- 1) & ~(pageSize - 1))
        return lo..<max(lo, hi)
    }

    /// Forgets what `remove` says of the keys in `r`: from a set or a dictionary, costing the
    /// smaller of the range and the collection.
    static func removeKeys<C>(_ r: Range<UInt64>, from c: inout C, count: Int, remove: (inout C, UInt64) -> Void,
                               keys: (C) -> [UInt64]) {
        if UInt64(r.count) <= UInt64(count) {
            for k in r { remove(&c, k) }
        } else {
            for k in keys(c) where r.contains(k) { remove(&c, k) }
        }
    }
}

extension Kernel {
    /// Turns the write checks on (they cost a set lookup per store).
    public mutating func enableWriteChecks() { writeChecks = WriteChecks() }

    mutating func noteWriteProtect(_ mm: Int, _ start: UInt64, _ end: UInt64, protect: Bool) {
        guard writeChecks != nil else { return }
        let r = WriteChecks.keys(MMID(mm), start, end)
        if protect { writeChecks!.protected.insert(r) } else { writeChecks!.protected.remove(r) }
        WriteChecks.removeKeys(r, from: &writeChecks!.delivered, count: writeChecks!.delivered.count,
                               remove: { $0.remove($1) }, keys: { Array($0) })
    }

    mutating func noteWPFaultDelivered(_ mm: Int, _ address: UInt64) {
        guard writeChecks != nil else { return }
        writeChecks!.delivered.insert(WriteChecks.key(MMID(mm), address))
    }

    mutating func noteStoreCompleted(_ mm: Int, _ address: UInt64, _ token: UInt64) {
        guard writeChecks != nil else { return }
        let k = WriteChecks.key(MMID(mm), address & ~(pageSize - 1))
        if writeChecks!.protected.contains(k) && !writeChecks!.delivered.contains(k) {
            writeChecks!.silentWrites.append("\(mms[mm].name): store of 0x\(String(token, radix: 16)) at 0x\(String(address, radix: 16)) completed on a uffd-wp protected page without a wp fault")
        }
        writeChecks!.stores[k] = token
    }

    /// A store that may be dropped: the page was discarded (dontneed of anon memory, punch
    /// or remove of the file behind a shared mapping, munmap).
    mutating func noteDiscard(_ mm: Int, _ start: UInt64, _ end: UInt64) {
        guard writeChecks != nil else { return }
        WriteChecks.removeKeys(WriteChecks.keys(MMID(mm), start, end), from: &writeChecks!.stores,
                               count: writeChecks!.stores.count, remove: { $0.removeValue(forKey: $1) },
                               keys: { Array($0.keys) })
    }

    /// Discards every shared mapping of file pages [first, last] (punch, remove).
    mutating func noteFileDiscard(_ ino: InodeID, first: UInt64, last: UInt64) {
        guard writeChecks != nil else { return }
        for m in mms.indices where mms[m].alive {
            for vma in mms[m].vmas where vma.inode == ino && vma.flags.contains(.shared) {
                let lo = max(first, vma.pgoff), hi = min(last, vma.pgoff + UInt64(vma.pages) - 1)
                guard lo <= hi else { continue }
                noteDiscard(m, vma.start + (lo - vma.pgoff) << pageShift, vma.start + (hi - vma.pgoff + 1) << pageShift)
            }
        }
    }

    /// A write to file page `index` through the file (pwrite): every shared mapping of the
    /// page now reads `token`, which supersedes what was stored through it.
    mutating func noteFileWrite(_ ino: InodeID, index: UInt64, token: UInt64) {
        guard writeChecks != nil else { return }
        for m in mms.indices where mms[m].alive {
            for vma in mms[m].vmas where vma.inode == ino && vma.flags.contains(.shared) {
                guard let a = vma.address(ofPgoff: index) else { continue }
                writeChecks!.stores[WriteChecks.key(MMID(m), a)] = token
            }
        }
    }

    /// The token a load would see now, without faulting anything in (for the final check).
    public func peekToken(_ mm: MMID, _ address: UInt64) -> UInt64? {
        let m = Int(mm)
        guard mms[m].alive, let v = mms[m].vmaIndex(containing: address) else { return nil }
        let vma = mms[m].vmas[v]
        let pte = mms[m].pageTables.pte(address & ~(pageSize - 1))
        if pte.isPresent { return frames[pte.pfn].token }
        if pte.isSwapPTE {
            let e = pte.swapEntry
            guard e.isRealSwap else { return vma.inode == nil ? 0 : fileToken(vma, address) }
            if let pfn = swapCacheLookup(e) { return frames[pfn].token }
            return swapDevices[Int(e.type)].slots[e.offset].stored
        }
        return vma.inode == nil ? 0 : fileToken(vma, address)
    }

    func fileToken(_ vma: VMA, _ address: UInt64) -> UInt64? {
        guard let ino = vma.inode else { return 0 }
        let index = vma.pgoff(of: address)
        guard index < inodes[Int(ino)].sizeInPages else { return nil }
        let e = inodes[Int(ino)].pages[index]
        if let pfn = e.folio { return frames[pfn].token }
        if let se = e.swapEntry { return swapCacheLookup(se).map { frames[$0].token } ?? swapDevices[Int(se.type)].slots[se.offset].stored }
        return 0
    }

    /// Stores whose token can no longer be read back (`no_lost_write`), in a stable order.
    public func lostWrites() -> [String] {
        guard let wc = writeChecks else { return [] }
        var out: [String] = []
        for (k, token) in wc.stores.sorted(by: { $0.key < $1.key }) {
            let mm = MMID(k >> 40), address = (k & ((1 << 40) - 1)) << 12
            let now = peekToken(mm, address)
            if now != token {
                out.append("\(mms[Int(mm)].name): 0x\(String(token, radix: 16)) stored at 0x\(String(address, radix: 16)) reads back as \(now.map { "0x" + String($0, radix: 16) } ?? "nothing")")
            }
        }
        return out
    }

    public var silentWrites: [String] { writeChecks?.silentWrites ?? [] }
}
