// SPDX-License-Identifier: Apache-2.0
//
// The random scenario generator, without a kernel: deterministic; every generated scenario
// parses, passes the checker, runs to its end on the model with the invariants checked after
// every operation, never leaves a thread asleep, and meets every outcome it states and every
// expectation it writes; and the scenarios use every statement the live backend runs (each in
// at least 1 % of them) and every pair of features.
//
// Environment: MMLAB_GENERATOR_COUNT (default 2000) and MMLAB_GENERATOR_SEED (default 1).

import Foundation
import MMLab
import MMScenario
import MMSyntax
import XCTest
@testable import MMGenerator

/// Results gathered from concurrent runs.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(UInt64, String)] = []
    func add(_ seed: UInt64, _ problem: String) {
        lock.lock()
        items.append((seed, problem))
        lock.unlock()
    }
    var sorted: [(UInt64, String)] {
        lock.lock()
        defer { lock.unlock() }
        return items.sorted { $0.0 < $1.0 }
    }
}

final class ScenarioGeneratorTests: XCTestCase {
    var count: Int { ProcessInfo.processInfo.environment["MMLAB_GENERATOR_COUNT"].flatMap { Int($0) } ?? 2000 }
    var firstSeed: UInt64 { ProcessInfo.processInfo.environment["MMLAB_GENERATOR_SEED"].flatMap { UInt64($0) } ?? 1 }

    func testSplitMix64IsTheReferenceSequence() {
        // The first outputs of SplitMix64 from seed 0 (Vigna's reference implementation).
        var r = SplitMix64(seed: 0)
        XCTAssertEqual(r.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(r.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(r.next(), 0x06C4_5D18_8009_454F)
        for n in [1, 2, 3, 7, 100] {
            for _ in 0..<200 { XCTAssertLessThan(r.below(n), n) }
        }
    }

    func testTheSameSeedGivesTheSameScenario() {
        for seed: UInt64 in [0, 1, 42, 0xFFFF_FFFF_FFFF_FFFF] {
            XCTAssertEqual(ScenarioGenerator.generate(seed: seed), ScenarioGenerator.generate(seed: seed))
        }
        XCTAssertNotEqual(ScenarioGenerator.generate(seed: 1), ScenarioGenerator.generate(seed: 2))
    }

    /// What is wrong with one generated scenario on the model, if anything.
    static func problems(seed: UInt64) -> [String] {
        let text = ScenarioGenerator.generate(seed: seed)
        let file = "random-\(seed).mms"
        if case .failure(let d) = MMLabSession.prepare(text, file: file) { return ["does not check: \(d)"] }
        let out = MMLabSession.run(source: text, file: file, options: RunOptions(internalChecks: true))
        guard let report = out.report else { return ["did not run: \(out.output)"] }
        var problems: [String] = []
        if let f = report.fatal { problems.append("stopped: \(f)") }
        problems += report.sleeping.map { "left asleep: \($0)" }
        problems += report.problems.map { "model: \($0)" }
        // Every stated outcome (-> SIGSEGV, -> EEXIST…) and every expectation (expect event,
        // expect pagemap…, join) is the generator's prediction, or for expect ksm the model's
        // own values: all hold on the model.
        for e in report.entries {
            for x in e.expectations where !x.met {
                problems.append("line \(e.statement.location.line): \(e.statement.text): \(x.message)")
            }
        }
        return problems
    }

    /// Every generated scenario is valid on the model (see the file comment); two at a time.
    func testGeneratedScenariosAreValidOnTheModel() {
        let n = count, first = firstSeed
        let bad = Collected()
        let started = Date()
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let seed = first &+ UInt64(i)
            for p in Self.problems(seed: seed) { bad.add(seed, p) }
        }
        let list = bad.sorted
        var shown = Set<UInt64>()
        for (seed, p) in list where shown.count < 5 || shown.contains(seed) {
            if shown.insert(seed).inserted {
                XCTFail("seed \(seed) (\(list.filter { $0.0 == seed }.count) problem(s)):\n" + ScenarioGenerator.generate(seed: seed))
            }
            XCTFail("seed \(seed): \(p)")
        }
        print(String(format: "generator: %d scenarios from seed %llu valid on the model with invariants on (%.1f s)",
                     n, first, Date().timeIntervalSince(started)))
    }

    /// Every statement the live backend runs appears in at least 1 % of the scenarios, every
    /// pair of features meets (but for the pairs excluded by design), and nothing the live
    /// backend refuses appears.
    func testCoverageOfTheLanguage() {
        var coverage = GeneratorCoverage()
        for i in 0..<count { coverage.add(ScenarioGenerator.generate(seed: firstSeed &+ UInt64(i))) }
        print(coverage.text)
        XCTAssertEqual(coverage.unparsed, 0)
        for s in GeneratorCoverage.liveStatements {
            XCTAssertGreaterThanOrEqual(coverage.count(s) * 100, count, "'\(s)' is in \(coverage.count(s)) of \(count) scenarios")
        }
        for (a, b) in GeneratorCoverage.pairs {
            XCTAssertGreaterThan(coverage.count(a, b), 0, "no scenario uses both \(a) and \(b)")
        }
        for (a, b) in GeneratorCoverage.excludedPairs {
            XCTAssertEqual(coverage.count(a, b), 0, "\(a) and \(b) are excluded by design")
        }
        for refused in ["dax", "expect memmap", "check no_silent_write", "check no_lost_write"] {
            XCTAssertEqual(coverage.count(refused), 0, "the live backend does not run '\(refused)'")
        }
    }
}
