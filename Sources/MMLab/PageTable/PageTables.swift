// SPDX-License-Identifier: Apache-2.0
//
// A process's page tables. The last level is stored: one 512-entry PTE table per
// populated 2 MiB range (a PMD entry pointing at a PTE page, mm/memory.c __pte_alloc()).
// Tables live in one flat array so a fault touches one cache line; a table whose 512 entries
// follow one pattern (consecutive PFNs with the same bits, as a sequential fault pass or a
// PMD-sized folio maps them, or one entry repeated, as the zero page is mapped) is packed into
// one word instead. The upper levels say only
// which tables exist (LeafIndex: the PMD, PUD and PGD entries that are not none), so that a
// walk goes from one table to the next whatever lies between them.

public let pageSize: UInt64 = 4096
public let pageShift: UInt64 = 12
/// PTRS_PER_PTE.
public let ptrsPerPTE = 512
/// PMD_SIZE.
public let pmdSize: UInt64 = 2 << 20

/// The PTE pages of one mm.
public struct PageTables: Sendable {
    /// PMD number (address >> 21) → table code: a slot of `entries` (≥ 0), or ~i for entry i
    /// of `packed` (< 0).
    var tableOf: [UInt64: Int32] = [:]
    /// All dense PTE tables, 512 entries each.
    var entries: [UInt64] = []
    /// Packed tables: the first PTE and the step from one PTE to the next (0 or one page of
    /// PFN), which reproduce all 512 entries exactly.
    var packed: [(first: UInt64, step: UInt64)] = []

    /// Number of PTE tables in use (for accounting and the pagemap walk).
    public private(set) var tableCount = 0
    /// A one-entry cache of `tableOf`, set by the last mutation that found or made a table:
    /// its PMD number (`.max`: none; no address has that PMD number) and slot.
    var cachedPMD: UInt64 = .max
    var cachedTable: Int32 = 0
    /// What only allocating or freeing a table touches, behind one reference (the fault path
    /// copies an MM now and then, and an MM of more than 128 bytes is copied with memcpy):
    /// the slots of freed tables, reused first, and which PMD numbers have a table (the upper
    /// levels of the tree).
    var aux = CoWBox(Aux())
    struct Aux: Sendable {
        var freeTables: [Int32] = []
        /// Entries of `packed` no table uses.
        var freePacked: [Int32] = []
        var index = LeafIndex()
    }
    var index: LeafIndex { aux.value.index }
    var freeTables: [Int32] { aux.value.freeTables }

    public init() {}

    /// Models pmd_offset() + pmd_none(): the code of the table covering `address`, if it exists.
    @inline(__always) func tableCode(_ address: UInt64) -> Int32? {
        let pmd = address >> 21
        return pmd == cachedPMD ? cachedTable : tableOf[pmd]
    }

    /// Models pte_offset_map() + ptep_get(): entry `index` (0–511) of the table with `code`.
    @inline(__always) func entry(code: Int32, index: Int) -> UInt64 {
        if code >= 0 { return entries[Int(code) &* ptrsPerPTE &+ index] }
        let p = packed[Int(~code)]
        return p.first &+ UInt64(index) &* p.step
    }

    /// Reads the PTE at `address` (none when no table exists).
    public func pte(_ address: UInt64) -> PTE {
        guard let t = tableCode(address) else { return .none }
        return PTE(raw: entry(code: t, index: Int((address >> 12) & 511)))
    }

    /// Whether a PTE table covers `address` (pmd_none() is false).
    public func hasTable(_ address: UInt64) -> Bool {
        let pmd = address >> 21
        return pmd == cachedPMD || tableOf[pmd] != nil
    }

    /// pmd_none() for a page-table walk: also points the one-entry cache at the table found,
    /// so that the walk's reads and writes of its PTEs do not look it up again.
    mutating func walkTable(_ address: UInt64) -> Bool {
        let pmd = address >> 21
        if pmd == cachedPMD { return true }
        guard let u = tableOf[pmd] else { return false }
        cachedPMD = pmd
        cachedTable = u
        return true
    }

    /// Models __pte_alloc(): the slot in `entries` for `address`, allocating its table if
    /// needed (and unpacking a packed one).
    @discardableResult
    mutating func allocSlot(_ address: UInt64) -> Int {
        let pmd = address >> 21
        if pmd != cachedPMD, let u = tableOf[pmd] {
            cachedPMD = pmd
            cachedTable = u
        }
        if pmd == cachedPMD {
            if cachedTable < 0 { unpack(pmd) }
            return Int(cachedTable) &* ptrsPerPTE &+ Int((address >> 12) & 511)
        }
        let t = allocDenseTable()
        tableOf[pmd] = t
        aux.value.index.insert(pmd)
        cachedPMD = pmd
        cachedTable = t
        tableCount += 1
        return Int(t) &* ptrsPerPTE &+ Int((address >> 12) & 511)
    }

    /// A free slot of 512 zeroed entries in `entries`.
    mutating func allocDenseTable() -> Int32 {
        if let f = aux.value.freeTables.popLast() { return f }
        let t = Int32(entries.count / ptrsPerPTE)
        if entries.count == entries.capacity {
            entries.reserveCapacity(entries.count + entries.count / 4 + 16 * ptrsPerPTE)
        }
        entries.append(contentsOf: repeatElement(0, count: ptrsPerPTE))
        return t
    }

    /// Gives the packed table of PMD number `pmd` a dense slot holding the same 512 entries.
    @inline(never) mutating func unpack(_ pmd: UInt64) {
        guard let code = tableOf[pmd], code < 0 else { return }
        let p = packed[Int(~code)]
        let t = allocDenseTable()
        let base = Int(t) * ptrsPerPTE
        entries.withUnsafeMutableBufferPointer { e in
            var v = p.first
            for k in base..<(base + ptrsPerPTE) {
                e[k] = v
                v &+= p.step
            }
        }
        packed[Int(~code)] = (0, 0)
        aux.value.freePacked.append(~code)
        tableOf[pmd] = t
        if pmd == cachedPMD { cachedTable = t }
    }

    /// Packs the dense table of PMD number `pmd` if its entries are one PTE repeated (none
    /// included: a zapped table that stays until free_pgtables()) or PTEs of consecutive PFNs
    /// with the same bits (last entry compared first).
    @inline(never) mutating func tryPack(_ pmd: UInt64) {
        guard let code = tableOf[pmd], code >= 0 else { return }
        let base = Int(code) * ptrsPerPTE
        let first = entries[base]
        let step = entries[base + 1] &- first
        guard step == 0 || step == pageSize,
              entries[base + ptrsPerPTE - 1] == first &+ UInt64(ptrsPerPTE - 1) &* step else { return }
        let uniform = entries.withUnsafeBufferPointer { e in
            var v = first &+ 2 &* step
            for k in (base + 2)..<(base + ptrsPerPTE) {
                if e[k] != v { return false }
                v &+= step
            }
            return true
        }
        guard uniform else { return }
        entries.withUnsafeMutableBufferPointer { e in
            UnsafeMutableBufferPointer(rebasing: e[base..<(base + ptrsPerPTE)]).update(repeating: 0)
        }
        aux.value.freeTables.append(code)
        let p: Int32
        if let f = aux.value.freePacked.popLast() {
            p = f
            packed[Int(p)] = (first, step)
        } else {
            p = Int32(packed.count)
            packed.append((first, step))
        }
        tableOf[pmd] = ~p
        if pmd == cachedPMD { cachedTable = ~p }
    }

    /// Writes the PTE at `address` (set_pte_at()), allocating the table for non-none values.
    /// A write to a table's last entry packs the table if it now follows one pattern.
    mutating func set(_ address: UInt64, _ pte: PTE) {
        let k = Int((address >> 12) & 511)
        let pmd = address >> 21
        let t: Int32
        if pmd == cachedPMD {
            t = cachedTable
        } else if let u = tableOf[pmd] {
            t = u
            if !pte.isNone {
                cachedPMD = pmd
                cachedTable = u
            }
        } else {
            if pte.isNone { return }
            entries[allocSlot(address)] = pte.raw
            return
        }
        if t >= 0 {
            entries[Int(t) &* ptrsPerPTE &+ k] = pte.raw
            if k == ptrsPerPTE - 1 { tryPack(pmd) }
            return
        }
        // A packed table: nothing to do if the entry is what the pattern says.
        if entry(code: t, index: k) == pte.raw { return }
        entries[allocSlot(address)] = pte.raw
        if k == ptrsPerPTE - 1 { tryPack(pmd) }
    }

    /// Models pte_alloc() + set_pte_at() of a fault that fills a none PTE: allocSlot() and
    /// then set() in one lookup (a write to a table's last entry packs it if it is uniform).
    @inline(__always) mutating func setAllocating(_ address: UInt64, _ pte: PTE) {
        entries[allocSlot(address)] = pte.raw
        if (address >> 12) & 511 == 511 { tryPack(address >> 21) }
    }

    /// Models free_pte_range() for the table covering PMD number `pmd`, which must be empty.
    mutating func freeTable(pmd: UInt64) {
        guard let t = tableOf.removeValue(forKey: pmd) else { return }
        aux.value.index.remove(pmd)
        if pmd == cachedPMD { cachedPMD = .max }
        if t >= 0 {
            aux.value.freeTables.append(t)
        } else {
            packed[Int(~t)] = (0, 0)
            aux.value.freePacked.append(~t)
        }
        tableCount -= 1
    }

    /// Models walk_page_range()'s descent through pgd_none()/p4d_none()/pud_none()/pmd_none():
    /// the first address in [address, end) that a PTE table covers (nil: no table there).
    public func nextTable(_ address: UInt64, _ end: UInt64) -> UInt64? {
        guard address < end else { return nil }
        let pmd = address >> 21
        if pmd == cachedPMD { return address }
        guard let t = aux.value.index.next(from: pmd, below: ((end - 1) >> 21) + 1) else { return nil }
        return t == pmd ? address : t << 21
    }

    /// Where a walk step from `start` towards `end` ends when each step holds one PTE lock:
    /// the end of the `chunk`-aligned block around `start` when a table lies in that block;
    /// otherwise the start of the block that holds the next table (or `end`): a walk takes no
    /// lock for pmd_none() entries and passes them in one go.
    public func lockStepEnd(_ start: UInt64, _ end: UInt64, chunk: UInt64 = pmdSize) -> UInt64 {
        let blockEnd = min(end, (start | (chunk - 1)) &+ 1)
        let next = nextTable(start, end) ?? end
        if next < blockEnd { return blockEnd }
        return max(blockEnd, min(end, next & ~(chunk - 1)))
    }

    /// The PMD numbers of the tables in [start, end), in address order.
    func tables(_ start: UInt64, _ end: UInt64) -> [UInt64] {
        var out: [UInt64] = []
        var a = start
        while let t = nextTable(a, end) {
            out.append(t >> 21)
            a = ((t >> 21) + 1) << 21
            if a == 0 { break }
        }
        return out
    }

    /// Whether every PTE of the table covering PMD number `pmd` is none.
    func tableIsEmpty(pmd: UInt64) -> Bool {
        guard let t = tableOf[pmd] else { return true }
        if t < 0 { return packed[Int(~t)] == (0, 0) }
        let base = Int(t) * ptrsPerPTE
        for i in base..<(base + ptrsPerPTE) where entries[i] != 0 { return false }
        return true
    }

    /// Bytes these tables occupy, by capacity.
    public var bytes: Int {
        entries.capacity * 8 + packed.capacity * 16 + tableOf.capacity * (8 + 4 + 1) + freeTables.capacity * 4
            + aux.value.freePacked.capacity * 4 + index.bytes
    }
}
