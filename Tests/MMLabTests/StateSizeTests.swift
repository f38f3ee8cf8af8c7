// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// Model state per populated page, counted by `Kernel.stateBytes` (the figure the benchmark
/// `anon write fault 1Mi pages` reports): sparse structures must not make the dense case
/// dearer.
final class StateSizeTests: XCTestCase {
    func testAnonWritePassOfOneMebiPageCostsAtMostTodaysStatePerPage() {
        let pages = 1 << 20
        var k = Kernel()
        let mm = k.createProcess(name: "bench")
        let base = try! k.mmap(mm, length: UInt64(pages) << 12, prot: .rw, shared: false, target: .anon).get()
        for i in 0..<pages {
            guard case .ok = k.access(mm, base + UInt64(i) << 12, store: UInt64(i) | 1) else {
                return XCTFail("store to page \(i)")
            }
        }
        XCTAssertEqual(k.frames.allocatedCount, pages)
        XCTAssertEqual(k.costs.faults, pages)
        let perPageX100 = k.stateBytes * 100 / pages
        print("state per populated page (1 Mi anon write pass): \(perPageX100 / 100).\(String(format: "%02d", perPageX100 % 100)) bytes")
        // 31.70 bytes a page measured this way before the sparse structures (30.89 in the
        // benchmark's run, docs/performance.md). Array capacities come from malloc's usable
        // sizes, which vary with the heap a test process has built up (up to 33.4 seen in a
        // full `swift test`): the bound leaves that room, and a change that adds a few bytes
        // per page still fails.
        XCTAssertLessThanOrEqual(perPageX100, 3400)
    }
}
