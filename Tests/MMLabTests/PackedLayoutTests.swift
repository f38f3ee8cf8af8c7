// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// The packed layouts (FrameTable chunks of 512 uniform frames, PTE tables of one pattern):
/// every field reads back exactly what was stored, whether its chunk or table is packed or
/// not, checked against plain shadow copies over seeded random operations.
final class PackedLayoutTests: XCTestCase {
    /// Frames, against an array of `Frame` values.
    func testFrameTableReadsBackWhatWasStoredAcrossPackingAndUnpacking() {
        var rng = SplitMix64(seed: 14)
        var t = FrameTable()
        var shadow: [Frame] = [t[0]]
        var free: [PFN] = []
        var packedSeen = 0, unpackedSeen = 0, tokensPackedSeen = 0, tokensUnpackedSeen = 0
        func check(_ pfn: PFN, _ what: String) {
            XCTAssertEqual(t[pfn], shadow[Int(pfn)], "\(what): frame \(pfn)")
            XCTAssertEqual(t.flags(pfn), shadow[Int(pfn)].flags, "\(what): flags of \(pfn)")
            XCTAssertEqual(t.mapcount(pfn), shadow[Int(pfn)].mapcount, "\(what): mapcount of \(pfn)")
            XCTAssertEqual(t.token(pfn), shadow[Int(pfn)].token, "\(what): token of \(pfn)")
        }
        for step in 0..<6000 {
            let packedBefore = t.chunkSlot.filter { $0 < 0 }.count
            let tokensPackedBefore = t.tokenSlot.filter { $0 < 0 }.count
            let op = Int.random(in: 0..<10, using: &rng)
            if op < 4 || shadow.count < 600 {
                // A run of allocations owned at consecutive indices, as a fault pass makes them.
                let run = Int.random(in: 1...600, using: &rng)
                let mapping = UInt32.random(in: 1...3, using: &rng)
                let index0 = UInt64.random(in: 0..<(1 << 20), using: &rng)
                for j in 0..<run {
                    let pfn = t.alloc(token: UInt64(step) << 16 | UInt64(j))
                    if Int(pfn) == shadow.count {
                        shadow.append(Frame(token: UInt64(step) << 16 | UInt64(j), refcount: 0, mapcount: 0,
                                            flags: [.allocated, .uptodate, .lru]))
                    } else {
                        XCTAssertEqual(pfn, free.removeLast(), "the free list is last-freed-first")
                        shadow[Int(pfn)] = Frame(token: UInt64(step) << 16 | UInt64(j), refcount: 0, mapcount: 0,
                                                 flags: [.allocated, .uptodate, .lru])
                    }
                    t.setNewAnon(pfn, mapping: mapping, index: index0 + UInt64(j))
                    shadow[Int(pfn)].setOwner(mapping: mapping, index: index0 + UInt64(j))
                    shadow[Int(pfn)].flags.formUnion([.anon, .anonExclusive, .swapbacked])
                    shadow[Int(pfn)].mapcount = 1
                    shadow[Int(pfn)].refcount += 1
                    check(pfn, "setNewAnon")
                }
            } else {
                let pfn = PFN.random(in: 1..<PFN(shadow.count), using: &rng)
                let allocated = shadow[Int(pfn)].flags.contains(.allocated)
                switch op {
                case 4 where allocated:
                    t.addMapping(pfn)
                    shadow[Int(pfn)].mapcount &+= 1
                    shadow[Int(pfn)].refcount &+= 1
                case 5 where allocated && shadow[Int(pfn)].mapcount > 0:
                    XCTAssertEqual(t.removeMapping(pfn), shadow[Int(pfn)].refcount &- 1)
                    shadow[Int(pfn)].mapcount &-= 1
                    shadow[Int(pfn)].refcount &-= 1
                case 6 where allocated:
                    t.setToken(pfn, UInt64(step))
                    shadow[Int(pfn)].token = UInt64(step)
                case 7 where allocated:
                    // A whole run freed in address order (a zap), as exit does.
                    var p = pfn
                    while Int(p) < shadow.count && shadow[Int(p)].flags.contains(.allocated) && p < pfn + 700 {
                        t.free(p)
                        free.append(p)
                        shadow[Int(p)].flags = []
                        shadow[Int(p)].setOwner(mapping: 0, index: 0)
                        check(p, "free")
                        p += 1
                    }
                case 8 where allocated:
                    // An owner that does not fit the packed word (an index beyond 2^40).
                    var f = shadow[Int(pfn)]
                    f.setOwner(mapping: 2, index: 1 << 41 | UInt64(step))
                    t[pfn] = f
                    shadow[Int(pfn)] = f
                default:
                    if allocated {
                        var f = shadow[Int(pfn)]
                        f.flags.formSymmetricDifference(.referenced)
                        t[pfn] = f
                        shadow[Int(pfn)] = f
                    }
                }
                check(pfn, "op \(op)")
            }
            let packedAfter = t.chunkSlot.filter { $0 < 0 }.count
            if packedAfter > packedBefore { packedSeen += 1 }
            if packedAfter < packedBefore { unpackedSeen += 1 }
            let tokensPackedAfter = t.tokenSlot.filter { $0 < 0 }.count
            if tokensPackedAfter > tokensPackedBefore { tokensPackedSeen += 1 }
            if tokensPackedAfter < tokensPackedBefore { tokensUnpackedSeen += 1 }
            if step % 500 == 0 {
                for p in 0..<shadow.count { check(PFN(p), "sweep at step \(step)") }
            }
            if testRun?.failureCount ?? 0 > 10 { break }
        }
        for p in 0..<shadow.count { check(PFN(p), "final sweep") }
        XCTAssertEqual(t.allocatedCount, shadow.dropFirst().filter { $0.flags.contains(.allocated) }.count)
        XCTAssertGreaterThan(packedSeen, 5, "chunks were packed")
        XCTAssertGreaterThan(unpackedSeen, 5, "packed chunks were unpacked by changes")
        XCTAssertGreaterThan(tokensPackedSeen, 5, "tokens were packed")
        XCTAssertGreaterThan(tokensUnpackedSeen, 0, "packed tokens were unpacked by stores")
    }

    /// PTE tables, against a dictionary of entries.
    func testPageTablesReadBackWhatWasStoredAcrossPackingAndUnpacking() {
        var rng = SplitMix64(seed: 1414)
        var pt = PageTables()
        var shadow: [UInt64: UInt64] = [:]   // page number → raw PTE (none: absent)
        var packedSeen = 0
        let base: UInt64 = 0x7f00_0000_0000
        func check(_ page: UInt64) {
            XCTAssertEqual(pt.pte(base + page << 12).raw, shadow[page] ?? 0, "page \(page)")
        }
        for step in 0..<3000 {
            let table = UInt64.random(in: 0..<6, using: &rng)
            let op = Int.random(in: 0..<6, using: &rng)
            if op < 3 {
                // A whole table written in order: consecutive PFNs, or one PFN repeated.
                let pfn0 = UInt64.random(in: 1..<(1 << 30), using: &rng)
                let repeated = op == 2
                let bits = PTE.present | PTE.user | (Bool.random(using: &rng) ? PTE.rw | PTE.dirty : 0)
                for k in 0..<UInt64(512) {
                    let raw = PTE.make(pfn: PFN(truncatingIfNeeded: repeated ? pfn0 : pfn0 + k), prot: bits).raw
                    pt.set(base + (table << 9 | k) << 12, PTE(raw: raw))
                    shadow[table << 9 | k] = raw
                }
                if pt.tableOf[(base >> 21) + table]! < 0 { packedSeen += 1 }
            } else if op == 3 {
                let k = UInt64.random(in: 0..<512, using: &rng)
                let raw = Bool.random(using: &rng) ? 0 : UInt64.random(in: 1..<(1 << 40), using: &rng) << 12 | 1
                pt.set(base + (table << 9 | k) << 12, PTE(raw: raw))
                shadow[table << 9 | k] = raw == 0 ? nil : raw
            } else if op == 4 {
                // Zap the table and free it, as free_pgtables() does.
                for k in 0..<UInt64(512) {
                    pt.set(base + (table << 9 | k) << 12, .none)
                    shadow[table << 9 | k] = nil
                }
                XCTAssertTrue(pt.tableIsEmpty(pmd: (base >> 21) + table))
                pt.freeTable(pmd: (base >> 21) + table)
            }
            for k in 0..<UInt64(512) { check(table << 9 | k) }
            let present = (0..<UInt64(512)).contains { shadow[table << 9 | $0] != nil }
            if present { XCTAssertTrue(pt.hasTable(base + table << 21), "step \(step)") }
            if testRun?.failureCount ?? 0 > 10 { break }
        }
        XCTAssertEqual(pt.tables(0, .max).count, pt.tableCount)
        XCTAssertGreaterThan(packedSeen, 100)
    }

    /// A populated anonymous mapping that the packed layouts hold in a few words per 2 MiB:
    /// fork, copy-on-write, mprotect, pageout, munmap and exit across it keep the invariants
    /// (checked after each of them, not after each page: 4096 pages) and the contents.
    func testPackedMemoryKeepsItsContentsAndInvariantsThroughTheMMOperations() {
        var t = TestKernel(swapMiB: 16)
        t.k.internalChecks = false
        let pages = 4096
        let a = t.anon(pages)
        for i in 0..<pages { t.write(a, page: i, 0x1000 + UInt64(i)) }
        t.assertConsistent()
        XCTAssertGreaterThanOrEqual(t.k.frames.chunkSlot.filter { $0 < 0 }.count, 6, "chunks packed")
        XCTAssertGreaterThanOrEqual(t.k.frames.tokenSlot.filter { $0 < 0 }.count, 6, "tokens packed")
        XCTAssertEqual(t.k.mms[Int(t.mm)].pageTables.packed.count, pages / 512, "tables packed")
        let child = t.k.fork(t.mm, childName: "child")
        t.assertConsistent()
        for i in stride(from: 0, to: pages, by: 7) { t.write(a, page: i, 0x9_0000 + UInt64(i), in: child) }
        t.assertConsistent()
        _ = t.k.mprotect(t.mm, start: a + (600 << 12), length: 1500 << 12, prot: .r)
        t.assertConsistent()
        _ = t.k.madvise(t.mm, start: a + (2048 << 12), length: 300 << 12, advice: .pageout)
        t.assertConsistent()
        _ = t.k.munmap(child, start: a + (3000 << 12), length: 200 << 12)
        t.assertConsistent()
        for i in 0..<pages {
            XCTAssertEqual(t.read(a, page: i), .ok(0x1000 + UInt64(i)), "parent page \(i)")
            if i < 3000 || i >= 3200 {
                XCTAssertEqual(t.read(a, page: i, in: child), .ok(i % 7 == 0 ? 0x9_0000 + UInt64(i) : 0x1000 + UInt64(i)),
                               "child page \(i)")
            }
        }
        t.assertConsistent()
        t.k.exitMM(child)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }
}
