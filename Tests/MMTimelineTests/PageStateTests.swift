// SPDX-License-Identifier: Apache-2.0

import MMLab
import MMScenario
@testable import MMTimeline
import XCTest

/// How a timeline cell decodes a pagemap word.
final class PageStateTests: XCTestCase {
    func testWordsDecodeToTheirState() {
        let zero: UInt64 = 7
        XCTAssertEqual(PageState(word: 0, ksm: false, zeroPFN: zero).stateClass, .none)
        XCTAssertEqual(PageState(word: PM.present | PM.mmapExclusive | 42, ksm: false, zeroPFN: zero).stateClass, .exclusive)
        XCTAssertEqual(PageState(word: PM.present | 42, ksm: false, zeroPFN: zero).stateClass, .shared)
        XCTAssertEqual(PageState(word: PM.present | zero, ksm: false, zeroPFN: zero).stateClass, .zero)
        XCTAssertEqual(PageState(word: PM.present | 42, ksm: true, zeroPFN: zero).stateClass, .ksm)
        XCTAssertEqual(PageState(word: PM.present | PM.file | 42, ksm: false, zeroPFN: zero).stateClass, .file)
        XCTAssertEqual(PageState(word: PM.swap | (3 << 5), ksm: false, zeroPFN: zero).stateClass, .swap)
        let marker = PM.swap | UInt64(SwapEntry.markerType)
        XCTAssertEqual(PageState(word: marker | (PTEMarker.uffdWP.rawValue << 5) | PM.uffdWP, ksm: false, zeroPFN: zero).stateClass, .uffdWP)
        XCTAssertEqual(PageState(word: marker | (PTEMarker.guard_.rawValue << 5) | PM.guardRegion, ksm: false, zeroPFN: zero).stateClass, .guardMarker)
        XCTAssertEqual(PageState(word: marker | (PTEMarker.poisoned.rawValue << 5), ksm: false, zeroPFN: zero).stateClass, .poison)
        XCTAssertEqual(PageState(word: marker | (PTEMarker.pageout.rawValue << 5), ksm: false, zeroPFN: zero).stateClass, .pageout)
        let wp = PageState(word: PM.present | PM.mmapExclusive | PM.uffdWP | PM.softDirty | 42, ksm: false, zeroPFN: zero)
        XCTAssertEqual(wp.marks, [.uffdWP, .softDirty])
    }
}
