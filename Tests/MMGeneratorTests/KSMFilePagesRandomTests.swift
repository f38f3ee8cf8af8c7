// SPDX-License-Identifier: Apache-2.0
//
// Random scenarios under `design ksm.file_pages = on`: the differential generator's scenarios
// (anonymous and memfd mappings, writes, reads, madvise, punch, fork, mprotect, munmap,
// userfaultfd write-protection) with every mapping advised mergeable and a KSM scan after
// every few statements, so that merged page-cache pages meet every other path. The model must
// keep its invariants (refcounts, mapcounts, page caches and aliases, rss) after every
// operation and must not leak, and the generator's predicted outcomes must still hold.

import Foundation
import MMScenario
import XCTest
import MMGenerator

final class KSMFilePagesRandomTests: XCTestCase {
    /// The generated scenario with KSM woven in: mergeable after each top-level mmap, a scan
    /// after every fourth top-level statement, the invariants checked throughout.
    static func withKSM(_ text: String) -> String {
        // The generator's own design and kconfig lines come first; KSM's set-up follows them.
        var out = ["design ksm.file_pages = on"]
        var n = 0, started = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let setUp = line.hasPrefix("design ") || line.hasPrefix("kconfig ") || line.hasPrefix("scenario ")
                || line.hasPrefix("#") || line.isEmpty
            if !started && !setUp {
                out += ["check consistent", "ksm run"]
                started = true
            }
            out.append(line)
            guard started, !line.hasPrefix(" "), !line.hasSuffix("{"), !line.isEmpty, line != "}" else { continue }
            let words = line.split(separator: " ")
            // A mapping whose mmap is expected to fail has no pages to advise.
            if words.first == "mmap", words.count > 1, !line.contains("->") { out.append("madvise \(words[1]) mergeable") }
            n += 1
            if n % 4 == 0 { out.append("ksm scan 1") }
        }
        out.append("ksm scan 2")
        return out.joined(separator: "\n")
    }

    /// MMLAB_KSM_RANDOM_COUNT scenarios (default 80, about 20 s), from MMLAB_KSM_RANDOM_SEED
    /// (default 0).
    func testRandomScenariosKeepTheInvariants() {
        let env = ProcessInfo.processInfo.environment
        let count = UInt64(env["MMLAB_KSM_RANDOM_COUNT"] ?? "") ?? 80
        let first = UInt64(env["MMLAB_KSM_RANDOM_SEED"] ?? "") ?? 0
        var merged = 0
        for seed in first..<(first + count) {
            let text = Self.withKSM(ScenarioGenerator.generate(seed: seed))
            let outcome = MMLabSession.run(source: text, file: "ksm-random-\(seed).mms", options: RunOptions(stats: true, internalChecks: true))
            guard let report = outcome.report else {
                XCTFail("seed \(seed): \(outcome.output)\n\(text)")
                continue
            }
            XCTAssertNil(report.fatal, "seed \(seed) stopped: \(report.fatal.map { "\($0)" } ?? "")\n\(text)")
            XCTAssertEqual(report.problems, [], "seed \(seed)\n\(text)")
            for e in report.entries where e.statement.outcome != nil {
                for x in e.expectations where !x.met {
                    XCTFail("seed \(seed) line \(e.statement.location.line): \(e.statement.text): \(x.message)")
                }
            }
            if (report.costs?.slotStores ?? 0) > 0 { merged += 1 }
        }
        XCTAssertGreaterThan(merged, Int(count) / 10, "page-cache pages merged in too few scenarios to say anything")
    }
}
