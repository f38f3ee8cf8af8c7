// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// MADV_PAGEOUT, the swap cache and do_swap_page() (mm/vmscan.c, mm/swapfile.c, mm/memory.c).
final class SwapTests: XCTestCase {
    func testAnonPageoutLeavesSwapEntryAndSwapCacheFolio() {
        var t = TestKernel(swapMiB: 16)
        let a = t.anon(4)
        t.write(a, 0x42)
        let pfn = PFN(t.pfn(a))
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4096, advice: .pageout))
        let w = t.pagemap(a)
        XCTAssertEqual(w & ~PM.pframeMask, PM.swap, "swap only: no exclusive bit on swap PTEs")
        XCTAssertEqual(w & 0x1f, 0, "swap type 0")
        XCTAssertEqual(w >> 5 & ((1 << 50) - 1), 1, "first usable offset is 1 (0 is the header)")
        let pte = t.k.mms[Int(t.mm)].pageTables.pte(a)
        XCTAssertTrue(pte.swpExclusive, "PageAnonExclusive moved into the swap PTE")
        XCTAssertTrue(t.k.frames[pfn].flags.contains(.swapcache))
        XCTAssertEqual(t.k.swapDevices[0].count(1), 1)
        // A read swap-in hits the swap cache: same frame, exclusive, writable, slot kept.
        XCTAssertEqual(t.read(a), .ok(0x42))
        XCTAssertEqual(t.pfn(a), UInt64(pfn))
        XCTAssertEqual(t.flags(a), presentExcl)
        XCTAssertTrue(t.k.mms[Int(t.mm)].pageTables.pte(a).isWritable)
        XCTAssertTrue(t.k.frames[pfn].flags.contains(.swapcache), "a read swap-in keeps the swap-cache copy")
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testWriteFaultSwapInFreesTheSlot() {
        var t = TestKernel(swapMiB: 16)
        let a = t.anon(1)
        t.write(a, 0x1)
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4096, advice: .pageout))
        t.write(a, 0x2)
        XCTAssertEqual(t.k.swapDevices[0].inuse, 0)
        XCTAssertEqual(t.flags(a), presentExcl)
        t.tearDownAndAssertNoLeaks()
    }

    func testPageoutWithoutSwapIsANoOpForAnonAndUnmapsShmem() {
        var t = TestKernel()
        let a = t.anon(1)
        t.write(a, 0x1)
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4096, advice: .pageout))
        XCTAssertEqual(t.flags(a), presentExcl)
        let f = t.memfd(2)
        let b = t.map(f, pages: 2)
        t.write(b, 0x3)
        let pfn = t.pfn(b)
        XCTAssertNil(t.k.madvise(t.mm, start: b, length: 8192, advice: .pageout))
        XCTAssertEqual(t.pagemap(b), 0, "shmem PTEs are cleared even without swap")
        XCTAssertEqual(t.read(b), .ok(0x3))
        XCTAssertEqual(t.pfn(b), pfn, "the page stayed in the page cache")
        t.tearDownAndAssertNoLeaks()
    }

    func testShmemPageoutMovesTheEntryIntoThePageCache() {
        var t = TestKernel(swapMiB: 16)
        let f = t.memfd(4)
        let b = t.map(f, pages: 4)
        for i in 0..<4 { t.write(b, page: i, UInt64(0x10 + i)) }
        let pfn1 = t.pfn(b, page: 1)
        XCTAssertNil(t.k.madvise(t.mm, start: b, length: 4 << 12, advice: .pageout))
        XCTAssertEqual(t.pagemap(b, page: 1), 0, "no PM_SWAP for shmem in 6.18")
        XCTAssertNotNil(t.k.inodes[Int(f)].pages[1].swapEntry)
        XCTAssertEqual(t.read(b, page: 1), .ok(0x11))
        XCTAssertEqual(t.pfn(b, page: 1), pfn1, "same frame from the swap cache")
        XCTAssertEqual(t.pagemap(b, page: 2), 0, "fault-around does not swap in neighbours")
        XCTAssertNotNil(t.k.inodes[Int(f)].pages[1].folio)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testPagecacheDesignReportsSwappedShmem() {
        var d = Design()
        d.pagemapShmemSwap = .pagecache
        var t = TestKernel(design: d, swapMiB: 16)
        let f = t.memfd(2)
        let b = t.map(f, pages: 2)
        t.write(b, 0x1)
        XCTAssertNil(t.k.madvise(t.mm, start: b, length: 4096, advice: .pageout))
        XCTAssertEqual(t.flags(b), PM.swap, "the page-cache lookup design sets PM_SWAP")
        XCTAssertEqual(t.pagemap(b, page: 1), 0, "a hole stays 0")
        t.tearDownAndAssertNoLeaks()
    }

    func testSwapFullKeepsPagesResident() {
        var t = TestKernel()
        XCTAssertNil(t.k.swapon(bytes: 3 * 4096))     // two usable slots
        let a = t.anon(4)
        for i in 0..<4 { t.write(a, page: i, UInt64(i)) }
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4 << 12, advice: .pageout))
        let swapped = (0..<4).filter { t.flags(a, page: $0) == PM.swap }.count
        XCTAssertEqual(swapped, 2)
        for i in 0..<4 { XCTAssertEqual(t.read(a, page: i), .ok(UInt64(i))) }
        t.tearDownAndAssertNoLeaks()
    }

    func testForkSharesSwapEntriesAndPageoutSkipsSharedPages() {
        var t = TestKernel(swapMiB: 16)
        let a = t.anon(2)
        t.write(a, 0x1)
        t.write(a, page: 1, 0x2)
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4096, advice: .pageout))
        let child = t.k.fork(t.mm, childName: "c")
        XCTAssertEqual(t.pagemap(a), t.pagemap(a, in: child))
        XCTAssertEqual(t.k.swapDevices[0].count(1), 2)
        XCTAssertFalse(t.k.mms[Int(t.mm)].pageTables.pte(a).swpExclusive, "the parent's entry is shared now")
        XCTAssertNil(t.k.madvise(t.mm, start: a + 4096, length: 4096, advice: .pageout))
        XCTAssertEqual(t.flags(a, page: 1), PM.present, "mapped by both: skipped")
        XCTAssertEqual(t.read(a, in: child), .ok(0x1))
        XCTAssertEqual(t.read(a), .ok(0x1))
        XCTAssertEqual(t.pfn(a), t.pfn(a, in: child), "both resolve to the swap-cache frame")
        t.tearDownAndAssertNoLeaks()
    }
}
