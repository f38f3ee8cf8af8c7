// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// KSM through the model's Swift API: the advice applies to its range only, and what
/// replace_page() leaves in the PTE it replaces, under 6.18 and under the fix.
final class KSMTests: XCTestCase {
    /// Two pages of the same content, merged: A[0] (scanned first) is replaced by the KSM
    /// page that A[1] became. Returns the kernel, the mapping and the userfaultfd.
    func mergedUnderUffdWP(_ design: Design) -> (TestKernel, UInt64, UffdHandle) {
        var t = TestKernel(design: design)
        t.k.enableWriteChecks()
        let a = t.anon(2)
        t.write(a, page: 0, 0x7)
        t.write(a, page: 1, 0x7)
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 2 << 12, advice: .mergeable))
        t.k.ksmSetRun(true)
        t.k.ksmScan(1)
        guard case .handle(let u) = t.k.perform(.uffdCreate(ProcessHandle(t.mm), features: [])) else {
            XCTFail("userfaultfd")
            return (t, a, -1)
        }
        XCTAssertEqual(t.k.perform(.uffdRegister(u, address: a, length: 2 << 12, mode: .wp)), .ok)
        XCTAssertEqual(t.k.perform(.uffdWriteProtect(u, address: a, length: 2 << 12, protect: true, dontwake: false)), .ok)
        XCTAssertEqual(t.flags(a, page: 0) & PM.uffdWP, PM.uffdWP)
        t.k.ksmScan(1)
        XCTAssertEqual(t.pfn(a, page: 0), t.pfn(a, page: 1), "merged into one KSM page")
        return (t, a, u)
    }

    /// 6.18: the replaced PTE loses uffd-wp; the next store COWs without a wp fault, and the
    /// write checks call it silent.
    func testReplacePageDropsUffdWPUnder618() {
        var (t, a, u) = mergedUnderUffdWP(Design())
        XCTAssertEqual(t.flags(a, page: 0) & PM.uffdWP, 0, "replace_page(): mk_pte() has no uffd-wp")
        XCTAssertEqual(t.flags(a, page: 1) & PM.uffdWP, PM.uffdWP, "write_protect_page() kept it on the KSM page")
        XCTAssertEqual(t.k.access(t.mm, a, store: 0x8), .ok(0x8))
        XCTAssertEqual(t.k.perform(.uffdRead(u)), .message(nil), "no wp fault message")
        XCTAssertEqual(t.k.silentWrites.count, 1, "\(t.k.silentWrites)")
        t.assertConsistent()
    }

    /// `design ksm.uffd_wp = keep`: the replacing PTE keeps uffd-wp, so the store traps.
    func testReplacePageKeepsUffdWPUnderTheFix() {
        var d = Design()
        XCTAssertTrue(d.set("ksm.uffd_wp", "keep"))
        var (t, a, u) = mergedUnderUffdWP(d)
        XCTAssertEqual(t.flags(a, page: 0) & PM.uffdWP, PM.uffdWP)
        var task = SyscallTask(.access(ProcessHandle(t.mm), address: a, store: 0x8))
        guard case .blocked(_, .userfault) = t.k.run(&task) else { return XCTFail("the store must wait in handle_userfault()") }
        guard case .message(let m?) = t.k.perform(.uffdRead(u)), case .pagefault = m.event else {
            return XCTFail("a wp fault message")
        }
        XCTAssertEqual(t.k.perform(.uffdWriteProtect(u, address: a, length: 1 << 12, protect: false, dontwake: false)), .ok)
        let r = t.k.run(&task)
        XCTAssertEqual(r, .finished(.value(0x8)), "the store completes once woken")
        XCTAssertEqual(t.read(a), .ok(0x8))
        XCTAssertEqual(t.k.silentWrites, [])
        t.assertConsistent()
    }

    /// MADV_UNMERGEABLE on half of a merged VMA splits it: the other half stays merged and
    /// the next scan keeps its rmap items.
    func testUnmergeableAppliesToItsRangeOnly() {
        var t = TestKernel()
        let a = t.anon(4)
        for i in 0..<4 { t.write(a, page: i, 0x5) }
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4 << 12, advice: .mergeable))
        t.k.ksmSetRun(true)
        t.k.ksmScan(2)
        XCTAssertEqual(counter(t.k, "pages_sharing"), 3)
        XCTAssertNil(t.k.madvise(t.mm, start: a + (2 << 12), length: 2 << 12, advice: .unmergeable))
        XCTAssertEqual(t.k.mms[Int(t.mm)].vmas.count, 2, "vma_modify_flags() split the VMA")
        XCTAssertTrue(t.k.mms[Int(t.mm)].vmas[0].flags.contains(.mergeable))
        XCTAssertFalse(t.k.mms[Int(t.mm)].vmas[1].flags.contains(.mergeable))
        t.k.ksmScan(1)
        XCTAssertEqual(counter(t.k, "pages_shared"), 1)
        XCTAssertEqual(counter(t.k, "pages_sharing"), 1)
        XCTAssertEqual(t.pfn(a, page: 0), t.pfn(a, page: 1))
        // Mergeable again: the VMAs merge back into one.
        XCTAssertNil(t.k.madvise(t.mm, start: a + (2 << 12), length: 2 << 12, advice: .mergeable))
        XCTAssertEqual(t.k.mms[Int(t.mm)].vmas.count, 1, "vma_modify_flags() merged it with its neighbour")
        t.assertConsistent()
    }

    func counter(_ k: Kernel, _ name: String) -> Int64 {
        k.ksmCounters.first { $0.0 == name }?.1 ?? -1
    }
}
