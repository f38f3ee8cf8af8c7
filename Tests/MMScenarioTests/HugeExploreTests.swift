// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMExplore
@testable import MMScenario

/// `explore` of a scenario that maps 16 TiB: every execution's walks (mprotect, munmap,
/// MADV_DONTNEED, fork's copy, the invariants, the fingerprints of final states) visit the
/// tables that exist, so the work counted is that of a few pages.
final class HugeExploreTests: XCTestCase {
    func testExploringThreadsOverA16TiBMappingVisitsOnlyPopulatedTables() throws {
        let source = """
        mmap A anon private rw 16384G
        write A[0] = 0x1
        write A[4294967295] = 0x2
        thread T1 {
          mprotect A r
          mprotect A rw
        }
        thread T2 {
          write A[2147483648] = 0x3
          madvise A dontneed
        }
        thread T3 {
          fork child
          munmap A[1..4294967294]
        }
        check consistent
        check no_lost_write
        """
        let (out, r) = MMLabSession.exploration(source: source, file: "huge.mms")
        let result = try XCTUnwrap(r, out.output)
        XCTAssertTrue(result.exhaustive, out.output)
        XCTAssertGreaterThan(result.executions, 10, out.output)
        XCTAssertTrue(out.output.contains("check consistent: holds on all"), out.output)
        XCTAssertTrue(out.output.contains("check no_lost_write: holds on all"), out.output)
        // Three PTE tables at most are ever populated; a per-page walk would read 2^32 PTEs.
        let perExecution = result.pteReads / result.executions
        print("explore over 16 TiB: \(result.executions) executions, \(perExecution) PTE reads per execution")
        XCTAssertLessThan(perExecution, 40 * 512, "PTE reads per execution: \(perExecution)")
    }
}
