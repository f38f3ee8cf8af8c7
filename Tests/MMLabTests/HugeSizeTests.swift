// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// Sizes at and beyond the kernel's limits: beyond them the kernel's errno, within them the
/// work and the state follow what is populated, never the size. Assertions are on counted
/// work (Kernel.costs, tables, entries, bytes of state), never on time.
final class HugeSizeTests: XCTestCase {
    let tib: UInt64 = 1 << 40

    func testA16TiBMemfdWithOneWriteCostsOnePage() {
        var t = TestKernel()
        let f = try! t.k.memfdCreate(name: "big", bytes: 16 * tib).get()
        let b = try! t.k.mmap(t.mm, length: 16 * tib, prot: .rw, shared: true, target: .file(f)).get()
        let last = Int((16 * tib >> 12) - 1)
        t.write(b, page: last, 0x42)
        XCTAssertEqual(t.read(b, page: last), .ok(0x42))
        XCTAssertEqual(t.k.pread(f, offset: UInt64(last) << 12), .success(0x42))
        XCTAssertEqual(t.k.inodes[Int(f)].pages.count, 1, "one page-cache entry")
        XCTAssertEqual(t.k.mms[Int(t.mm)].pageTables.tableCount, 1, "one PTE table")
        XCTAssertLessThan(t.k.stateBytes, 1 << 20, "state for one page, not for 16 TiB")
        // A punch of the whole file, an mprotect, a fork and an munmap visit what exists.
        let reads0 = t.k.costs.pteReads, lookups0 = t.k.costs.pageCacheLookups
        XCTAssertNil(t.k.mprotect(t.mm, start: b, length: 16 * tib, prot: .r))
        _ = t.k.fork(t.mm, childName: "child")
        XCTAssertNil(t.k.fallocatePunchHole(f, offset: 0, length: 16 * tib))
        XCTAssertEqual(t.k.inodes[Int(f)].pages.count, 0)
        XCTAssertEqual(t.read(b, page: last), .ok(0))
        XCTAssertNil(t.k.munmap(t.mm, start: b, length: 16 * tib))
        XCTAssertLessThan(t.k.costs.pteReads - reads0, 5 * 512, "PTE reads of a few tables, not of 2^32 pages")
        XCTAssertLessThan(t.k.costs.pageCacheLookups - lookups0, 64, "the read fault's fault-around window, not the file")
        XCTAssertEqual(t.k.mms[Int(t.mm)].pageTables.tableCount, 0, "free_pgtables() freed the one table")
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testMemfdAndGuestMemfdSizesFollowFtruncateAndLoffT() {
        var t = TestKernel()
        XCTAssertEqual(t.k.memfdCreate(name: "neg", bytes: 1 << 63).map { _ in 0 }, .failure(.EINVAL), "a negative off_t")
        XCTAssertEqual(t.k.memfdCreate(name: "neg", bytes: .max).map { _ in 0 }, .failure(.EINVAL))
        let f = try! t.k.memfdCreate(name: "max", bytes: UInt64(Int64.max)).get()   // MAX_LFS_FILESIZE
        XCTAssertEqual(t.k.inodes[Int(f)].sizeInPages, 1 << 51)
        // file_mmap_ok(): the mapping must end within MAX_LFS_FILESIZE.
        XCTAssertEqual(t.k.mmap(t.mm, length: 4096, prot: .rw, shared: true, target: .file(f), offset: UInt64(Int64.max) - 4095),
                       .failure(.EOVERFLOW))
        let a = try! t.k.mmap(t.mm, length: 4096, prot: .rw, shared: true, target: .file(f), offset: UInt64(Int64.max) - 8191).get()
        t.write(a, 0x7)   // page index 2^51 − 2: beyond the 40 bits a frame packs its index in
        XCTAssertEqual(t.k.pread(f, offset: UInt64(Int64.max) - 8191), .success(0x7))
        let pfn = PFN(t.pfn(a))
        XCTAssertEqual(t.k.frames[pfn].index, (1 << 51) - 2)
        // guest_memfd: KVM_CREATE_GUEST_MEMFD's size is a loff_t.
        XCTAssertEqual(t.k.kvmGmemCreate(name: "g", size: 1 << 63, flags: [.mmap]).map { _ in 0 }, .failure(.EINVAL))
        XCTAssertEqual(t.k.kvmGmemCreate(name: "g", size: 0, flags: [.mmap]).map { _ in 0 }, .failure(.EINVAL))
        let g = try! t.k.kvmGmemCreate(name: "g", size: UInt64(Int64.max) - 4095, flags: [.mmap, .initShared]).get()
        let gm = try! t.k.mmap(t.mm, length: 16 * tib, prot: .rw, shared: true, target: .file(g)).get()
        t.write(gm, page: Int((16 * tib >> 12) - 1), 0x9)
        XCTAssertEqual(t.k.inodes[Int(g)].pages.count, 1)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testMmapBeyondTheAddressSpaceIsENOMEMAndWithinItWorks() {
        var t = TestKernel()
        let taskSize: UInt64 = (1 << 47) - 4096
        XCTAssertEqual(t.k.mmap(t.mm, length: taskSize + 4096, prot: .r, shared: false, target: .anon), .failure(.ENOMEM))
        XCTAssertEqual(t.k.mmap(t.mm, length: .max, prot: .r, shared: false, target: .anon), .failure(.ENOMEM),
                       "PAGE_ALIGN(len) wraps to 0")
        XCTAssertEqual(t.k.mmap(t.mm, length: 0, prot: .r, shared: false, target: .anon), .failure(.EINVAL))
        // Every mapping lies below TASK_SIZE, however large; until there is no room left.
        var mapped: [UInt64] = []
        while case .success(let a) = t.k.mmap(t.mm, length: 16 * tib, prot: .rw, shared: false, target: .anon) {
            mapped.append(a)
            XCTAssertLessThanOrEqual(a + 16 * tib, taskSize)
            XCTAssertGreaterThanOrEqual(a, 1 << 16)
            if mapped.count > 8 { break }
        }
        XCTAssertEqual(mapped.count, 7, "seven 16 TiB regions (and their gaps) fit in 128 TiB")
        for a in mapped { t.write(a, page: Int((16 * tib >> 12) - 1), a) }
        for a in mapped { XCTAssertEqual(t.read(a, page: Int((16 * tib >> 12) - 1)), .ok(a)) }
        XCTAssertNil(t.k.munmap(t.mm, start: mapped[0], length: 16 * tib))
        XCTAssertNotNil(try? t.k.mmap(t.mm, length: 16 * tib, prot: .rw, shared: false, target: .anon).get(),
                        "an unmapped region is found again")
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testSwapAtTheLargestSizeTheKernelAllows() {
        var t = TestKernel()
        // 16 TiB + 4 MiB of swap file: the header counts at most 2^32 − 1 pages (si->max).
        XCTAssertNil(t.k.swapon(bytes: 16 * tib + (4 << 20)))
        XCTAssertEqual(t.k.swapDevices[0].maxSlots, (1 << 32) - 1)
        XCTAssertEqual(t.k.swapDevices[0].pages, (1 << 32) - 2)
        XCTAssertEqual(t.k.totalSwapPages, (1 << 32) - 2)
        XCTAssertEqual(t.k.swapon(bytes: 4096), .EINVAL, "last_page 0: an empty swap file")
        let a = t.anon(600)
        for i in 0..<600 { t.write(a, page: i, UInt64(i) + 1) }
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 600 << 12, advice: .pageout))
        XCTAssertEqual(t.k.swapDevices[0].inuse, 600)
        XCTAssertLessThan(t.k.swapDevices[0].bytes, 128 << 10, "the swap map costs what is swapped, not 4 GiB")
        // A slot at the top of the device works like any other (offset 2^32 − 2 in the PTE).
        t.k.swapDevices[0].cursor = (1 << 32) - 2
        let b = t.anon(1)
        t.write(b, 0xb)
        XCTAssertNil(t.k.madvise(t.mm, start: b, length: 4096, advice: .pageout))
        XCTAssertEqual(t.k.mms[Int(t.mm)].pageTables.pte(b).swapEntry.offset, (1 << 32) - 2)
        XCTAssertEqual(t.read(b), .ok(0xb))
        for i in stride(from: 0, to: 600, by: 7) { XCTAssertEqual(t.read(a, page: i), .ok(UInt64(i) + 1)) }
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testADaxDeviceCostsWhatIsMappedAndOneTooLargeIsENOSPC() {
        var t = TestKernel()
        XCTAssertEqual(t.k.daxCreate(name: "huge", bytes: 17 * tib, align: 1 << 30).map { _ in 0 }, .failure(.ENOSPC),
                       "more than the model's 2^32 page frames")
        let d = try! t.k.daxCreate(name: "d", bytes: 4 * tib, align: pmdSize).get()
        XCTAssertLessThan(t.k.stateBytes, 1 << 20, "4 TiB of device memory, no state until touched")
        let m = try! t.k.mmap(t.mm, length: 4 * tib, prot: .rw, shared: true, target: .file(d)).get()
        t.write(m, page: Int((4 * tib >> 12) - 1), 0xd)   // one PMD fault: 512 pages
        XCTAssertEqual(t.read(m, page: Int((4 * tib >> 12) - 1)), .ok(0xd))
        XCTAssertEqual(t.k.frames.touchedDeviceFrames.count, 512)
        let head = PFN(t.pfn(m, page: Int((4 * tib >> 12) - 512)))
        XCTAssertEqual(PFN(t.pfn(m, page: Int((4 * tib >> 12) - 1))), head + 511, "PFN = head + index")
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }
}
