// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// device-dax (drivers/dax/device.c): alignment rules, huge faults, metadata cost.
final class DeviceDaxTests: XCTestCase {
    func testPMDFaultMapsTwoMegabytesWithConsecutivePFNs() throws {
        var t = TestKernel()
        let d = try t.k.daxCreate(name: "d", bytes: 4 << 20, align: pmdSize).get()
        let m = try t.k.mmap(t.mm, length: 4 << 20, prot: .rw, shared: true, target: .file(d)).get()
        XCTAssertEqual(m % pmdSize, 0)
        XCTAssertEqual(t.read(m, page: 7), .ok(0))
        let first = t.pfn(m)
        for i in [0, 1, 255, 511] {
            XCTAssertEqual(t.flags(m, page: i), presentFileExcl)
            XCTAssertEqual(t.pfn(m, page: i), first + UInt64(i), "subpage PFN = head + index")
        }
        XCTAssertEqual(t.pagemap(m, page: 512), 0)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testMmapRules() throws {
        var t = TestKernel()
        let d = try t.k.daxCreate(name: "d", bytes: 8 << 20, align: pmdSize).get()
        XCTAssertEqual(t.k.mmap(t.mm, length: 2 << 20, prot: .rw, shared: false, target: .file(d)), .failure(.EINVAL))
        XCTAssertEqual(t.k.mmap(t.mm, length: 3 << 20, prot: .rw, shared: true, target: .file(d)), .failure(.EINVAL))
        XCTAssertEqual(t.k.daxCreate(name: "x", bytes: 3 << 20, align: pmdSize), .failure(.EINVAL))
        let m = try t.k.mmap(t.mm, length: 4 << 20, prot: .rw, shared: true, target: .file(d)).get()
        XCTAssertEqual(t.k.munmap(t.mm, start: m, length: 1 << 20), .EINVAL)
        XCTAssertNil(t.k.munmap(t.mm, start: m, length: 2 << 20))
        XCTAssertNil(t.k.madvise(t.mm, start: m + (2 << 20), length: 4096, advice: .pageout))
        t.tearDownAndAssertNoLeaks()
    }

    func testMetadataUnderTheMemmapDesigns() throws {
        // dedup: 512 compounds × 8 KiB, plus 8 vmemmap PTE tables (one per 128 MiB).
        for (design, bytes) in [(Design.DaxMemmap.full, 1 << 24), (.dedup, 512 * 8192 + 8 * 4096)] {
            var d = Design()
            d.daxMemmap = design
            var t = TestKernel(design: d)
            _ = try t.k.daxCreate(name: "d", bytes: 1 << 30, align: pmdSize).get()
            XCTAssertEqual(t.k.metadataBytes.last?.1, bytes, "\(design)")
        }
    }

    /// dax.memmap = none: VM_PFNMAP, special PTEs without rmap or rss, GUP refused, fork
    /// copies 4 KiB entries and leaves huge ones to refault.
    func testWithoutStructPagesTheMappingIsPFNMap() throws {
        var d = Design()
        d.daxMemmap = .none
        var t = TestKernel(design: d)
        let big = try t.k.daxCreate(name: "d", bytes: 2 << 20, align: pmdSize).get()
        let small = try t.k.daxCreate(name: "s", bytes: 4 << 12, align: 1 << 12).get()
        let m = try t.k.mmap(t.mm, length: 2 << 20, prot: .rw, shared: true, target: .file(big)).get()
        let n = try t.k.mmap(t.mm, length: 4 << 12, prot: .rw, shared: true, target: .file(small)).get()
        XCTAssertTrue(t.k.mms[Int(t.mm)].vmas.allSatisfy { $0.flags.contains(.pfnmap) })
        t.write(m, 0x1)
        t.write(n, 0x2)
        let pte = t.k.mms[Int(t.mm)].pageTables.pte(n)
        XCTAssertTrue(pte.isSpecial)
        XCTAssertNil(t.k.normalPage(pte))
        XCTAssertEqual(t.k.frames[pte.pfn].mapcount, 0)
        XCTAssertEqual(t.k.pinUserPages(t.mm, start: n, length: 1 << 12), .failure(.EFAULT))
        let child = t.k.fork(t.mm, childName: "c")
        XCTAssertTrue(t.k.mms[Int(child)].pageTables.pte(n).isPresent, "vma_needs_copy(): VM_PFNMAP is copied")
        XCTAssertTrue(t.k.mms[Int(child)].pageTables.pte(m).isNone, "a huge entry of a non-anonymous VMA refaults")
        XCTAssertEqual(t.k.memmapBytes(big), 0)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }
}
