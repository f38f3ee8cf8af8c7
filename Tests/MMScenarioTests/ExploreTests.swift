// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest
@testable import MMScenario

/// `mmlab explore` and `mmlab replay`: races are found, absent races are not reported,
/// results and traces are reproducible.
final class ExploreTests: XCTestCase {
    func load(_ path: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
    }

    func explore(_ path: String, _ options: ExploreOptions = ExploreOptions()) throws -> (String, Int32, ExploreResult) {
        let (out, status, result) = MMLabSession.explore(source: try load(path), file: path, options: options)
        return (out, status, try XCTUnwrap(result, out))
    }

    func testFindsTheBugOfADeliberatelyBrokenDesign() throws {
        let (out, status, r) = try explore("Tests/MMScenarioTests/Fixtures/dontneed-drop.mms")
        XCTAssertEqual(status, 1, out)
        let v = try XCTUnwrap(r.verdicts.first { $0.name == "no_silent_write" })
        XCTAssertGreaterThan(v.failingExecutions, 0)
        XCTAssertTrue(out.contains("check no_silent_write: FAILS"), out)
        XCTAssertTrue(out.contains("replay token: v1."), out)
        XCTAssertTrue(r.exhaustive)
    }

    func testReportsNothingWhereNoRaceExists() throws {
        let (out, status, r) = try explore("Tests/MMScenarioTests/Fixtures/dontneed-618.mms")
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("check no_silent_write: holds on all \(r.executions) executions (exhaustive)"), out)
    }

    func testSeed001() throws {
        let (old, s1, _) = try explore("examples/races/seed001-old-designs.mms")
        XCTAssertEqual(s1, 1, old)
        XCTAssertTrue(old.contains("unmap_mapping_range"), old)
        XCTAssertTrue(old.contains("shmem_truncate_range"), old)
        let (new, s2, _) = try explore("examples/races/seed001-618.mms")
        XCTAssertEqual(s2, 0, new)
        let (armed, s3, _) = try explore("examples/races/seed001-skip-armed-drop.mms")
        XCTAssertEqual(s3, 1, "the 2020 patch alone does not close the hole:\n\(armed)")
    }

    func testResultsAreDeterministic() throws {
        let (a, _, _) = try explore("examples/races/seed001-old-designs.mms")
        let (b, _, _) = try explore("examples/races/seed001-old-designs.mms")
        XCTAssertEqual(a, b)
    }

    func testReplayReproducesTheTraceByteForByte() throws {
        let path = "examples/races/seed001-old-designs.mms"
        let (out, _, r) = try explore(path)
        let schedule = try XCTUnwrap(r.verdicts.first { $0.name == "no_silent_write" }?.shortest)
        let token = ReplayToken.encode(schedule)
        XCTAssertEqual(ReplayToken.decode(token), schedule)
        let (replay1, status1) = MMLabSession.replay(source: try load(path), file: path, token: token)
        let (replay2, _) = MMLabSession.replay(source: try load(path), file: path, token: token)
        XCTAssertEqual(status1, 1, replay1)
        XCTAssertEqual(replay1, replay2)
        // Every step line of the explore trace appears in the replay, in order.
        let exploreSteps = out.split(separator: "\n").filter { $0.contains("  —  ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        let replaySteps = replay1.split(separator: "\n").filter { $0.contains("  —  ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(exploreSteps, replaySteps)
        XCTAssertTrue(replay1.contains("check no_silent_write: FAILS"), replay1)
    }

    func testBadTokensAreRefused() throws {
        let path = "examples/races/seed001-618.mms"
        let (out, status) = MMLabSession.replay(source: try load(path), file: path, token: "nonsense")
        XCTAssertEqual(status, 2)
        XCTAssertTrue(out.contains("expected a replay token like v1.0121, found 'nonsense'"), out)
        let (out2, status2) = MMLabSession.replay(source: try load(path), file: path, token: "v1.9")
        XCTAssertEqual(status2, 2)
        XCTAssertTrue(out2.contains("cannot run here"), out2)
    }

    func testReductionExploresFewerExecutionsWithTheSameVerdicts() throws {
        var plain = ExploreOptions()
        plain.reduction = false
        let (_, _, full) = try explore("examples/races/seed001-old-designs.mms", plain)
        let (_, _, reduced) = try explore("examples/races/seed001-old-designs.mms")
        XCTAssertLessThan(reduced.executions, full.executions)
        XCTAssertEqual(reduced.verdicts.map { $0.failingExecutions > 0 }, full.verdicts.map { $0.failingExecutions > 0 })
        XCTAssertEqual(reduced.distinctFinalStates, full.distinctFinalStates)
    }

    func testBoundsAndSampling() throws {
        var bounded = ExploreOptions()
        bounded.preemptionBound = 0
        let (out, _, r) = try explore("examples/races/seed001-old-designs.mms", bounded)
        XCTAssertFalse(r.exhaustive)
        XCTAssertTrue(out.contains("bounded (preemption bound 0)"), out)
        var random = ExploreOptions()
        random.randomExecutions = 25
        random.seed = 7
        let (a, _, ra) = try explore("examples/races/seed001-old-designs.mms", random)
        let (b, _, _) = try explore("examples/races/seed001-old-designs.mms", random)
        XCTAssertEqual(ra.executions, 25)
        XCTAssertEqual(a, b, "the same seed gives the same executions")
        XCTAssertTrue(a.contains("seed 7"), a)
    }

    func testEveryRaceExampleHasItsStatedVerdict() throws {
        for url in exampleFiles() where url.path.contains("/races/") {
            let rel = String(url.path.dropFirst(repositoryRoot.path.count + 1))
            let text = try String(contentsOf: url, encoding: .utf8)
            let fails = text.hasPrefix("# explore: fails")
            XCTAssertTrue(fails || text.hasPrefix("# explore: holds"), "\(rel) states no verdict")
            let (out, status, _) = MMLabSession.explore(source: text, file: rel)
            XCTAssertEqual(status, fails ? 1 : 0, out)
        }
    }

    func testUffdStressInSmall() throws {
        let (out, status, _) = try explore("examples/races/uffd-stress-small.mms")
        XCTAssertEqual(status, 0, out)
    }
}
