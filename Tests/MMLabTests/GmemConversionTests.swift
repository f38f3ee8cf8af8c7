// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// guest_memfd in-place conversion (design guest_memfd.conversion = in_place): attribute
/// ranges, the unmap and the refcount baseline, EAGAIN with the error offset.
final class GmemConversionTests: XCTestCase {
    func inPlace() -> TestKernel {
        var d = Design()
        d.guestMemfdConversion = .in_place
        return TestKernel(design: d)
    }

    /// Ranges are cut and merged, never kept per page.
    func testAttributesAreMergedRanges() throws {
        var t = inPlace()
        let g = try t.k.kvmGmemCreate(name: "g", size: 16 << 12, flags: [.mmap, .initShared]).get()
        XCTAssertEqual(t.k.inodes[Int(g)].gmemPrivate, [])
        XCTAssertEqual(t.k.kvmGmemConvert(g, offset: 2 << 12, length: 2 << 12, toPrivate: true), .ok)
        XCTAssertEqual(t.k.kvmGmemConvert(g, offset: 4 << 12, length: 4 << 12, toPrivate: true), .ok)
        XCTAssertEqual(t.k.inodes[Int(g)].gmemPrivate, [2..<8])
        XCTAssertEqual(t.k.kvmGmemConvert(g, offset: 5 << 12, length: 1 << 12, toPrivate: false), .ok)
        XCTAssertEqual(t.k.inodes[Int(g)].gmemPrivate, [2..<5, 6..<8])
        XCTAssertTrue(t.k.kvmGmemIsPrivate(g, 7))
        XCTAssertFalse(t.k.kvmGmemIsPrivate(g, 5))
        XCTAssertEqual(t.k.kvmGmemConvert(g, offset: 15 << 12, length: 2 << 12, toPrivate: true), .errno(.EINVAL), "beyond i_size")
        XCTAssertEqual(t.k.kvmGmemConvert(g, offset: 1, length: 1 << 12, toPrivate: true), .errno(.EINVAL))
        let none = try t.k.kvmGmemCreate(name: "p", size: 4 << 12, flags: [.mmap]).get()
        XCTAssertEqual(t.k.inodes[Int(none)].gmemPrivate, [0..<4], "without INIT_SHARED all memory starts private")
        let f = t.memfd(1)
        XCTAssertEqual(t.k.kvmGmemConvert(f, offset: 0, length: 1 << 12, toPrivate: true), .errno(.ENOTTY))
        t.tearDownAndAssertNoLeaks()
    }

    /// A pinned folio fails the conversion at its offset and converts nothing; the unmap stays.
    func testAnElevatedRefcountIsEAGAINWithTheErrorOffset() throws {
        var t = inPlace()
        let g = try t.k.kvmGmemCreate(name: "g", size: 8 << 12, flags: [.mmap, .initShared]).get()
        let a = t.map(g, pages: 8)
        for i in 0..<8 { t.write(a, page: i, 0x5) }
        let h = try t.k.pinUserPages(t.mm, start: a + (5 << 12), length: 1 << 12).get()
        XCTAssertEqual(t.k.kvmGmemConvert(g, offset: 0, length: 8 << 12, toPrivate: true),
                       .conversionFailed(.EAGAIN, errorOffset: 5 << 12))
        XCTAssertEqual(t.k.inodes[Int(g)].gmemPrivate, [])
        XCTAssertTrue(t.k.mms[Int(t.mm)].pageTables.pte(a).isNone, "the range was unmapped before the check")
        XCTAssertEqual(t.k.costs.lruDrains, 1)
        XCTAssertNil(t.k.unpinUserPages(h))
        XCTAssertEqual(t.k.kvmGmemConvert(g, offset: 0, length: 8 << 12, toPrivate: true), .ok)
        XCTAssertEqual(t.read(a, page: 0), .signal(.busAdrErr))
        // Under 6.18 the same call is ENOTTY.
        var old = TestKernel()
        let g2 = try old.k.kvmGmemCreate(name: "g", size: 8 << 12, flags: [.mmap, .initShared]).get()
        XCTAssertEqual(old.k.kvmGmemConvert(g2, offset: 0, length: 8 << 12, toPrivate: true), .errno(.ENOTTY))
        t.tearDownAndAssertNoLeaks()
        old.tearDownAndAssertNoLeaks()
    }
}
