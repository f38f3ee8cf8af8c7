// SPDX-License-Identifier: Apache-2.0
//
// The generator's list of the statements the live backend runs (GeneratorCoverage.
// liveStatements, whose coverage MMGeneratorTests requires) is the live backend's own: a
// sample of every statement of the language, asked of LiveSession.statementRefusal(), is
// run by the live backend exactly when its coverage item is on the list. No kernel needed.

import MMGenerator
import MMScenario
import MMSyntax
import XCTest
@testable import MMLive

final class GeneratorCoverageTests: XCTestCase {
    static let prologue = """
    memfd F 8p
    guest_memfd Q 4p flags=mmap,init_shared
    mmap A anon private rw 8p
    mmap B F shared rw
    uffd U
    uffd U register A[0..7] missing,wp

    """

    /// One sample of every statement, after the prologue (or, starting with `^`, before it).
    static let samples: [String] = [
        "^scenario \"t\"", "^design uffd_wp.file_zap = marker", "^kconfig MEM_SOFT_DIRTY = n", "swap 1M", "memfd G 4p",
        "guest_memfd M 4p flags=mmap", "mmap C anon private r 4p", "read B[0]", "write B[1] = 0x5", "munmap B[7]",
        "mprotect B[6] r", "madvise B[2] pageout", "punch F[3]", "pread F[0]", "pwrite F[1] = 0x5", "poison B[0] -> EINVAL", "fork c",
        "fork c\nin c {\n  read B[0]\n}", "fork c\nin c {\n  exit\n}", "clear_refs 4", "prctl memory_merge on",
        "pagemap B[0]", "pagemap_scan B[0..3]", "expect pagemap B[0] = 0x0", "expect pagemap B[0] present=0",
        "expect read B[0] == 0x0", "expect event U fork", "expect no event U", "expect pagemap_scan B written=none",
        "expect ksm pages_shared=0", "thread T {\n  read B[0]\n}", "thread T {\n  read B[0]\n}\njoin T", "uffd V",
        "uffd U unregister A[0]", "uffd U wp A[0]", "uffd U unwp A[0]", "uffd U copy A[0] = 0x1",
        "uffd U zeropage A[0]", "uffd U continue A[0]", "uffd U poison A[0]", "uffd U wake A[0]", "ksm run",
        "ksm scan 1", "ksm use_zero_pages on", "ksm max_page_sharing 2", "check consistent",
        "uffd U register B[0] wp", "pin P B[0]", "pin P B[0]\nunpin P", "convert F[0] private -> ENOTTY", "when design uffd_wp.file_zap = marker, drop {\n  read B[0]\n}",
        // Not run by the live backend:
        "dax D 2M align=2M", "check no_silent_write", "check no_lost_write", "dax D 2M align=2M\nexpect memmap D bytes=0",
        "expect guest_memfd Q[0] shared",
    ]

    /// The statements of a block tree, in order.
    static func flatten(_ list: [Statement]) -> [Statement] {
        list.flatMap { s -> [Statement] in
            switch s.kind {
            case .inProcess(_, let body), .thread(_, let body), .when(_, _, let body): return [s] + flatten(body)
            default: return [s]
            }
        }
    }

    func testTheLiveStatementListIsTheLiveBackends() {
        let prologueCount = Self.flatten(try! ScenarioParser.parse(Self.prologue, file: "p.mms").statements).count
        var seen: [String] = []
        for sample in Self.samples {
            let before = sample.hasPrefix("^")
            let text = before ? String(sample.dropFirst()) + "\n" + Self.prologue : Self.prologue + sample + "\n"
            guard case .success(let (scenario, _)) = MMLabSession.prepare(text, file: "sample.mms") else {
                XCTFail("the sample does not check:\n\(text)")
                continue
            }
            let all = Self.flatten(scenario.statements)
            let mine = before ? Array(all.prefix(all.count - prologueCount)) : Array(all.dropFirst(prologueCount))
            let items = mine.map(GeneratorCoverage.item)
            if LiveSession.statementRefusal(scenario) == nil {
                for i in items {
                    XCTAssertTrue(GeneratorCoverage.liveStatements.contains(i), "the live backend runs '\(i)', the generator's list lacks it")
                    seen.append(i)
                }
            } else if let i = items.last {
                XCTAssertFalse(GeneratorCoverage.liveStatements.contains(i), "the live backend refuses '\(i)', the generator's list has it")
            }
        }
        for item in GeneratorCoverage.liveStatements {
            XCTAssertTrue(seen.contains(item), "no sample of '\(item)' that the live backend runs")
        }
    }
}
