// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// The x86-64 PTE and swap-entry encodings (arch/x86/include/asm/pgtable_64.h).
final class PTETests: XCTestCase {
    func testSwapEntryRoundTrip() {
        for (type, offset) in [(0, 1), (0, 12345), (5, (1 << 50) - 1), (31, 1), (31, 4), (24, 0x1234)] {
            let e = SwapEntry(type: UInt8(type), offset: UInt64(offset))
            let pte = PTE.swap(e)
            XCTAssertEqual(pte.swapEntry, e)
            XCTAssertFalse(pte.isPresent, "swap PTEs have neither PRESENT nor PROTNONE")
            XCTAssertFalse(pte.isNone)
            XCTAssertTrue(pte.isSwapPTE)
            XCTAssertEqual(pte.raw >> 59, UInt64(type), "type lives in bits 59-63")
        }
    }

    func testSwapOffsetIsStoredInverted() {
        // __swp_entry(): ~offset in bits 9..58.
        let pte = PTE.swap(SwapEntry(type: 0, offset: 1))
        XCTAssertEqual(pte.raw, ((~UInt64(1)) << 14) >> 5)
        XCTAssertEqual(pte.raw & 0x1ff, 0, "bits 0-8 are clear in any swap PTE")
    }

    func testMarkersAreType31WithTheirBitsAsOffset() {
        XCTAssertEqual(PTEMarker.uffdWP.pte.swapEntry, SwapEntry(type: 31, offset: 1))
        XCTAssertEqual(PTEMarker.guard_.pte.swapEntry, SwapEntry(type: 31, offset: 4))
        XCTAssertEqual(PTEMarker.uffdWP.pte.marker, .uffdWP)
        XCTAssertNil(PTE.swap(SwapEntry(type: 0, offset: 1)).marker)
    }

    func testMarkerPagemapWordsAreBitExact() {
        // The words the running kernel reports (linux-6.18 digest appendix).
        var t = TestKernel()
        let a = t.anon(2)
        let vma = t.k.mms[Int(t.mm)].vmas[0]
        XCTAssertEqual(t.k.pteToPagemapEntry(vma, PTEMarker.uffdWP.pte, showPFN: true), 0x4200_0000_0000_003f)
        XCTAssertEqual(t.k.pteToPagemapEntry(vma, PTEMarker.guard_.pte, showPFN: true), 0x4400_0000_0000_009f)
        XCTAssertEqual(t.k.pteToPagemapEntry(vma, PTEMarker.poisoned.pte, showPFN: true), 0x4000_0000_0000_005f)
        _ = a
    }

    func testPresentBitsAndProtNone() {
        let p = PTE.make(pfn: 0x1234, prot: PTE.present | PTE.rw)
        XCTAssertEqual(p.pfn, 0x1234)
        XCTAssertTrue(p.isPresent && p.isWritable)
        let none = PTE.make(pfn: 7, prot: PTE.protnone)
        XCTAssertTrue(none.isPresent, "x86 pte_present() counts PROT_NONE")
        XCTAssertTrue(none.isProtNone)
        XCTAssertFalse(none.isSwapPTE)
    }

    func testMkUffdWPWriteProtectsAndMkdirtySetsSoftDirtyOnlyWhenConfigured() {
        let p = PTE.make(pfn: 1, prot: PTE.present | PTE.rw)
        XCTAssertFalse(p.mkUffdWP().isWritable)
        XCTAssertTrue(p.mkUffdWP().uffdWP)
        XCTAssertTrue(p.mkdirty(softDirtyConfigured: true).softDirty)
        XCTAssertFalse(p.mkdirty(softDirtyConfigured: false).softDirty)
    }

    func testPageCacheEntryEncoding() {
        XCTAssertEqual(PageCacheEntry.folio(42).folio, 42)
        XCTAssertNil(PageCacheEntry.folio(42).swapEntry)
        let e = SwapEntry(type: 3, offset: 999)
        XCTAssertEqual(PageCacheEntry.swap(e).swapEntry, e)
        XCTAssertNil(PageCacheEntry.swap(e).folio)
        XCTAssertTrue(PageCacheEntry.empty.isEmpty)
    }
}
