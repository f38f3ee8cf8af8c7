// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// KVM guest_memfd as Linux 6.18 ships it (virt/kvm/guest_memfd.c).
final class GuestMemfdTests: XCTestCase {
    func gmem(_ t: inout TestKernel, pages: Int, flags: GuestMemfdFlags = [.mmap, .initShared]) -> InodeID {
        try! t.k.kvmGmemCreate(name: "g", size: UInt64(pages) << 12, flags: flags).get()
    }

    func testCreateChecksSizeAndFlags() {
        var t = TestKernel()
        for size: UInt64 in [0, 1, 4095, 4097, 8191] {
            XCTAssertEqual(t.k.kvmGmemCreate(name: "g", size: size, flags: [.mmap]).failureValue, .EINVAL, "size \(size)")
        }
        XCTAssertEqual(t.k.kvmGmemCreate(name: "g", size: 4096, flags: GuestMemfdFlags(rawValue: 4)).failureValue, .EINVAL)
        XCTAssertNotNil(try? t.k.kvmGmemCreate(name: "g", size: 4096, flags: [.initShared]).get(),
                        "INIT_SHARED alone is a valid flag set")
        // INIT_SHARED only for VMs without private memory (e.g. not KVM_X86_SW_PROTECTED_VM).
        XCTAssertEqual(t.k.kvmGmemCreate(name: "g", size: 4096, flags: [.mmap, .initShared], vmHasPrivateMem: true).failureValue, .EINVAL)
        XCTAssertNotNil(try? t.k.kvmGmemCreate(name: "g", size: 4096, flags: [.mmap], vmHasPrivateMem: true).get())
        XCTAssertEqual(GuestMemfdFlags(names: ["mmap", "init_shared"]), [.mmap, .initShared])
        XCTAssertNil(GuestMemfdFlags(names: ["shared"]))
        t.tearDownAndAssertNoLeaks()
    }

    func testMmapRules() {
        var t = TestKernel()
        let none = gmem(&t, pages: 4, flags: [])
        let shared = gmem(&t, pages: 4, flags: [.initShared])
        let g = gmem(&t, pages: 4)
        for ino in [none, shared] {
            for s in [true, false] {
                XCTAssertEqual(t.k.mmap(t.mm, length: 4 << 12, prot: .rw, shared: s, target: .file(ino)).failureValue, .ENODEV)
            }
        }
        XCTAssertEqual(t.k.mmap(t.mm, length: 4 << 12, prot: .rw, shared: false, target: .file(g)).failureValue, .EINVAL)
        XCTAssertEqual(t.k.mmap(t.mm, length: 4 << 12, prot: .r, shared: false, target: .file(g)).failureValue, .EINVAL)
        XCTAssertNotNil(try? t.k.mmap(t.mm, length: 4 << 12, prot: .rw, shared: true, target: .file(g)).get())
        t.tearDownAndAssertNoLeaks()
    }

    func testFaultsZeroOnFirstUseOnePageAtATime() {
        var t = TestKernel()
        let g = gmem(&t, pages: 16)
        let a = t.map(g, pages: 16)
        for i in 0..<16 { t.write(a, page: i, UInt64(0x10 + i)) }
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 16 << 12, advice: .dontneed))
        XCTAssertEqual(t.read(a, page: 5), .ok(0x15), "the page cache kept the data")
        for i in 0..<16 where i != 5 { XCTAssertEqual(t.pagemap(a, page: i), 0, "no fault-around: page \(i)") }
        XCTAssertEqual(t.flags(a, page: 5), presentFileExcl)
        let pfn = PFN(t.pfn(a, page: 5))
        XCTAssertTrue(t.k.frames[pfn].flags.contains(.unevictable))
        XCTAssertFalse(t.k.frames[pfn].flags.contains(.swapbacked))
        let g2 = gmem(&t, pages: 2)
        let b = t.map(g2, pages: 2)
        XCTAssertEqual(t.read(b, page: 1), .ok(0), "zeroed on first use")
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testSigbusBeyondSizeAndWithoutInitShared() {
        var t = TestKernel()
        let g = gmem(&t, pages: 4)
        let a = t.map(g, pages: 8)
        XCTAssertEqual(t.read(a, page: 3), .ok(0))
        XCTAssertEqual(t.read(a, page: 4), .signal(.busAdrErr))
        XCTAssertEqual(t.k.access(t.mm, a + 7 << 12, store: 1), .signal(.busAdrErr))
        let p = gmem(&t, pages: 4, flags: [.mmap])
        let b = t.map(p, pages: 4)
        XCTAssertEqual(t.read(b, page: 0), .signal(.busAdrErr))
        XCTAssertEqual(t.k.access(t.mm, b, store: 1), .signal(.busAdrErr))
        XCTAssertEqual(t.k.madvise(t.mm, start: b, length: 4 << 12, advice: .populate_read), .EFAULT)
        XCTAssertEqual(t.pagemap(b), 0)
        XCTAssertTrue(t.k.inodes[Int(p)].pages.count == 0, "nothing was allocated")
        t.tearDownAndAssertNoLeaks()
    }

    func testPageoutSkipsUnevictableFolios() {
        var t = TestKernel(swapMiB: 64)
        let g = gmem(&t, pages: 4)
        let a = t.map(g, pages: 4)
        for i in 0..<4 { t.write(a, page: i, UInt64(i + 1)) }
        let before = (0..<4).map { t.pagemap(a, page: $0) }
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4 << 12, advice: .pageout))
        XCTAssertEqual((0..<4).map { t.pagemap(a, page: $0) }, before, "still mapped, never swapped")
        XCTAssertEqual(t.k.costs.swapOuts, 0)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testFallocateRules() {
        var t = TestKernel()
        let g = gmem(&t, pages: 4)
        let a = t.map(g, pages: 4)
        for i in 0..<4 { t.write(a, page: i, 0x5) }
        XCTAssertEqual(t.k.kvmGmemFallocate(g, mode: [], offset: 0, length: 4096), .EOPNOTSUPP)
        XCTAssertEqual(t.k.kvmGmemFallocate(g, mode: [.punchHole], offset: 0, length: 4096), .EOPNOTSUPP)
        XCTAssertEqual(t.k.kvmGmemFallocate(g, mode: [.keepSize, .zeroRange], offset: 0, length: 4096), .EOPNOTSUPP)
        XCTAssertEqual(t.k.kvmGmemFallocate(g, mode: [.keepSize, .punchHole], offset: 1, length: 4096), .EINVAL)
        XCTAssertEqual(t.k.kvmGmemFallocate(g, mode: [.keepSize, .punchHole], offset: 0, length: 100), .EINVAL)
        XCTAssertEqual(t.k.kvmGmemFallocate(g, mode: [.keepSize, .punchHole], offset: 0, length: 0), .EINVAL)
        XCTAssertEqual(t.k.kvmGmemFallocate(g, mode: [.keepSize], offset: 0, length: 8 << 12), .EINVAL, "allocation beyond i_size")
        XCTAssertNil(t.k.kvmGmemFallocate(g, mode: [.keepSize, .punchHole], offset: 8 << 12, length: 4096), "beyond i_size: no-op")
        XCTAssertNil(t.k.kvmGmemFallocate(g, mode: [.keepSize, .punchHole], offset: 2 << 12, length: 8 << 12))
        XCTAssertEqual(t.pagemap(a, page: 2), 0, "truncation unmapped the host mapping")
        XCTAssertTrue(t.k.inodes[Int(g)].pages[3].isEmpty)
        XCTAssertEqual(t.read(a, page: 3), .ok(0), "a fresh zeroed folio")
        XCTAssertEqual(t.read(a, page: 1), .ok(0x5))
        // MADV_REMOVE goes through kvm_gmem_fallocate too; the scenario punch as well.
        XCTAssertNil(t.k.madvise(t.mm, start: a + 4096, length: 4096, advice: .remove))
        XCTAssertEqual(t.read(a, page: 1), .ok(0))
        XCTAssertNil(t.k.fallocatePunchHole(g, offset: 0, length: 4 << 12))
        XCTAssertTrue(t.k.inodes[Int(g)].pages.count == 0)
        // KEEP_SIZE alone pre-allocates zeroed folios.
        XCTAssertNil(t.k.kvmGmemFallocate(g, mode: [.keepSize], offset: 0, length: 2 << 12))
        XCTAssertNotNil(t.k.inodes[Int(g)].pages[1].folio)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testUserfaultfdOnlyWPAsync() {
        var t = TestKernel()
        let g = gmem(&t, pages: 4)
        let a = t.map(g, pages: 4)
        let u = t.k.userfaultfdCreate(t.mm)
        XCTAssertNil(t.k.uffdAPI(u, features: []))
        for mode: UffdRegisterMode in [.missing, .wp, .minor, [.missing, .wp]] {
            XCTAssertEqual(t.k.uffdRegister(u, start: a, length: 4 << 12, mode: mode), .EINVAL, "\(mode)")
        }
        let v = t.k.userfaultfdCreate(t.mm)
        XCTAssertNil(t.k.uffdAPI(v, features: [.wpAsync]))
        for mode: UffdRegisterMode in [.missing, .minor, [.missing, .wp]] {
            XCTAssertEqual(t.k.uffdRegister(v, start: a, length: 4 << 12, mode: mode), .EINVAL, "\(mode)")
        }
        XCTAssertNil(t.k.uffdRegister(v, start: a, length: 4 << 12, mode: .wp))
        t.tearDownAndAssertNoLeaks()
    }

    func testReadWriteSyscallsAndSize() {
        var t = TestKernel()
        let g = gmem(&t, pages: 2)
        XCTAssertEqual(t.k.pread(g, offset: 0).failureValue, .ESPIPE)
        XCTAssertEqual(t.k.kvmGmemReadWrite(g, positioned: false), .EINVAL)
        XCTAssertEqual(t.k.kvmGmemSetattr(g, size: 4096), .EINVAL)
        let f = t.memfd(2)
        let b = t.map(f, pages: 2)
        t.write(b, page: 1, 0x77)
        XCTAssertEqual(try? t.k.pread(f, offset: 4096).get(), 0x77)
        XCTAssertEqual(try? t.k.pread(f, offset: 0).get(), 0)
        XCTAssertTrue(t.k.inodes[Int(f)].pages[0].isEmpty, "a hole read allocates nothing")
        t.tearDownAndAssertNoLeaks()
    }

    func testForkCopiesNoPageTables() {
        var t = TestKernel()
        let g = gmem(&t, pages: 2)
        let a = t.map(g, pages: 2)
        t.write(a, 0x9)
        let child = t.k.fork(t.mm, childName: "child")
        XCTAssertEqual(t.pagemap(a, in: child), 0)
        XCTAssertEqual(t.read(a, in: child), .ok(0x9))
        XCTAssertEqual(t.pfn(a, in: child), t.pfn(a))
        XCTAssertEqual(t.flags(a, in: child), PM.present | PM.file)
        t.tearDownAndAssertNoLeaks()
    }
}

fileprivate extension Result {
    var failureValue: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
