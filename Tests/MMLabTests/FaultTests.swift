// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// handle_mm_fault() paths of mm/memory.c, checked through pagemap and contents.
final class FaultTests: XCTestCase {
    func testAnonReadMapsZeroPageAndWriteAllocatesExclusiveFrame() {
        var t = TestKernel()
        let a = t.anon(4)
        XCTAssertEqual(t.pagemap(a), 0)
        XCTAssertEqual(t.read(a), .ok(0))
        XCTAssertEqual(t.pagemap(a), PM.present | UInt64(FrameTable.zeroPFN))
        XCTAssertEqual(t.pagemap(a, page: 1), 0, "no fault-around on anon memory")
        t.write(a, page: 1, 0x11)
        XCTAssertEqual(t.flags(a, page: 1), presentExcl)
        // A write to the zero page copies (wp_page_copy) into a new frame.
        t.write(a, 0x22)
        XCTAssertEqual(t.flags(a), presentExcl)
        XCTAssertNotEqual(t.pfn(a), UInt64(FrameTable.zeroPFN))
        XCTAssertEqual(t.read(a), .ok(0x22))
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testSignals() {
        var t = TestKernel()
        let a = t.anon(4)
        XCTAssertEqual(t.k.mprotect(t.mm, start: a, length: 4096, prot: .r), nil)
        XCTAssertEqual(t.k.access(t.mm, a, store: 1), .signal(.segvAccErr))
        XCTAssertEqual(t.k.access(t.mm, a - 4096, store: nil), .signal(.segvMapErr))
        let f = t.memfd(1)
        let b = t.map(f, pages: 4)
        XCTAssertEqual(t.read(b), .ok(0))
        XCTAssertEqual(t.read(b, page: 2), .signal(.busAdrErr), "beyond EOF of the memfd")
        t.tearDownAndAssertNoLeaks()
    }

    func testCOWAfterForkCopiesForTheFirstWriterAndReusesForTheLast() {
        var t = TestKernel()
        let a = t.anon(2)
        t.write(a, 0x1)
        let before = t.pfn(a)
        let child = t.k.fork(t.mm, childName: "child")
        XCTAssertEqual(t.flags(a), PM.present)
        XCTAssertEqual(t.flags(a, in: child), PM.present)
        XCTAssertEqual(t.pfn(a, in: child), before)
        t.write(a, 0x2)
        XCTAssertNotEqual(t.pfn(a), before, "the parent copied")
        XCTAssertEqual(t.flags(a, in: child), presentExcl, "mapcount 1 again: exclusive before any write")
        t.write(a, 0x3, in: child)
        XCTAssertEqual(t.pfn(a, in: child), before, "the last mapper reuses its frame")
        XCTAssertEqual(t.read(a), .ok(0x2))
        XCTAssertEqual(t.read(a, in: child), .ok(0x3))
        t.tearDownAndAssertNoLeaks()
    }

    func testSharedShmemReadFaultMapsWritablePTEWithoutWriteNotify() {
        var t = TestKernel()
        let f = t.memfd(16)
        let b = t.map(f, pages: 16)
        _ = t.read(b)
        let pte = t.k.mms[Int(t.mm)].pageTables.pte(b)
        XCTAssertTrue(pte.isWritable, "shmem MAP_SHARED rw needs no write-notify: vm_page_prot is writable")
        let c = t.map(f, pages: 16, shared: false)
        _ = t.read(c, page: 1)
        XCTAssertFalse(t.k.mms[Int(t.mm)].pageTables.pte(c + 4096).isWritable, "private mappings map page cache read-only")
        t.write(c, page: 1, 0x9)
        XCTAssertEqual(t.flags(c, page: 1), presentExcl, "COW: anon, no file bit")
        XCTAssertEqual(t.read(b, page: 1), .ok(0))
        t.tearDownAndAssertNoLeaks()
    }

    func testFaultAroundWindowIsAlignedOnTheVirtualAddressAndShiftedAtTheVMAStart() {
        var t = TestKernel()
        let f = t.memfd(32)
        let b = t.map(f, pages: 32)
        for i in 0..<32 { t.write(b, page: i, UInt64(i)) }
        // 3 pages past a 2 MiB boundary: PTE index 3 is page 0.
        let c = t.map(f, pages: 32, prot: .r, align: 3 * pageSize)
        XCTAssertEqual(c & (pmdSize - 1), 3 * pageSize)
        _ = t.read(c, page: 5)
        let present = (0..<32).filter { t.flags(c, page: $0) & PM.present != 0 }
        XCTAssertEqual(present, Array(0...15), "from = max(0, 8-5) = 3, to = 18: pages 0..15")
        XCTAssertEqual(t.k.munmap(t.mm, start: c, length: 32 << 12), nil)
        let d = t.map(f, pages: 32, prot: .r, align: 3 * pageSize)
        _ = t.read(d, page: 20)
        let present2 = (0..<32).filter { t.flags(d, page: $0) & PM.present != 0 }
        XCTAssertEqual(present2, Array(13...28), "PTE index 23: window 16..31")
        t.tearDownAndAssertNoLeaks()
    }

    func testFaultAroundSkipsHolesAndDesignSwitchDecidesForUffdVMAs() {
        for (design, registered, expectNeighbours) in [
            (Design.FaultAroundUffd.skip_wp_minor, VMFlags.uffdMissing, true),
            (.skip_wp_minor, .uffdWP, false),
            (.skip_wp_minor, .uffdMinor, false),
            (.skip_armed, .uffdMissing, false),
            (.never_skip, .uffdWP, true),
        ] {
            var d = Design()
            d.faultAroundUffd = design
            var t = TestKernel(design: d)
            let f = t.memfd(16)
            let b = t.map(f, pages: 16)
            for i in 0..<8 { t.write(b, page: i, 1) }
            XCTAssertNil(t.k.madvise(t.mm, start: b, length: 16 << 12, advice: .dontneed))
            t.k.mms[Int(t.mm)].vmas[0].flags.insert(registered)
            _ = t.read(b, page: 3)
            XCTAssertEqual(t.flags(b, page: 2) & PM.present != 0, expectNeighbours, "\(design) with \(registered)")
            XCTAssertEqual(t.pagemap(b, page: 9), 0, "holes are never filled")
            t.k.mms[Int(t.mm)].vmas[0].flags.remove(registered)
            t.tearDownAndAssertNoLeaks()
        }
    }

    func testMprotectNoneKeepsPresentInPagemapAndRestoresWritableExclusivePages() {
        var t = TestKernel()
        let a = t.anon(2)
        t.write(a, 0x5)
        XCTAssertNil(t.k.mprotect(t.mm, start: a, length: 8192, prot: .none))
        XCTAssertEqual(t.flags(a), presentExcl)
        XCTAssertEqual(t.read(a), .signal(.segvAccErr))
        XCTAssertNil(t.k.mprotect(t.mm, start: a, length: 8192, prot: .rw))
        XCTAssertTrue(t.k.mms[Int(t.mm)].pageTables.pte(a).isWritable, "exclusive anon page made writable again")
        XCTAssertEqual(t.k.mms[Int(t.mm)].vmas.count, 1, "VMAs merged back")
        t.tearDownAndAssertNoLeaks()
    }

    func testMunmapSplitsAndFreesPageTables() {
        var t = TestKernel()
        let a = t.anon(16)
        for i in 0..<16 { t.write(a, page: i, UInt64(i)) }
        XCTAssertNil(t.k.munmap(t.mm, start: a + 4 * 4096, length: 4 * 4096))
        XCTAssertEqual(t.k.mms[Int(t.mm)].vmas.count, 2)
        XCTAssertEqual(t.read(a, page: 5), .signal(.segvMapErr))
        XCTAssertEqual(t.read(a, page: 8), .ok(8))
        XCTAssertNil(t.k.munmap(t.mm, start: a, length: 16 * 4096))
        XCTAssertEqual(t.k.mms[Int(t.mm)].pageTables.tableCount, 0)
        t.tearDownAndAssertNoLeaks()
    }
}

/// The range read of pagemap returns exactly the per-word reads, holes and other VMAs included.
final class PagemapRangeTests: XCTestCase {
    func testRangeReadEqualsWordReads() {
        var t = TestKernel(swapMiB: 4)
        let a = t.anon(1024)
        for i in stride(from: 0, to: 1024, by: 3) { t.write(a, page: i, UInt64(i)) }
        _ = t.read(a, page: 1000)
        XCTAssertNil(t.k.madvise(t.mm, start: a + 10 * 4096, length: 5 * 4096, advice: .pageout))
        XCTAssertNil(t.k.munmap(t.mm, start: a + 600 * 4096, length: 10 * 4096))
        let start = a - 8 * 4096
        let words = t.k.pagemapRead(t.mm, start: start, count: 1100)
        for i in 0..<1100 {
            XCTAssertEqual(words[i], t.k.pagemapRead(t.mm, start + UInt64(i) * 4096), "word \(i)")
        }
    }

    /// PAGEMAP_SCAN of part of a VMA (and across two PTE tables) ends: the stepped walk once
    /// looped forever when its range ended before the VMA did.
    func testPagemapScanOfPartOfAVMAEndsAndSpansTables() {
        var t = TestKernel()
        let a = t.anon(1024)
        t.write(a, page: 2, 1)
        t.write(a, page: 600, 2)
        guard case .success(let one) = t.k.pagemapScan(t.mm, PagemapScanArgs(start: a + 2 * pageSize, end: a + 3 * pageSize)) else {
            return XCTFail("scan failed")
        }
        XCTAssertEqual(one.map(\.start), [a + 2 * pageSize])
        var args = PagemapScanArgs(start: a, end: a + 700 * pageSize)
        args.categoryMask = PageCategory.present
        guard case .success(let two) = t.k.pagemapScan(t.mm, args) else { return XCTFail("scan failed") }
        XCTAssertEqual(two.map(\.start), [a + 2 * pageSize, a + 600 * pageSize], "both tables are walked")
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }
}
