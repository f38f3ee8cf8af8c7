// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// Memory failure (mm/memory-failure.c) on device-dax, injected with madvise(MADV_HWPOISON)
/// (mm/madvise.c madvise_inject_error()), and the machine check of a later load.
final class MemoryFailureTests: XCTestCase {
    var withMF: KernelConfig {
        var c = KernelConfig()
        c.memoryFailure = true
        return c
    }

    /// A kernel with MEMORY_FAILURE, a dax device of `bytes` aligned to `align`, mapped whole in main.
    func daxKernel(bytes: UInt64, align: UInt64) throws -> (TestKernel, InodeID, UInt64) {
        var t = TestKernel(config: withMF)
        let d = try t.k.daxCreate(name: "d", bytes: bytes, align: align).get()
        let m = try t.k.mmap(t.mm, length: bytes, prot: .rw, shared: true, target: .file(d)).get()
        return (t, d, m)
    }

    func basePFN(_ t: TestKernel, _ d: InodeID) -> PFN { t.k.inodes[Int(d)].dax!.basePFN }

    func testSignalAddressAndLSBFor4KAnd2MAnd1G() throws {
        for (align, bytes, lsb) in [(pageSize, UInt64(64 << 10), 12), (pmdSize, UInt64(4 << 20), 21), (UInt64(1 << 30), UInt64(1 << 30), 30)] {
            var (t, d, m) = try daxKernel(bytes: bytes, align: align)
            t.write(m, page: 2, 0x22)
            t.write(m, page: 3, 0x33)
            let r = t.k.madviseHWPoison(t.mm, start: m + 3 << 12, length: 4096)
            // si_addr is the address of the folio head in the VMA: M[0] for 2M and 1G, M[3] for 4K.
            let head = m + ((3 << 12) & ~(align - 1))
            XCTAssertEqual(r, HWPoisonResult(signal: .mceErr(actionRequired: true, address: head, lsb: lsb),
                                             signalAt: m + 3 << 12), "align \(align)")
            XCTAssertEqual(r.signal?.description, "SIGBUS (BUS_MCEERR_AR, lsb \(lsb))")
            // The whole folio is unmapped; with 4K only that page.
            let folioPages = Int(align >> 12)
            XCTAssertEqual(t.pagemap(head), 0)
            XCTAssertEqual(t.pagemap(head, page: folioPages - 1), 0)
            if align == pageSize { XCTAssertEqual(t.flags(m, page: 2), presentFileExcl) } else { XCTAssertEqual(t.pagemap(m, page: 2), 0) }
            // PG_hwpoison on the folio head, not on the subpage (unless it is the head).
            let headPFN = basePFN(t, d) + PFN((head - m) >> 12)
            XCTAssertTrue(t.k.frames[headPFN].flags.contains(.hwpoison))
            if align > pageSize { XCTAssertFalse(t.k.frames[basePFN(t, d) + 3].flags.contains(.hwpoison)) }
            XCTAssertTrue(t.k.corruptedPFNs.contains(basePFN(t, d) + 3), "the poisoned subpage is the bad frame")
            XCTAssertFalse(t.k.corruptedPFNs.contains(headPFN + 4))
            t.assertConsistent()
            t.tearDownAndAssertNoLeaks()
        }
    }

    func testOnlyTheCurrentTaskIsCollectedButEveryProcessIsUnmapped() throws {
        var (t, d, m) = try daxKernel(bytes: 4 << 20, align: pmdSize)
        t.write(m, page: 3, 0x33)
        t.write(m, page: 600, 0x66)
        let child = t.k.fork(t.mm, childName: "child")
        XCTAssertEqual(t.read(m, page: 0, in: child), .ok(0))
        XCTAssertEqual(t.flags(m, page: 511, in: child), PM.present | PM.file)
        let pfn = basePFN(t, d) + 3
        // collect_procs_file(): only the current task (no early kill), with the head address.
        XCTAssertEqual(t.k.collectProcsFile(0, d, current: Int(t.mm), forceEarly: true),
                       [ToKill(mm: t.mm, addr: m, sizeShift: 21)])
        XCTAssertEqual(t.k.collectProcsFile(0, d, current: Int(child), forceEarly: true),
                       [ToKill(mm: child, addr: m, sizeShift: 21)])
        let r = t.k.memoryFailure(pfn, flags: [.actionRequired, .countIncreased, .swSimulated], current: Int(t.mm))
        XCTAssertNil(r.rc)
        XCTAssertEqual(r.sent, [SentSignal(mm: t.mm, info: .mceErr(actionRequired: true, address: m, lsb: 21))])
        // unmap_mapping_range(): the first 2 MiB is gone from both processes; the rest stays.
        for p in [t.mm, child] {
            XCTAssertEqual(t.pagemap(m, page: 0, in: p), 0)
            XCTAssertEqual(t.pagemap(m, page: 511, in: p), 0)
        }
        XCTAssertEqual(t.flags(m, page: 600), presentFileExcl)
        // Nobody maps the head any more: a second failure collects nobody and unmaps nothing.
        let again = t.k.memoryFailure(pfn, flags: [.actionRequired], current: Int(child))
        XCTAssertEqual(again.sent, [])
        XCTAssertEqual(t.flags(m, page: 600), presentFileExcl)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testRefaultThenMachineCheckOnLoadAndStoresComplete() throws {
        var (t, _, m) = try daxKernel(bytes: 4 << 20, align: pmdSize)
        t.write(m, page: 3, 0x33)
        t.write(m, page: 4, 0x44)
        let child = t.k.fork(t.mm, childName: "child")
        XCTAssertNotNil(t.k.madviseHWPoison(t.mm, start: m + 3 << 12, length: 4096).signal)
        // The device-dax fault path does not check for poison: the load re-faults the folio,
        // then consumes the error: SIGBUS to the loader, the folio unmapped again.
        let mce = SignalInfo.mceErr(actionRequired: true, address: m, lsb: 21)
        XCTAssertEqual(t.read(m, page: 3, in: child), .signal(mce))
        XCTAssertEqual(t.pagemap(m, page: 3, in: child), 0)
        // Another subpage of the same folio is good memory.
        XCTAssertEqual(t.read(m, page: 4, in: child), .ok(0x44))
        XCTAssertEqual(t.flags(m, page: 3, in: child), PM.present | PM.file | PM.mmapExclusive)
        // A store completes (no machine check on stores); the frame is still bad for loads.
        t.write(m, page: 3, 0x99, in: child)
        XCTAssertEqual(t.read(m, page: 3), .signal(mce))
        XCTAssertEqual(t.pagemap(m, page: 4, in: child), 0, "the main task's machine check unmapped the child too")
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testARangeStepsByFolioAndTheFirstSignalIsDelivered() throws {
        var (t, d, m) = try daxKernel(bytes: 64 << 10, align: pageSize)
        t.write(m, page: 5, 0x55)
        t.write(m, page: 6, 0x66)
        let r = t.k.madviseHWPoison(t.mm, start: m + 5 << 12, length: 2 << 12)
        XCTAssertEqual(r, HWPoisonResult(signal: .mceErr(actionRequired: true, address: m + 5 << 12, lsb: 12),
                                         signalAt: m + 5 << 12))
        XCTAssertTrue(t.k.corruptedPFNs.contains(basePFN(t, d) + 5))
        XCTAssertTrue(t.k.corruptedPFNs.contains(basePFN(t, d) + 6))
        // A 2 MiB device: a range inside one folio is one memory_failure() (start += 2 MiB).
        var (u, e, n) = try daxKernel(bytes: 4 << 20, align: pmdSize)
        let r2 = u.k.madviseHWPoison(u.mm, start: n + 3 << 12, length: 600 << 12)
        XCTAssertEqual(r2.signal, .mceErr(actionRequired: true, address: n, lsb: 21))
        XCTAssertTrue(u.k.corruptedPFNs.contains(basePFN(u, e) + 3))
        XCTAssertTrue(u.k.corruptedPFNs.contains(basePFN(u, e) + 515), "the second step is start + 2 MiB")
        XCTAssertEqual(u.k.corruptedPFNs.count, 2)
        t.tearDownAndAssertNoLeaks()
        u.tearDownAndAssertNoLeaks()
    }

    func testEINVALWithoutMemoryFailure() throws {
        var t = TestKernel()
        let a = t.anon(4)
        t.write(a, 0x11)
        XCTAssertEqual(t.k.madviseHWPoison(t.mm, start: a, length: 4096), HWPoisonResult(error: .EINVAL))
        XCTAssertEqual(t.k.madviseHWPoison(t.mm, start: a + 1 << 12, length: 3 << 12), HWPoisonResult(error: .EINVAL))
        let d = try t.k.daxCreate(name: "d", bytes: 2 << 20, align: pmdSize).get()
        let m = try t.k.mmap(t.mm, length: 2 << 20, prot: .rw, shared: true, target: .file(d)).get()
        t.write(m, 0x22)
        XCTAssertEqual(t.k.madviseHWPoison(t.mm, start: m, length: 4096), HWPoisonResult(error: .EINVAL))
        XCTAssertEqual(t.read(a), .ok(0x11))
        XCTAssertEqual(t.read(m), .ok(0x22))
        XCTAssertTrue(t.k.corruptedPFNs.isEmpty)
        XCTAssertFalse(t.k.frames[t.k.inodes[Int(d)].dax!.basePFN].flags.contains(.hwpoison))
        t.tearDownAndAssertNoLeaks()
    }

    func testEFAULTWhenGetUserPagesFails() throws {
        var t = TestKernel(config: withMF)
        let d = try t.k.daxCreate(name: "d", bytes: 64 << 10, align: pageSize).get()
        // A mapping longer than the device: the fault past its end is SIGBUS, GUP gives EFAULT.
        let m = try t.k.mmap(t.mm, length: 128 << 10, prot: .rw, shared: true, target: .file(d)).get()
        XCTAssertEqual(t.k.madviseHWPoison(t.mm, start: m + 20 << 12, length: 4096), HWPoisonResult(error: .EFAULT))
        // PROT_NONE: check_vma_flags() refuses a read GUP.
        XCTAssertNil(t.k.mprotect(t.mm, start: m, length: 4096, prot: .none))
        XCTAssertEqual(t.k.madviseHWPoison(t.mm, start: m, length: 4096), HWPoisonResult(error: .EFAULT))
        // No VMA.
        XCTAssertNil(t.k.munmap(t.mm, start: m + 8 << 12, length: 4096))
        XCTAssertEqual(t.k.madviseHWPoison(t.mm, start: m + 8 << 12, length: 4096), HWPoisonResult(error: .EFAULT))
        // A page before the failing one was poisoned, and its SIGBUS is still delivered.
        let r = t.k.madviseHWPoison(t.mm, start: m + 7 << 12, length: 2 << 12)
        XCTAssertEqual(r, HWPoisonResult(error: .EFAULT, signal: .mceErr(actionRequired: true, address: m + 7 << 12, lsb: 12),
                                         signalAt: m + 7 << 12))
        XCTAssertEqual(t.k.madviseHWPoison(t.mm, start: m + 1, length: 4096), HWPoisonResult(error: .EINVAL))
        XCTAssertEqual(t.k.madviseHWPoison(t.mm, start: m, length: 0), HWPoisonResult())
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testTwoMappingsInOneProcessCollectOnlyTheMappedOne() throws {
        var t = TestKernel(config: withMF)
        let d = try t.k.daxCreate(name: "d", bytes: 2 << 20, align: pmdSize).get()
        let a = try t.k.mmap(t.mm, length: 2 << 20, prot: .rw, shared: true, target: .file(d)).get()
        let b = try t.k.mmap(t.mm, length: 2 << 20, prot: .rw, shared: true, target: .file(d)).get()
        t.write(b, page: 3, 0x33)
        // Only b maps the folio: a's entry has size_shift 0 and is dropped.
        XCTAssertEqual(t.k.collectProcsFile(0, d, current: Int(t.mm), forceEarly: true),
                       [ToKill(mm: t.mm, addr: b, sizeShift: 21)])
        XCTAssertEqual(t.read(a, page: 0), .ok(0))
        XCTAssertEqual(t.k.collectProcsFile(0, d, current: Int(t.mm), forceEarly: true),
                       [ToKill(mm: t.mm, addr: a, sizeShift: 21), ToKill(mm: t.mm, addr: b, sizeShift: 21)])
        // Both are signalled; the first SIGBUS (address order) is the one delivered.
        let r = t.k.madviseHWPoison(t.mm, start: b + 3 << 12, length: 4096)
        XCTAssertEqual(r.signal, .mceErr(actionRequired: true, address: a, lsb: 21))
        XCTAssertEqual(t.pagemap(a), 0)
        XCTAssertEqual(t.pagemap(b, page: 3), 0)
        t.tearDownAndAssertNoLeaks()
    }

    func testPoisonMarkerSignalUnderMemoryFailure() throws {
        for mf in [false, true] {
            var c = KernelConfig()
            c.memoryFailure = mf
            var t = TestKernel(config: c)
            let a = t.anon(4)
            t.k.mms[Int(t.mm)].pageTables.set(a + 2 << 12, PTEMarker.poisoned.pte)
            // x86 do_sigbus(): force_sig_mceerr(BUS_MCEERR_AR, address, PAGE_SHIFT) under
            // CONFIG_MEMORY_FAILURE, else BUS_ADRERR without si_addr_lsb.
            XCTAssertEqual(t.read(a, page: 2), .signal(mf ? .mceErr(actionRequired: true, address: a + 2 << 12, lsb: 12) : .busAdrErr))
            t.tearDownAndAssertNoLeaks()
        }
    }

    func testALoadFromACorruptedFrameConflictsWithEverything() throws {
        var (t, _, m) = try daxKernel(bytes: 2 << 20, align: pmdSize)
        t.write(m, page: 3, 0x33)
        let before = t.k.footprint(of: SyscallTask(.access(t.mm, address: m + 3 << 12, store: nil)))
        XCTAssertFalse(before.writes.contains(.global))
        _ = t.k.madviseHWPoison(t.mm, start: m + 3 << 12, length: 4096)
        XCTAssertEqual(t.read(m, page: 4), .ok(0), "re-fault the folio")
        XCTAssertEqual(t.k.footprint(of: SyscallTask(.access(t.mm, address: m + 3 << 12, store: nil))).writes, [.global])
        XCTAssertFalse(t.k.footprint(of: SyscallTask(.access(t.mm, address: m + 4 << 12, store: nil))).writes.contains(.global))
        t.tearDownAndAssertNoLeaks()
    }
}
