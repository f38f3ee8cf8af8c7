// SPDX-License-Identifier: Apache-2.0
//
// The minimiser, and — as root on Linux — the random differential test: a few hundred
// generated scenarios on the model and on the kernel, the first disagreement minimised.
//
// Environment: MMLAB_RANDOM_COUNT (default 300) and MMLAB_RANDOM_SEED (default 1; scenario i
// uses seed+i, so `mmlab diff --random 1 --seed S` reproduces any one of them).

import Foundation
import MMScenario
import XCTest
import MMLab
import MMGenerator
@testable import MMLive

final class ScenarioMinimiserTests: XCTestCase {
    let source = """
    # a comment
    scenario "m"
    memfd F 8p
    mmap A anon private rw 8p
    mmap B F shared rw
    write A[0..3] = 0x1   # stores
    fork c1
    in c1 {
      read A[1]
      write B[2] = 0x5
      read B[3]
    }
    read A[2] -> SIGSEGV
    pagemap B[0]
    """

    func testItemsKeepBlocksAndDropComments() {
        let items = ScenarioMinimiser.items(source)
        XCTAssertEqual(items.count, 9)
        XCTAssertEqual(ScenarioMinimiser.render(items).split(separator: "\n").first, "scenario \"m\"")
        XCTAssertTrue(ScenarioMinimiser.render(items).contains("write A[0..3] = 0x1\n"))
        guard case .block(let h, let body, let f) = items[6] else { return XCTFail("a block") }
        XCTAssertEqual(h, "in c1 {")
        XCTAssertEqual(body.count, 3)
        XCTAssertEqual(f, "}")
    }

    /// A predicate that needs the write to B inside the child (and what it depends on): the
    /// minimiser keeps exactly that, and simplifies the lines it can.
    func testMinimisesToWhatThePredicateNeeds() {
        var calls = 0
        let result = ScenarioMinimiser.minimise(source) { text in
            calls += 1
            guard case .success = MMLabSession.prepare(text, file: "m.mms") else { return false }
            return text.contains("write B[2] = 0x5") && text.contains("read A[2]")
        }
        XCTAssertEqual(result, """
        memfd F 8p
        mmap A anon private rw 8p
        mmap B F shared rw
        fork c1
        in c1 {
          write B[2] = 0x5
        }
        read A[2]

        """)
        XCTAssertLessThan(calls, 200)
    }

    func testTheBudgetBoundsTheWork() {
        var calls = 0
        _ = ScenarioMinimiser.minimise(source, budget: 5) { _ in calls += 1; return false }
        XCTAssertLessThanOrEqual(calls, 5)
    }
}

/// Needs root on Linux.
final class RandomDifferentialTests: XCTestCase {
    override func setUpWithError() throws {
        if let why = LiveSession.hostRefusal() {
            print("live tests skipped: \(why)")
            throw XCTSkip("live tests skipped: \(why)")
        }
    }

    func testRandomScenariosAgreeWithTheKernel() throws {
        let env = ProcessInfo.processInfo.environment
        let count = env["MMLAB_RANDOM_COUNT"].flatMap { Int($0) } ?? 300
        let seed = env["MMLAB_RANDOM_SEED"].flatMap { UInt64($0) } ?? 1
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mmlab-random-test-\(ProcessInfo.processInfo.processIdentifier)").path
        let pageCluster = readSmallFile("/proc/sys/vm/page-cluster")
        let started = Date()
        let report = RandomDiff.run(count: count, seed: seed, directory: directory)
        print(report.summary + String(format: " (%.1f s)", Date().timeIntervalSince(started)))
        if let (s, n) = report.coverage.leastUsedStatement, let ((a, b), k) = report.coverage.leastPair {
            print("coverage: least used statement \(s) (\(n) of \(count)), least frequent pair \(a) × \(b) (\(k))")
        }
        if report.firstDifference != nil || report.firstError != nil { print(report.text) }
        XCTAssertEqual(report.agree + report.differ + report.skipped + report.errors, count)
        XCTAssertEqual(report.skipped, 0, "a generated scenario was skipped: the generator used something the live backend refuses")
        if let e = report.firstError {
            XCTFail("generator error (seed \(e.seed)): \(e.message)")
        }
        if let m = report.minimal, let f = report.firstDifference {
            XCTFail("seed \(f.seed) differs (\(report.differ) of \(count) differ); minimal scenario in \(m.path):\n\(m.source)")
        }
        XCTAssertEqual(readSmallFile("/proc/sys/vm/page-cluster"), pageCluster, "vm.page-cluster is restored")
    }
}
