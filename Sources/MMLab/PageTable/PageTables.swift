// SPDX-License-Identifier: Apache-2.0
//
// A process's page tables. Only the last level is stored: one 512-entry PTE table per
// populated 2 MiB range (a PMD entry pointing at a PTE page, mm/memory.c __pte_alloc()).
// Upper levels are implied. Tables live in one flat array so a fault touches one cache line.

public let pageSize: UInt64 = 4096
public let pageShift: UInt64 = 12
/// PTRS_PER_PTE.
public let ptrsPerPTE = 512
/// PMD_SIZE.
public let pmdSize: UInt64 = 2 << 20

/// The PTE pages of one mm.
public struct PageTables: Sendable {
    /// PMD number (address >> 21) → table slot.
    var tableOf: [UInt64: Int32] = [:]
    /// All PTE tables, 512 entries each.
    var entries: [UInt64] = []
    /// Slots of freed tables, reused first.
    var freeTables: [Int32] = []
    /// Number of PTE tables in use (for accounting and the pagemap walk).
    public private(set) var tableCount = 0
    /// A one-entry cache of `tableOf`, set by the last mutation that found or made a table:
    /// its PMD number (`.max`: none; no address has that PMD number) and slot.
    var cachedPMD: UInt64 = .max
    var cachedTable: Int32 = 0

    public init() {}

    /// Models pte_offset_map(): the slot of the PTE for `address`, if its table exists.
    func slot(_ address: UInt64) -> Int? {
        let pmd = address >> 21
        let t: Int32
        if pmd == cachedPMD {
            t = cachedTable
        } else {
            guard let u = tableOf[pmd] else { return nil }
            t = u
        }
        return Int(t) &* ptrsPerPTE &+ Int((address >> 12) & 511)
    }

    /// Reads the PTE at `address` (none when no table exists).
    public func pte(_ address: UInt64) -> PTE {
        guard let s = slot(address) else { return .none }
        return PTE(raw: entries[s])
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

    /// Models __pte_alloc(): the slot for `address`, allocating its table if needed.
    mutating func allocSlot(_ address: UInt64) -> Int {
        let pmd = address >> 21
        if pmd != cachedPMD, let u = tableOf[pmd] {
            cachedPMD = pmd
            cachedTable = u
        }
        if pmd == cachedPMD { return Int(cachedTable) &* ptrsPerPTE &+ Int((address >> 12) & 511) }
        let t: Int32
        if let f = freeTables.popLast() {
            t = f
        } else {
            t = Int32(entries.count / ptrsPerPTE)
            if entries.count == entries.capacity {
                entries.reserveCapacity(entries.count + entries.count / 4 + 16 * ptrsPerPTE)
            }
            entries.append(contentsOf: repeatElement(0, count: ptrsPerPTE))
        }
        tableOf[pmd] = t
        cachedPMD = pmd
        cachedTable = t
        tableCount += 1
        return Int(t) &* ptrsPerPTE &+ Int((address >> 12) & 511)
    }

    /// Writes the PTE at `address` (set_pte_at()), allocating the table for non-none values.
    mutating func set(_ address: UInt64, _ pte: PTE) {
        if pte.isNone {
            if let s = slot(address) { entries[s] = 0 }
        } else {
            entries[allocSlot(address)] = pte.raw
        }
    }

    /// Models free_pte_range() for the table covering PMD number `pmd`, which must be empty.
    mutating func freeTable(pmd: UInt64) {
        guard let t = tableOf.removeValue(forKey: pmd) else { return }
        if pmd == cachedPMD { cachedPMD = .max }
        freeTables.append(t)
        tableCount -= 1
    }

    /// Whether every PTE of the table covering PMD number `pmd` is none.
    func tableIsEmpty(pmd: UInt64) -> Bool {
        guard let t = tableOf[pmd] else { return true }
        let base = Int(t) * ptrsPerPTE
        for i in base..<(base + ptrsPerPTE) where entries[i] != 0 { return false }
        return true
    }

    /// Bytes these tables occupy, by capacity.
    public var bytes: Int {
        entries.capacity * 8 + tableOf.capacity * (8 + 4 + 1) + freeTables.capacity * 4
    }
}
