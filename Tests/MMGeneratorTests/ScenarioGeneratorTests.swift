// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest
import MMLab
import MMScenario
@testable import MMGenerator

final class ScenarioGeneratorTests: XCTestCase {
    func testSameSeed() {
        XCTAssertEqual(ScenarioGenerator.generate(seed: 1), ScenarioGenerator.generate(seed: 1))
    }

    func testPrint() {
        guard let s = ProcessInfo.processInfo.environment["MMLAB_PRINT_SEED"].flatMap({ UInt64($0) }) else { return }
        print(ScenarioGenerator.generate(seed: s))
    }

    func testValid() {
        let env = ProcessInfo.processInfo.environment
        let n = env["MMLAB_GEN_COUNT"].flatMap { Int($0) } ?? 300
        var bad = 0
        let t0 = Date()
        var genTime = 0.0
        for seed in 0..<UInt64(n) {
            let g0 = Date()
            let text = ScenarioGenerator.generate(seed: seed)
            genTime += Date().timeIntervalSince(g0)
            let out = MMLabSession.run(source: text, file: "random-\(seed).mms", options: RunOptions(internalChecks: env["MMLAB_NO_CHECKS"] == nil))
            guard let report = out.report else { XCTFail("seed \(seed): \(out.output)\n\(text)"); bad += 1; continue }
            var problems: [String] = []
            if let f = report.fatal { problems.append("stopped: \(f)") }
            if !report.sleeping.isEmpty { problems.append("asleep: \(report.sleeping)") }
            problems += report.problems
            for e in report.entries {
                let isKSM = e.statement.text.hasPrefix("expect ksm")
                for x in e.expectations where !x.met {
                    if e.statement.outcome != nil || (e.statement.text.hasPrefix("expect") && !isKSM) || e.statement.text.hasPrefix("join") {
                        problems.append("line \(e.statement.location.line): \(e.statement.text): \(x.message)")
                    }
                }
            }
            if !problems.isEmpty {
                bad += 1
                if bad <= 5 { XCTFail("seed \(seed):\n" + problems.joined(separator: "\n") + "\n" + text) }
            }
        }
        print("bad: \(bad) of \(n), \(Date().timeIntervalSince(t0)) s, generation \(genTime) s")
    }
}

final class GenerationSpeedTests: XCTestCase {
    func testGenerationOnly() {
        guard let n = ProcessInfo.processInfo.environment["MMLAB_GEN_ONLY"].flatMap({ Int($0) }) else { return }
        let t0 = Date()
        for s in 0..<UInt64(n) { _ = ScenarioGenerator.generate(seed: s) }
        print("generated \(n) in \(Date().timeIntervalSince(t0)) s")
    }
}
