// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// pwrite(2) through the model's Swift API: the page cache changes, no PTE does; the
/// refusals of files without a write_iter.
final class ShmemWriteTests: XCTestCase {
    /// A mapped page changes under the mapping, which is not touched: no fault, the PTE and
    /// pagemap as they were; the folio is dirty.
    func testPwriteOfAMappedPage() {
        var t = TestKernel()
        let f = t.memfd(2)
        let a = t.map(f, pages: 2)
        t.write(a, 0x1)
        let word = t.pagemap(a)
        let faults = t.k.costs.faults
        XCTAssertEqual(try? t.k.pwrite(f, offset: 0, token: 0x5).get(), 4096)
        XCTAssertEqual(t.k.costs.faults, faults)
        XCTAssertEqual(t.pagemap(a), word)
        XCTAssertEqual(t.read(a), .ok(0x5))
        XCTAssertTrue(t.k.frames[t.k.inodes[Int(f)].pages[0].folio!].flags.contains(.dirty))
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    /// A hole gets a new page-cache page (not zeroed: the write fills it) and no PTE.
    func testPwriteOfAHole() {
        var t = TestKernel()
        let f = t.memfd(4)
        let a = t.map(f, pages: 4)
        let zeroings = t.k.costs.pageZeroings
        XCTAssertEqual(try? t.k.pwrite(f, offset: 2 << 12, token: 0x22).get(), 4096)
        XCTAssertEqual(t.k.costs.pageZeroings, zeroings)
        XCTAssertNotNil(t.k.inodes[Int(f)].pages[2].folio)
        XCTAssertEqual(t.pagemap(a, page: 2), 0)
        XCTAssertEqual(try? t.k.pread(f, offset: 2 << 12).get(), 0x22)
        XCTAssertEqual(t.read(a, page: 2), .ok(0x22))
        t.tearDownAndAssertNoLeaks()
    }

    /// A paged-out page is swapped in first (its swap slot freed), then written.
    func testPwriteOfASwappedPage() {
        var t = TestKernel(swapMiB: 1)
        let f = t.memfd(1)
        let a = t.map(f, pages: 1)
        t.write(a, 0x7)
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4096, advice: .pageout))
        XCTAssertNotNil(t.k.inodes[Int(f)].pages[0].swapEntry)
        XCTAssertEqual(t.k.swapDevices[0].inuse, 1)
        XCTAssertEqual(try? t.k.pwrite(f, offset: 0, token: 0x8).get(), 4096)
        XCTAssertNotNil(t.k.inodes[Int(f)].pages[0].folio)
        XCTAssertEqual(t.k.swapDevices[0].inuse, 0)
        XCTAssertEqual(t.pagemap(a), 0, "no PTE until a load")
        XCTAssertEqual(t.read(a), .ok(0x8))
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    /// No userfault: the write's lookup has no VMA, so a MISSING-registered hole is filled
    /// silently, and the next load through the registered mapping finds it cached.
    func testPwriteRaisesNoUserfault() {
        var t = TestKernel()
        let f = t.memfd(1)
        let a = t.map(f, pages: 1)
        let u = t.k.userfaultfdCreate(t.mm)
        XCTAssertNil(t.k.uffdAPI(u, features: []))
        XCTAssertEqual(t.k.perform(.uffdRegister(u, address: a, length: 4096, mode: .missing)), .ok)
        XCTAssertEqual(try? t.k.pwrite(f, offset: 0, token: 0x3).get(), 4096)
        XCTAssertEqual(t.read(a), .ok(0x3))
        XCTAssertNil(t.k.uffdRead(u))
        t.assertConsistent()
    }

    /// Beyond i_size the write extends the file, as shmem_write_end() does.
    func testPwriteExtendsTheFile() {
        var t = TestKernel()
        let f = t.memfd(1)
        XCTAssertEqual(try? t.k.pwrite(f, offset: 3 << 12, token: 0x4).get(), 4096)
        XCTAssertEqual(t.k.inodes[Int(f)].size, 4 << 12)
        XCTAssertEqual(try? t.k.pread(f, offset: 3 << 12).get(), 0x4)
        XCTAssertEqual(try? t.k.pread(f, offset: 1 << 12).get(), 0, "the pages between are holes")
        XCTAssertEqual(t.k.pwrite(f, offset: 1 << 50, token: 1).failureValue, .EFBIG)
        t.assertConsistent()
    }

    /// The files without a write path: guest_memfd is not FMODE_PWRITE (ESPIPE), device-dax
    /// has no ->write (EINVAL, for pread too); a closed memfd is EBADF.
    func testRefusals() {
        var t = TestKernel()
        let g = try! t.k.kvmGmemCreate(name: "g", size: 4096, flags: [.mmap, .initShared]).get()
        XCTAssertEqual(t.k.pwrite(g, offset: 0, token: 1).failureValue, .ESPIPE)
        let d = try! t.k.daxCreate(name: "d", bytes: 2 << 20, align: 4096).get()
        XCTAssertEqual(t.k.pwrite(d, offset: 0, token: 1).failureValue, .EINVAL)
        XCTAssertEqual(t.k.pread(d, offset: 0).failureValue, .EINVAL)
        let f = t.memfd(1)
        t.k.closeFile(f)
        XCTAssertEqual(t.k.pwrite(f, offset: 0, token: 1).failureValue, .EBADF)
        XCTAssertEqual(t.k.perform(.pwrite(g, offset: 0, token: 1)), .errno(.ESPIPE))
    }

    /// `explore`'s write checks: a store through a shared mapping is superseded by a pwrite
    /// of the same page, which no_lost_write then expects to read back.
    func testPwriteSupersedesStoresForTheWriteChecks() {
        var t = TestKernel()
        t.k.enableWriteChecks()
        let f = t.memfd(1)
        let a = t.map(f, pages: 1)
        t.write(a, 0x1)
        XCTAssertEqual(try? t.k.pwrite(f, offset: 0, token: 0x2).get(), 4096)
        XCTAssertEqual(t.k.lostWrites(), [])
    }
}

fileprivate extension Result {
    var failureValue: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
