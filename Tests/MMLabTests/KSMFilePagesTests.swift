// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// KSM and page-cache pages (seed 002): 6.18 ignores MAP_SHARED mappings; under
/// `design ksm.file_pages = on` clean page-cache pages merge into KSM pages that stand in for
/// their slots (aliases), and every write path breaks only the written file's alias.
final class KSMFilePagesTests: XCTestCase {
    static var on: Design {
        var d = Design()
        XCTAssertTrue(d.set("ksm.file_pages", "on"))
        return d
    }

    func counter(_ k: Kernel, _ name: String) -> Int64 {
        k.ksmCounters.first { $0.0 == name }?.1 ?? -1
    }

    /// Two memfds of `pages` clean (read-faulted, zero-filled) pages, F1 mapped shared in main,
    /// F2 in a second process, both advised mergeable, then two full scans.
    struct TwoVMs {
        var t: TestKernel
        let f1: InodeID, f2: InodeID
        let g1: UInt64, g2: UInt64
        let vm2: MMID
    }

    func twoVMs(_ design: Design, pages: Int = 2, scan: Bool = true) -> TwoVMs {
        var t = TestKernel(design: design)
        let f1 = t.memfd(pages), f2 = t.memfd(pages)
        let g1 = t.map(f1, pages: pages)
        let vm2 = t.k.createProcess(name: "vm2")
        let g2 = t.map(f2, pages: pages, in: vm2)
        for i in 0..<pages {
            XCTAssertEqual(t.read(g1, page: i), .ok(0))
            XCTAssertEqual(t.read(g2, page: i, in: vm2), .ok(0))
        }
        XCTAssertNil(t.k.madvise(t.mm, start: g1, length: UInt64(pages) << 12, advice: .mergeable))
        XCTAssertNil(t.k.madvise(vm2, start: g2, length: UInt64(pages) << 12, advice: .mergeable))
        t.k.ksmSetRun(true)
        if scan { t.k.ksmScan(2) }
        return TwoVMs(t: t, f1: f1, f2: f2, g1: g1, g2: g2, vm2: vm2)
    }

    func slot(_ k: Kernel, _ ino: InodeID, _ i: Int) -> PFN? { k.inodes[Int(ino)].pages[UInt64(i)].folio }

    func pte(_ k: Kernel, _ mm: MMID, _ a: UInt64) -> PTE { k.mms[Int(mm)].pageTables.pte(a) }

    /// 6.18: the advice on a MAP_SHARED VMA succeeds and does nothing; no page-cache page is
    /// ever scanned.
    func testSharedMappingsAreIgnoredUnder618() {
        var v = twoVMs(Design())
        XCTAssertFalse(v.t.k.mms[Int(v.t.mm)].vmas[0].flags.contains(.mergeable))
        XCTAssertEqual(counter(v.t.k, "pages_shared"), 0)
        XCTAssertEqual(counter(v.t.k, "pages_volatile"), 0)
        XCTAssertEqual(counter(v.t.k, "full_scans"), 0, "no mm registered: ksmd does not scan")
        XCTAssertEqual(v.t.k.ksm.aliases, [])
        XCTAssertNotEqual(slot(v.t.k, v.f1, 0), slot(v.t.k, v.f2, 0))
        v.t.tearDownAndAssertNoLeaks()
    }

    /// on: the four clean slots of two files end up behind one KSM page; the counters count
    /// aliases; the merge costs one PTE write per mapping PTE and one slot store per alias.
    func testCleanPagesOfTwoFilesMerge() {
        var v = twoVMs(Self.on, scan: false)
        v.t.k.ksmScan(1)
        let before = v.t.k.costs
        let framesBefore = v.t.k.frames.allocatedCount
        v.t.k.ksmScan(1)
        let k = v.t.k
        guard let kpage = slot(k, v.f1, 0) else { return XCTFail("F1[0] has a page") }
        for (ino, i) in [(v.f1, 0), (v.f1, 1), (v.f2, 0), (v.f2, 1)] {
            XCTAssertEqual(slot(k, ino, i), kpage, "slot \(ino)[\(i)] points at the KSM page")
        }
        XCTAssertTrue(k.frames[kpage].flags.contains(.ksm))
        XCTAssertTrue(k.frames[kpage].flags.contains(.anon), "a KSM folio is anonymous-typed")
        XCTAssertFalse(k.frames[kpage].flags.contains(.pagecache))
        XCTAssertEqual(k.frames[kpage].mapcount, 4)
        XCTAssertEqual(k.frames[kpage].refcount, 8, "4 mappings + 4 aliases")
        XCTAssertEqual(k.ksm.aliases.count, 4)
        XCTAssertEqual(counter(k, "pages_shared"), 1)
        XCTAssertEqual(counter(k, "pages_sharing"), 3)
        XCTAssertEqual(counter(k, "pages_unshared"), 0)
        XCTAssertEqual(counter(k, "pages_volatile"), 0)
        XCTAssertEqual(counter(k, "general_profit"), 3 * 4096 - 4 * 64 - 4 * 48)
        XCTAssertEqual(k.costs.slotStores - before.slotStores, 4)
        XCTAssertEqual(k.costs.iMmapWalks - before.iMmapWalks, 4)
        XCTAssertEqual(k.costs.pteWrites - before.pteWrites, 4, "three replaced PTEs, one write-protected")
        XCTAssertEqual(k.costs.ksmFramesFreed - before.ksmFramesFreed, 3)
        XCTAssertEqual(framesBefore - k.frames.allocatedCount, 3)
        for (mm, a) in [(v.t.mm, v.g1), (v.vm2, v.g2)] {
            for i in 0..<2 {
                let e = pte(k, mm, a + UInt64(i) << 12)
                XCTAssertEqual(e.pfn, kpage)
                XCTAssertFalse(e.isWritable, "read-only in a writable MAP_SHARED VMA")
            }
            XCTAssertEqual(k.mms[Int(mm)].rssAnon, 2, "a KSM page counts as anonymous memory")
            XCTAssertEqual(k.mms[Int(mm)].rssShmem, 0)
        }
        XCTAssertEqual(v.t.flags(v.g1), PM.present, "pagemap: not PM_FILE, not exclusive")
        XCTAssertEqual(k.metadataBytes.last?.1, 4 * 48)
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// Written pages are PG_dirty and never merge; a page stored to through a clean,
    /// writable PTE has a dirty PTE, which the merge's walk moves into the folio.
    func testDirtyPagesAreNotMerged() {
        var t = TestKernel(design: Self.on)
        let f1 = t.memfd(2), f2 = t.memfd(2)
        let g1 = t.map(f1, pages: 2), g2 = t.map(f2, pages: 2)
        t.write(g1, page: 0, 0x42)
        t.write(g2, page: 0, 0x42)
        XCTAssertEqual(t.read(g1, page: 1), .ok(0))
        XCTAssertEqual(t.read(g2, page: 1), .ok(0))
        t.write(g2, page: 1, 0)                           // same data, dirty PTE
        guard let p = slot(t.k, f2, 1) else { return XCTFail("F2[1] has a page") }
        XCTAssertFalse(t.k.frames[p].flags.contains(.dirty), "PG_dirty is not set by the hardware")
        for a in [g1, g2] { XCTAssertNil(t.k.madvise(t.mm, start: a, length: 2 << 12, advice: .mergeable)) }
        t.k.ksmSetRun(true)
        t.k.ksmScan(3)
        XCTAssertEqual(t.k.ksm.aliases, [])
        XCTAssertEqual(counter(t.k, "pages_shared"), 0)
        XCTAssertEqual(counter(t.k, "pages_unshared"), 1, "F1[1], clean, waits in the unstable tree")
        XCTAssertEqual(counter(t.k, "pages_volatile"), 3)
        XCTAssertTrue(t.k.frames[p].flags.contains(.dirty), "the walk moved the PTE's dirty bit into the folio")
        XCTAssertNotEqual(slot(t.k, f1, 0), slot(t.k, f2, 0))
        t.assertConsistent()
    }

    /// A store through MAP_SHARED breaks only the stored file's alias: a copy in its slot,
    /// every PTE of that file at that index replaced (in both processes that map it), then
    /// the store; the other file keeps the KSM page.
    func testSharedStoreBreaksOnlyThatFilesAlias() {
        var v = twoVMs(Self.on)
        let backend = v.t.k.fork(v.vm2, childName: "backend")
        XCTAssertEqual(v.t.read(v.g2, in: backend), .ok(0))
        guard let kpage = slot(v.t.k, v.f1, 0) else { return XCTFail("merged") }
        XCTAssertEqual(pte(v.t.k, backend, v.g2).pfn, kpage)
        let before = v.t.k.costs
        v.t.write(v.g2, 0x9, in: v.vm2)
        let k = v.t.k
        guard let copy = slot(k, v.f2, 0) else { return XCTFail("F2[0] has a page") }
        XCTAssertNotEqual(copy, kpage)
        XCTAssertTrue(k.frames[copy].flags.contains(.pagecache))
        XCTAssertTrue(k.frames[copy].flags.contains(.dirty))
        XCTAssertEqual(pte(k, v.vm2, v.g2).pfn, copy)
        XCTAssertTrue(pte(k, v.vm2, v.g2).isWritable, "the normal write path made it writable")
        XCTAssertEqual(pte(k, backend, v.g2).pfn, copy, "the backend's PTE was replaced")
        XCTAssertFalse(pte(k, backend, v.g2).isWritable)
        XCTAssertEqual(v.t.read(v.g2, in: backend), .ok(0x9))
        XCTAssertEqual(slot(k, v.f1, 0), kpage)
        XCTAssertEqual(slot(k, v.f2, 1), kpage)
        XCTAssertEqual(pte(k, v.t.mm, v.g1).pfn, kpage)
        XCTAssertEqual(k.frames.token(kpage), 0)
        XCTAssertEqual(k.costs.aliasBreaks - before.aliasBreaks, 1)
        XCTAssertEqual(k.costs.pageCopies - before.pageCopies, 1)
        XCTAssertEqual(k.costs.iMmapWalks - before.iMmapWalks, 1)
        XCTAssertEqual(k.costs.slotStores - before.slotStores, 1)
        XCTAssertEqual(k.costs.pteWrites - before.pteWrites, 3, "two replaced PTEs, then wp_page_reuse()")
        XCTAssertEqual(counter(k, "pages_sharing"), 2)
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// A store through MAP_PRIVATE is an ordinary COW of the KSM page: no alias breaks.
    func testPrivateStoreIsAnOrdinaryCOW() {
        var v = twoVMs(Self.on, scan: false)
        let p = v.t.map(v.f1, pages: 2, shared: false)
        XCTAssertEqual(v.t.read(p), .ok(0))
        v.t.k.ksmScan(2)
        guard let kpage = slot(v.t.k, v.f1, 0) else { return XCTFail("merged") }
        XCTAssertEqual(pte(v.t.k, v.t.mm, p).pfn, kpage, "the merge replaced the private PTE too")
        let aliases = v.t.k.ksm.aliases
        v.t.write(p, 0x7)
        XCTAssertEqual(v.t.k.ksm.aliases, aliases)
        XCTAssertNotEqual(pte(v.t.k, v.t.mm, p).pfn, kpage)
        XCTAssertEqual(v.t.flags(p), presentExcl, "an exclusive anonymous copy")
        XCTAssertEqual(v.t.read(v.g1), .ok(0))
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// pwrite(2) breaks the alias at the page-cache lookup, then writes the copy.
    func testPwriteBreaksTheAliasAtTheLookup() {
        var v = twoVMs(Self.on)
        guard let kpage = slot(v.t.k, v.f2, 0) else { return XCTFail("merged") }
        let faults = v.t.k.costs.faults
        XCTAssertEqual(try? v.t.k.pwrite(v.f2, offset: 0, token: 0x42).get(), 4096)
        XCTAssertEqual(v.t.k.costs.faults, faults)
        XCTAssertNotEqual(slot(v.t.k, v.f2, 0), kpage)
        XCTAssertEqual(v.t.k.ksmAlias(v.f2, 0), nil)
        XCTAssertEqual(v.t.read(v.g2, in: v.vm2), .ok(0x42))
        XCTAssertEqual(v.t.read(v.g1), .ok(0))
        XCTAssertEqual(v.t.k.frames.token(kpage), 0)
        XCTAssertEqual(try? v.t.k.pread(v.f1, offset: 0).get(), 0)
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// A punched hole removes only that file's alias; the PTE of the alias is zapped.
    func testPunchRemovesOnlyThatFilesAlias() {
        var v = twoVMs(Self.on)
        guard let kpage = slot(v.t.k, v.f2, 0) else { return XCTFail("merged") }
        XCTAssertNil(v.t.k.fallocatePunchHole(v.f2, offset: 0, length: 4096))
        XCTAssertNil(slot(v.t.k, v.f2, 0))
        XCTAssertTrue(v.t.k.inodes[Int(v.f2)].pages[0].isEmpty)
        XCTAssertTrue(pte(v.t.k, v.vm2, v.g2).isNone)
        XCTAssertEqual(slot(v.t.k, v.f1, 0), kpage)
        XCTAssertEqual(v.t.k.ksm.aliases.count, 3)
        XCTAssertEqual(v.t.k.frames[kpage].refcount, 6)
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// Reclaim keeps an aliased KSM page, mapped: it is never written back.
    func testPageoutKeepsAnAliasedPage() {
        var v = twoVMs(Self.on, pages: 1)
        v.t.k.exitMM(v.vm2)
        guard let kpage = slot(v.t.k, v.f1, 0) else { return XCTFail("merged") }
        XCTAssertEqual(v.t.k.frames[kpage].mapcount, 1)
        XCTAssertNil(v.t.k.madvise(v.t.mm, start: v.g1, length: 4096, advice: .pageout))
        XCTAssertEqual(pte(v.t.k, v.t.mm, v.g1).pfn, kpage)
        XCTAssertTrue(v.t.k.frames[kpage].flags.contains(.active))
        XCTAssertEqual(slot(v.t.k, v.f2, 0), kpage)
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// MADV_UNMERGEABLE on a shared VMA breaks its file's aliases.
    func testUnmergeableBreaksTheFilesAliases() {
        var v = twoVMs(Self.on)
        XCTAssertNil(v.t.k.madvise(v.vm2, start: v.g2, length: 2 << 12, advice: .unmergeable))
        XCTAssertEqual(v.t.k.ksm.aliases.map(\.inode), [v.f1, v.f1])
        XCTAssertTrue(v.t.k.frames[pte(v.t.k, v.vm2, v.g2).pfn].flags.contains(.pagecache))
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// mprotect() back to rw, and a read fault of the slot, never make a KSM PTE writable;
    /// a fork copies no PTE of the shared VMA, and the child's read maps the KSM page.
    func testKSMPTEsStayReadOnly() {
        var v = twoVMs(Self.on)
        guard let kpage = slot(v.t.k, v.f1, 0) else { return XCTFail("merged") }
        XCTAssertNil(v.t.k.mprotect(v.t.mm, start: v.g1, length: 2 << 12, prot: .r))
        XCTAssertNil(v.t.k.mprotect(v.t.mm, start: v.g1, length: 2 << 12, prot: .rw))
        XCTAssertFalse(pte(v.t.k, v.t.mm, v.g1).isWritable)
        let child = v.t.k.fork(v.t.mm, childName: "child")
        XCTAssertTrue(pte(v.t.k, child, v.g1).isNone, "vma_needs_copy() is false")
        XCTAssertEqual(v.t.read(v.g1, in: child), .ok(0))
        XCTAssertEqual(pte(v.t.k, child, v.g1).pfn, kpage)
        XCTAssertFalse(pte(v.t.k, child, v.g1).isWritable)
        XCTAssertEqual(counter(v.t.k, "pages_sharing"), 3, "a new mapping is no new site")
        v.t.write(v.g1, 0x5, in: child)
        XCTAssertEqual(v.t.read(v.g1), .ok(0x5), "the parent's PTE was replaced too")
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// An anonymous page merges with page-cache pages of the same data: its rmap item is a
    /// site of its own, beside the aliases.
    func testAnonymousAndFilePagesMergeTogether() {
        var v = twoVMs(Self.on, pages: 1, scan: false)
        let a = v.t.anon(1)
        v.t.write(a, 0)
        XCTAssertNil(v.t.k.madvise(v.t.mm, start: a, length: 4096, advice: .mergeable))
        v.t.k.ksmScan(2)
        XCTAssertEqual(pte(v.t.k, v.t.mm, a).pfn, slot(v.t.k, v.f1, 0))
        XCTAssertEqual(counter(v.t.k, "pages_shared"), 1)
        XCTAssertEqual(counter(v.t.k, "pages_sharing"), 2, "two aliases and one anonymous mapping")
        v.t.write(a, 0x3)
        XCTAssertEqual(v.t.k.ksm.aliases.count, 2, "an anonymous COW breaks no alias")
        v.t.assertConsistent()
        v.t.tearDownAndAssertNoLeaks()
    }

    /// guest_memfd is never a candidate, under either design.
    func testGuestMemfdIsNotCompatible() {
        var t = TestKernel(design: Self.on)
        let g = try! t.k.kvmGmemCreate(name: "g", size: 4096, flags: [.mmap, .initShared]).get()
        let a = t.map(g, pages: 1)
        XCTAssertNil(t.k.madvise(t.mm, start: a, length: 4096, advice: .mergeable))
        XCTAssertFalse(t.k.mms[Int(t.mm)].vmas[0].flags.contains(.mergeable))
    }

    /// The invariants know aliases: a slot holding a KSM page without its alias record, and
    /// an alias whose slot holds something else, are violations.
    func testInvariantsCheckAliases() {
        var v = twoVMs(Self.on, pages: 1)
        XCTAssertEqual(v.t.k.verifyInvariants(), [])
        let al = v.t.k.ksm.aliases.removeLast()
        let lost = v.t.k.verifyInvariants()
        XCTAssertTrue(lost.contains { $0.contains("in the page cache without an alias") }, "\(lost)")
        XCTAssertTrue(lost.contains { $0.contains("maps KSM page") && $0.contains("which is not its file's alias there") }, "\(lost)")
        v.t.k.ksm.aliases.append(PageAlias(inode: al.inode, index: al.index + 1, kpage: al.kpage))
        XCTAssertTrue(v.t.k.verifyInvariants().contains { $0.contains("the slot does not hold KSM page") })
    }
}
