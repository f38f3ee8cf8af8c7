// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// Long-term GUP pins through the model's Swift API: the refcount bias, what fork, reclaim
/// and unmap do with a pinned page, and all-or-nothing failure.
final class PinTests: XCTestCase {
    func testAPinAddsTheBiasAndUnpinRemovesIt() throws {
        var t = TestKernel()
        let a = t.anon(2)
        t.write(a, 0x1)
        let h = try t.k.pinUserPages(t.mm, start: a, length: 1 << 12).get()
        let pfn = PFN(t.pfn(a))
        XCTAssertEqual(t.k.frames[pfn].refcount, 1 + gupPinCountingBias)
        XCTAssertTrue(t.k.folioMaybeDMAPinned(pfn))
        XCTAssertNil(t.k.unpinUserPages(h))
        XCTAssertEqual(t.k.frames[pfn].refcount, 1)
        XCTAssertEqual(t.k.unpinUserPages(h), .EINVAL, "a pin is released once")
        t.assertConsistent()
    }

    /// A pin that cannot take every page takes none (io_pin_pages()).
    func testAFailedPinPinsNothing() {
        var t = TestKernel()
        let a = t.anon(1)
        t.write(a, 0x1)
        XCTAssertEqual(t.k.pinUserPages(t.mm, start: a, length: 2 << 12), .failure(.EFAULT), "the second page has no VMA")
        XCTAssertEqual(t.k.frames[PFN(t.pfn(a))].refcount, 1)
        let r = t.anon(1, prot: .r)
        XCTAssertEqual(t.k.pinUserPages(t.mm, start: r, length: 1 << 12), .failure(.EFAULT), "FOLL_WRITE on a read-only VMA")
        t.assertConsistent()
    }

    /// A pinned page outlives its mapping; unpin frees it.
    func testAPinnedPageOutlivesMunmap() throws {
        var t = TestKernel()
        let a = t.anon(1)
        t.write(a, 0x1)
        let h = try t.k.pinUserPages(t.mm, start: a, length: 1 << 12).get()
        let pfn = PFN(t.pfn(a))
        XCTAssertNil(t.k.munmap(t.mm, start: a, length: 1 << 12))
        XCTAssertTrue(t.k.frames.isAllocated(pfn))
        XCTAssertEqual(t.k.frames[pfn].refcount, gupPinCountingBias)
        t.assertConsistent()
        XCTAssertNil(t.k.unpinUserPages(h))
        XCTAssertFalse(t.k.frames.isAllocated(pfn))
        t.assertConsistent()
    }

    /// fork gives the child a copy of a pinned exclusive page; the parent keeps its writable PTE.
    func testForkCopiesAPinnedPage() throws {
        var t = TestKernel()
        let a = t.anon(1)
        t.write(a, 0x1)
        _ = try t.k.pinUserPages(t.mm, start: a, length: 1 << 12).get()
        let child = try XCTUnwrap({ () -> MMID? in
            if case .handle(let c) = t.k.perform(.fork(ProcessHandle(t.mm), childName: "child")) { return MMID(c) }
            return nil
        }())
        XCTAssertNotEqual(t.pfn(a), t.pfn(a, in: child), "the child has its own copy")
        XCTAssertEqual(t.k.costs.pageCopies, 1)
        XCTAssertEqual(t.read(a, in: child), .ok(0x1))
        let before = t.k.costs.faults
        t.write(a, 0x2)
        XCTAssertEqual(t.k.costs.faults, before, "the parent's PTE stayed writable")
        XCTAssertEqual(t.read(a, in: child), .ok(0x1))
        t.assertConsistent()
    }

    /// gup.exclusive = on: an exclusive pin needs an unpinned folio and refuses every other pin
    /// while held (EBUSY); a refused pin takes nothing; after the release ordinary pins work.
    func testAnExclusivePinRefusesOtherPins() throws {
        var d = Design()
        d.gupExclusive = .on
        var t = TestKernel(design: d)
        let a = t.anon(2)
        t.write(a, 0x1)
        t.write(a, page: 1, 0x1)
        let x = try t.k.pinUserPages(t.mm, start: a, length: 1 << 12, exclusive: true).get()
        let pfn0 = PFN(t.pfn(a)), pfn1 = PFN(t.pfn(a + (1 << 12)))
        XCTAssertTrue(t.k.frames[pfn0].flags.contains(.anonExclusive))
        XCTAssertEqual(t.k.pinUserPages(t.mm, start: a, length: 1 << 12), .failure(.EBUSY))
        XCTAssertEqual(t.k.pinUserPages(t.mm, start: a + (1 << 12), length: 1 << 12, exclusive: true).map { _ in 0 }, .success(0))
        XCTAssertEqual(t.k.frames[pfn1].refcount, 1 + gupPinCountingBias)
        // Page 1 is pinned now: an exclusive pin of both fails at page 1 and leaves page 0 as it was.
        XCTAssertNil(t.k.unpinUserPages(x))
        XCTAssertEqual(t.k.pinUserPages(t.mm, start: a, length: 2 << 12, exclusive: true), .failure(.EBUSY))
        XCTAssertEqual(t.k.frames[pfn0].refcount, 1, "a failed pin keeps nothing pinned")
        let y = try t.k.pinUserPages(t.mm, start: a, length: 1 << 12).get()
        XCTAssertEqual(t.k.pinUserPages(t.mm, start: a, length: 1 << 12, exclusive: true), .failure(.EBUSY))
        XCTAssertNil(t.k.unpinUserPages(y))
        t.assertConsistent()
    }
}
