// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// shmem punch hole and MADV_REMOVE (mm/shmem.c), step by step.
final class ShmemTests: XCTestCase {
    func testPunchIsUnmapPerMappingThenTruncate() {
        var t = TestKernel()
        let f = t.memfd(16)
        let b = t.map(f, pages: 16)
        for i in 0..<16 { t.write(b, page: i, UInt64(i)) }
        let c = t.map(f, pages: 16, shared: false)
        t.write(c, page: 9, 0xc9)
        var task = SyscallTask(.punchHole(f, offset: 8 << 12, length: (15 - 8 + 1) << 12))
        let fp0 = t.k.footprint(of: task)
        XCTAssertTrue(fp0.writesTo(.pte(mm: t.mm, page: (b >> 12) + 8)), "step 1 writes the mappers' PTEs of the hole")
        XCTAssertFalse(fp0.writesTo(.pte(mm: t.mm, page: (b >> 12) + 7)), "and not the others")
        XCTAssertFalse(fp0.writesTo(.pte(mm: t.mm, page: (c >> 12) + 8)), "one mapping per step")
        XCTAssertEqual(t.k.stepName(of: task), "unmap_mapping_range")
        XCTAssertEqual(t.k.step(&task), .running)
        // Between the steps: B's PTEs gone, C's not yet, page cache still full.
        XCTAssertEqual(t.pagemap(b, page: 8), 0)
        XCTAssertNotNil(t.k.inodes[Int(f)].pages[8].folio)
        XCTAssertEqual(t.k.inodes[Int(f)].falloc, 8...15, "the hole is published: faults in it sleep")
        let fpC = t.k.footprint(of: task)
        XCTAssertTrue(fpC.writesTo(.pte(mm: t.mm, page: (c >> 12) + 9)))
        XCTAssertEqual(t.k.step(&task), .running)
        XCTAssertEqual(t.flags(c, page: 9), presentExcl, "COWed private copy survives (even_cows = 0)")
        XCTAssertEqual(t.k.stepName(of: task), "shmem_truncate_range")
        let fp1 = t.k.footprint(of: task)
        XCTAssertTrue(fp1.writesTo(.pageCache(inode: f, index: 8)))
        XCTAssertFalse(fpC.conflicts(with: Footprint(reads: [.pageCache(inode: f, index: 0)])))
        XCTAssertTrue(fp1.conflicts(with: Footprint(reads: [.pageCache(inode: f, index: 9)])))
        XCTAssertEqual(t.k.step(&task), .finished(.ok))
        XCTAssertNil(t.k.inodes[Int(f)].falloc)
        XCTAssertTrue(t.k.inodes[Int(f)].pages[8].isEmpty)
        XCTAssertEqual(t.read(b, page: 8), .ok(0))
        XCTAssertEqual(t.read(c, page: 9), .ok(0xc9))
        XCTAssertEqual(t.read(b, page: 7), .ok(7))
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testPunchWalkResumesAfterTheLastMappingWhenAnotherIsUnmappedMeanwhile() {
        // Three mappings; after the first is zapped, another thread unmaps it. The walk must
        // go on with the second and third (i_mmap order), not skip one because the list of
        // mappings got shorter.
        var t = TestKernel()
        let f = t.memfd(16)
        let a = t.map(f, pages: 16)
        let b = t.map(f, pages: 16)
        let c = t.map(f, pages: 16)
        for i in 0..<16 { t.write(a, page: i, 1) }
        _ = t.read(b, page: 8)
        _ = t.read(c, page: 8)
        var task = SyscallTask(.punchHole(f, offset: 8 << 12, length: (15 - 8 + 1) << 12))
        XCTAssertEqual(t.k.step(&task), .running)          // zaps A
        XCTAssertEqual(t.pagemap(a, page: 8), 0)
        XCTAssertNil(t.k.munmap(t.mm, start: a, length: 16 * pageSize))
        XCTAssertEqual(t.k.stepName(of: task), "unmap_mapping_range")
        XCTAssertTrue(t.k.footprint(of: task).writesTo(.pte(mm: t.mm, page: (b >> 12) + 8)), "B is next")
        XCTAssertEqual(t.k.step(&task), .running)          // zaps B
        XCTAssertEqual(t.pagemap(b, page: 8), 0)
        XCTAssertNotEqual(t.pagemap(c, page: 8), 0, "C not yet")
        XCTAssertEqual(t.k.stepName(of: task), "unmap_mapping_range")
        XCTAssertEqual(t.k.step(&task), .running)          // zaps C
        XCTAssertEqual(t.pagemap(c, page: 8), 0)
        XCTAssertEqual(t.k.stepName(of: task), "shmem_truncate_range")
        XCTAssertEqual(t.k.step(&task), .finished(.ok))
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testPunchZapsOnePTETablePerStep() {
        // A mapping whose part of the hole spans two PTE tables is zapped in two steps.
        var t = TestKernel()
        let f = t.memfd(1024)
        let b = t.map(f, pages: 1024)
        t.write(b, page: 500, 1)
        t.write(b, page: 600, 2)
        var task = SyscallTask(.punchHole(f, offset: 400 << 12, length: (700 - 400 + 1) << 12))
        XCTAssertFalse(t.k.footprint(of: task).writesTo(.pte(mm: t.mm, page: (b >> 12) + 600)), "one table per step")
        XCTAssertEqual(t.k.step(&task), .running)
        XCTAssertEqual(t.pagemap(b, page: 500), 0)
        XCTAssertNotEqual(t.pagemap(b, page: 600), 0, "the second table is the next step")
        XCTAssertEqual(t.k.stepName(of: task), "unmap_mapping_range")
        XCTAssertEqual(t.k.step(&task), .running)
        XCTAssertEqual(t.pagemap(b, page: 600), 0)
        XCTAssertEqual(t.k.stepName(of: task), "shmem_truncate_range")
        XCTAssertEqual(t.k.step(&task), .finished(.ok))
        XCTAssertEqual(t.read(b, page: 600), .ok(0))
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testFaultBetweenPunchStepsIsUnmappedAgainByTruncate() {
        // A fault that maps a page after unmap_mapping_range() but before the truncate is
        // zapped by unmap_mapping_folio() when the folio is dropped.
        var t = TestKernel()
        let f = t.memfd(16)
        let b = t.map(f, pages: 16)
        for i in 0..<16 { t.write(b, page: i, 1) }
        var task = SyscallTask(.punchHole(f, offset: 8 << 12, length: (15 - 8 + 1) << 12))
        _ = t.k.step(&task)
        _ = t.read(b, page: 9)      // fault-around maps 0..15 again from the page cache
        XCTAssertEqual(t.flags(b, page: 12), presentFileExcl)
        _ = t.k.step(&task)
        XCTAssertEqual(t.pagemap(b, page: 12), 0)
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }

    func testMadviseRemoveRules() {
        var t = TestKernel()
        let f = t.memfd(4)
        let b = t.map(f, pages: 4)
        let c = t.map(f, pages: 4, shared: false)
        let r = t.map(f, pages: 4, prot: .r)
        let a = t.anon(1)
        t.write(b, 0x1)
        XCTAssertEqual(t.k.madvise(t.mm, start: c, length: 4096, advice: .remove), .EACCES)
        XCTAssertEqual(t.k.madvise(t.mm, start: a, length: 4096, advice: .remove), .EINVAL)
        XCTAssertNil(t.k.madvise(t.mm, start: r, length: 4096, advice: .remove), "VM_MAYWRITE suffices")
        XCTAssertEqual(t.read(b), .ok(0))
        t.tearDownAndAssertNoLeaks()
    }

    func testSharedAnonymousMemoryIsShmem() {
        var t = TestKernel()
        let s = try! t.k.mmap(t.mm, length: 8192, prot: .rw, shared: true, target: .anon).get()
        t.write(s, 0x7)
        XCTAssertEqual(t.flags(s), presentFileExcl)
        let child = t.k.fork(t.mm, childName: "c")
        t.write(s, page: 1, 0x8, in: child)
        XCTAssertEqual(t.read(s, page: 1), .ok(0x8))
        t.tearDownAndAssertNoLeaks()
    }

    func testClearRefsWithSoftDirtyConfigured() {
        var cfg = KernelConfig()
        cfg.memSoftDirty = true
        var t = TestKernel(config: cfg)
        let a = t.anon(2)
        XCTAssertEqual(t.pagemap(a, page: 1), PM.softDirty, "new VMAs have VM_SOFTDIRTY")
        t.write(a, 0x1)
        XCTAssertNil(t.k.clearRefs(t.mm, 4))
        XCTAssertEqual(t.flags(a), presentExcl, "soft-dirty cleared and write-protected")
        XCTAssertEqual(t.pagemap(a, page: 1), 0)
        t.write(a, 0x2)
        XCTAssertEqual(t.flags(a), presentExcl | PM.softDirty, "the write fault sets it again")
        XCTAssertEqual(t.k.clearRefs(t.mm, 6), .EINVAL)
        t.tearDownAndAssertNoLeaks()
    }
}
