// SPDX-License-Identifier: Apache-2.0
//
// Sparse tables indexed by a 64-bit number, in the shape the kernel gives its own: leaves of
// 512 entries (a PTE page; an xarray's chain of nodes), and above them the levels that say
// which leaves exist (PMD, PUD and PGD entries; xarray internal nodes). A leaf exists only
// while it holds something, so memory follows what is populated, never the size of the range
// it could cover; and a walk asks for the next leaf that exists, skipping absent ones as
// walk_page_range() skips pmd_none()/pud_none()/pgd_none() entries and xa_find() skips empty
// nodes, in index order (never in a dictionary's order).

/// A value kept behind one reference and copied on write (isKnownUniquelyReferenced()), for
/// state that hot paths carry along but seldom touch: copying its owner then costs one
/// retain instead of one per array inside. Value semantics: shared storage is never mutated.
struct CoWBox<Value: Sendable>: @unchecked Sendable {
    private final class Storage {
        var value: Value
        init(_ value: Value) { self.value = value }
    }
    private var storage: Storage

    init(_ value: Value) { storage = Storage(value) }

    var value: Value {
        get { storage.value }
        _modify {
            if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.value) }
            yield &storage.value
        }
    }
}

/// One level of presence bitmaps: for each key, which of its 512 children exist.
struct PresenceLevel: Sendable {
    /// key → slot of its 8-word bitmap in `words`.
    var slotOf: [UInt64: Int32] = [:]
    var words: [UInt64] = []
    var freeSlots: [Int32] = []

    /// Sets bit `bit` of `key`'s bitmap; returns whether the bitmap was empty before.
    mutating func insert(_ key: UInt64, _ bit: Int) -> Bool {
        let base: Int
        var wasEmpty = false
        if let s = slotOf[key] {
            base = Int(s) * 8
        } else {
            wasEmpty = true
            let s: Int32
            if let f = freeSlots.popLast() {
                s = f
            } else {
                s = Int32(words.count / 8)
                words.append(contentsOf: repeatElement(0, count: 8))
            }
            slotOf[key] = s
            base = Int(s) * 8
        }
        words[base + bit >> 6] |= 1 << UInt64(bit & 63)
        return wasEmpty
    }

    /// Clears bit `bit` of `key`'s bitmap; returns whether the bitmap is empty now (it is then
    /// dropped).
    mutating func remove(_ key: UInt64, _ bit: Int) -> Bool {
        guard let s = slotOf[key] else { return false }
        let base = Int(s) * 8
        words[base + bit >> 6] &= ~(1 << UInt64(bit & 63))
        for w in base..<(base + 8) where words[w] != 0 { return false }
        slotOf.removeValue(forKey: key)
        freeSlots.append(s)
        return true
    }

    /// The first bit at or after `bit` set in `key`'s bitmap.
    func first(_ key: UInt64, from bit: Int) -> Int? {
        guard bit < 512, let s = slotOf[key] else { return nil }
        let base = Int(s) * 8
        var w = bit >> 6
        var word = words[base + w] & (~0 << UInt64(bit & 63))
        while true {
            if word != 0 { return w << 6 | word.trailingZeroBitCount }
            w += 1
            if w == 8 { return nil }
            word = words[base + w]
        }
    }

    var bytes: Int { words.capacity * 8 + slotOf.capacity * (8 + 4 + 1) + freeSlots.capacity * 4 }
}

/// Which leaves of a sparse table exist, as the upper levels of a radix tree: a bitmap per 512
/// leaves (for page tables: a PMD page, which PTE tables exist in 1 GiB), a bitmap per 512 of
/// those (a PUD page: which PMD pages exist in 512 GiB), and the sorted list of the top-level
/// entries present (the PGD entries). Finding the next leaf costs a few lookups, whatever the
/// distance to it.
struct LeafIndex: Sendable {
    var level1 = PresenceLevel()
    var level2 = PresenceLevel()
    /// Keys leaf >> 18 that have a level-2 bitmap, sorted.
    var top: [UInt64] = []

    /// Notes that leaf `leaf` exists.
    mutating func insert(_ leaf: UInt64) {
        guard level1.insert(leaf >> 9, Int(leaf & 511)) else { return }
        guard level2.insert(leaf >> 18, Int((leaf >> 9) & 511)) else { return }
        let t = leaf >> 18
        top.insert(t, at: lowerBound(t))
    }

    /// Notes that leaf `leaf` is gone.
    mutating func remove(_ leaf: UInt64) {
        guard level1.remove(leaf >> 9, Int(leaf & 511)) else { return }
        guard level2.remove(leaf >> 18, Int((leaf >> 9) & 511)) else { return }
        let i = lowerBound(leaf >> 18)
        if i < top.count && top[i] == leaf >> 18 { top.remove(at: i) }
    }

    /// The index of the first top-level key ≥ `t`.
    func lowerBound(_ t: UInt64) -> Int {
        var lo = 0, hi = top.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if top[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The first leaf that exists in [from, end), if any.
    func next(from: UInt64, below end: UInt64) -> UInt64? {
        var leaf = from
        while leaf < end {
            let t = leaf >> 18
            let i = lowerBound(t)
            guard i < top.count else { return nil }
            if top[i] > t {
                leaf = top[i] << 18
                continue
            }
            if let j2 = level2.first(t, from: Int((leaf >> 9) & 511)) {
                let k1 = t << 9 | UInt64(j2)
                if let j1 = level1.first(k1, from: k1 == leaf >> 9 ? Int(leaf & 511) : 0) {
                    let found = k1 << 9 | UInt64(j1)
                    return found < end ? found : nil
                }
                leaf = (k1 &+ 1) << 9
            } else {
                leaf = (t &+ 1) << 18
            }
            if leaf == 0 { return nil }   // past the last leaf number
        }
        return nil
    }

    var bytes: Int { level1.bytes + level2.bytes + top.capacity * 8 }
}

/// What a SparseTable stores: `empty` is the value of a slot never set (xarray's NULL, a
/// none PTE, an unused swap slot).
public protocol SparseEntry: Equatable, Sendable {
    static var empty: Self { get }
}

/// A sparse array of entries indexed by UInt64 (models the xarray of lib/xarray.c as the
/// page cache and swap use it): leaves of 512 entries that exist while they hold a non-empty
/// entry, found through a dictionary and a one-entry cache, with a LeafIndex for ordered walks.
public struct SparseTable<Element: SparseEntry>: Sendable {
    /// Leaf number (index >> 9) → slot.
    var slotOf: [UInt64: Int32] = [:]
    /// All leaves, 512 entries each.
    var storage: [Element] = []
    /// Non-empty entries per slot.
    var used: [UInt16] = []
    var freeSlots: [Int32] = []
    var index = LeafIndex()
    /// Non-empty entries in all.
    public private(set) var count = 0
    /// The last leaf found or made by a mutation (.max: none) and its slot.
    var cachedLeaf: UInt64 = .max
    var cachedSlot: Int32 = 0

    public init() {}

    func slot(ofLeaf leaf: UInt64) -> Int32? {
        leaf == cachedLeaf ? cachedSlot : slotOf[leaf]
    }

    public internal(set) subscript(i: UInt64) -> Element {
        get {
            guard let s = slot(ofLeaf: i >> 9) else { return .empty }
            return storage[Int(s) * 512 + Int(i & 511)]
        }
        set {
            let leaf = i >> 9
            var s = slot(ofLeaf: leaf)
            if s == nil {
                guard newValue != .empty else { return }
                s = allocLeaf(leaf)
            }
            let slot = Int(s!)
            cachedLeaf = leaf
            cachedSlot = s!
            let e = slot * 512 + Int(i & 511)
            let wasEmpty = storage[e] == .empty, isEmpty = newValue == .empty
            storage[e] = newValue
            if wasEmpty && !isEmpty {
                used[slot] += 1
                count += 1
            } else if !wasEmpty && isEmpty {
                used[slot] -= 1
                count -= 1
                if used[slot] == 0 { freeLeaf(leaf, s!) }
            }
        }
    }

    mutating func allocLeaf(_ leaf: UInt64) -> Int32 {
        let s: Int32
        if let f = freeSlots.popLast() {
            s = f
        } else {
            s = Int32(used.count)
            if storage.count == storage.capacity {
                // Grow by a quarter, not double: model state per page is a measured figure.
                storage.reserveCapacity(storage.count + storage.count / 4 + 8 * 512)
            }
            storage.append(contentsOf: repeatElement(.empty, count: 512))
            used.append(0)
        }
        slotOf[leaf] = s
        index.insert(leaf)
        return s
    }

    mutating func freeLeaf(_ leaf: UInt64, _ s: Int32) {
        slotOf.removeValue(forKey: leaf)
        index.remove(leaf)
        freeSlots.append(s)
        if cachedLeaf == leaf { cachedLeaf = .max }
    }

    /// The first index in [from, end) holding a non-empty entry (xa_find()). Indices are
    /// below 2^63 (page offsets, swap offsets, PFNs).
    public func next(from: UInt64, below end: UInt64) -> UInt64? {
        var i = from
        while i < end {
            guard let leaf = index.next(from: i >> 9, below: ((end - 1) >> 9) + 1) else { return nil }
            i = max(i, leaf << 9)
            let s = Int(slot(ofLeaf: leaf)!) * 512
            let stop = min(end, (leaf << 9) + 512)
            while i < stop {
                if storage[s + Int(i & 511)] != .empty { return i }
                i += 1
            }
        }
        return nil
    }

    /// The non-empty entries in [from, end), in index order.
    public func entries(from: UInt64 = 0, below end: UInt64 = .max) -> [(index: UInt64, entry: Element)] {
        var out: [(index: UInt64, entry: Element)] = []
        var i = from
        while let j = next(from: i, below: end) {
            out.append((j, self[j]))
            i = j + 1
        }
        return out
    }

    /// Bytes this table occupies, by capacity.
    public var bytes: Int {
        storage.capacity * MemoryLayout<Element>.stride + used.capacity * 2 + freeSlots.capacity * 4
            + slotOf.capacity * (8 + 4 + 1) + index.bytes
    }
}
