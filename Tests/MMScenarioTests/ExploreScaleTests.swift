// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest
@testable import MMExplore
@testable import MMScenario

/// The explorer at scale: optimal DPOR, stateful search, `--jobs` and shards give the
/// verdicts of plain enumeration on every race example, and the same output however the
/// tree is cut.
final class ExploreScaleTests: XCTestCase {
    /// Every race example, with its stated verdict.
    func raceExamples() throws -> [(path: String, text: String, fails: Bool)] {
        try exampleFiles().filter { $0.path.contains("/races/") }.map { url in
            let text = try String(contentsOf: url, encoding: .utf8)
            return (String(url.path.dropFirst(repositoryRoot.path.count + 1)), text, text.hasPrefix("# explore: fails"))
        }
    }

    func run(_ text: String, _ path: String, _ configure: (inout ExploreOptions) -> Void) throws -> (String, Int32, ExploreResult) {
        var o = ExploreOptions()
        configure(&o)
        let (out, status, r) = exploreTriple(source: text, file: path, options: o)
        return (out, status, try XCTUnwrap(r, out))
    }

    /// A failing race is found, and a holding one holds, with every search, with stateful
    /// search, with two jobs and as merged shards; every search reaches the final states plain
    /// enumeration reaches.
    func testEveryModeKeepsTheVerdictsAndFinalStatesOfPlainEnumeration() throws {
        for (path, text, fails) in try raceExamples() {
            let (plainOut, plainStatus, plain) = try run(text, path) { $0.search = .plain; $0.jobs = 1 }
            XCTAssertEqual(plainStatus, fails ? 1 : 0, plainOut)
            XCTAssertTrue(plain.exhaustive, path)
            for (name, configure) in [("dpor", { (o: inout ExploreOptions) in o.search = .dpor }),
                                      ("sleep", { (o: inout ExploreOptions) in o.search = .sleepSets }),
                                      ("stateful", { (o: inout ExploreOptions) in o.stateful = true }),
                                      ("dpor, 2 jobs", { (o: inout ExploreOptions) in o.jobs = 2 }),
                                      ("dpor, invariants every step", { (o: inout ExploreOptions) in o.checkEvery = 1 })] {
                let (out, status, r) = try run(text, path, configure)
                XCTAssertEqual(status, plainStatus, "\(path), \(name):\n\(out)")
                XCTAssertEqual(r.finalStates, plain.finalStates, "\(path), \(name): final states differ from plain enumeration's")
                XCTAssertEqual(r.verdicts.map { $0.failingExecutions > 0 }, plain.verdicts.map { $0.failingExecutions > 0 }, "\(path), \(name)")
                XCTAssertEqual(r.dporUnrunnable, 0, "\(path), \(name)")
            }
            let merged = try mergedShards(text, path, count: 3) { _ in }
            XCTAssertEqual(merged.status, plainStatus, "\(path), shards:\n\(merged.output)")
        }
    }

    /// Optimal DPOR runs one execution per Mazurkiewicz trace: as many complete executions as
    /// sleep sets (which never complete two of one trace), none cut short below the top of
    /// the tree, and far fewer than plain enumeration.
    func testOptimalDPORCounts() throws {
        for (path, text, _) in try raceExamples() {
            let (out, _, r) = try run(text, path) { $0.measurePlainEnumeration = true; $0.jobs = 1 }
            let c = try XCTUnwrap(r.counts, out)
            XCTAssertTrue(c.exhaustive, path)
            XCTAssertEqual(c.dpor, r.executions, path)
            XCTAssertLessThanOrEqual(c.dpor, c.sleepSets, path)
            XCTAssertLessThanOrEqual(c.dporBlocked, c.sleepSetsBlocked, path)
            XCTAssertLessThanOrEqual(c.sleepSets, c.plain, path)
            XCTAssertTrue(out.contains("executions by search: plain \(c.plain), sleep sets \(c.sleepSets) (+\(c.sleepSetsBlocked) cut short), optimal DPOR \(c.dpor)"), out)
            if path.hasSuffix("/transact.mms") {
                XCTAssertEqual([c.plain, c.sleepSets, c.sleepSetsBlocked, c.dpor, c.dporBlocked], [54143, 9432, 10528, 9432, 0], out)
            }
            if path.hasSuffix("/transact-tables.mms") {
                XCTAssertEqual([c.plain, c.sleepSets, c.dpor], [7854, 720, 720], out)
                XCTAssertLessThan(c.dporBlocked * 10, c.sleepSetsBlocked, out)
                XCTAssertGreaterThanOrEqual(c.plain, 10 * c.dpor, out)
            }
        }
    }

    /// The output is the same for any number of jobs, in every search.
    func testJobsDoNotChangeTheOutput() throws {
        for path in ["examples/races/seed001-old-designs.mms", "examples/races/transact-tables.mms"] {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
            for mode in [SearchMode.dpor, .sleepSets, .plain] {
                for stateful in mode == .dpor ? [false, true] : [false] {
                    let (one, _, _) = try run(text, path) { $0.search = mode; $0.stateful = stateful; $0.jobs = 1 }
                    for jobs in [2, 3] {
                        let (many, _, _) = try run(text, path) { $0.search = mode; $0.stateful = stateful; $0.jobs = jobs }
                        XCTAssertEqual(one, many, "\(path), \(mode), stateful \(stateful), \(jobs) jobs")
                    }
                }
            }
        }
    }

    /// Shards explored one by one (as separate processes would) and merged print what one run
    /// prints, for the exhaustive searches and for random sampling.
    func mergedShards(_ text: String, _ path: String, count: Int, _ configure: (inout ExploreOptions) -> Void) throws -> CommandOutcome {
        var inputs: [(name: String, text: String)] = []
        for i in 0..<count {
            var o = ExploreOptions()
            configure(&o)
            o.shardIndex = i
            o.shardCount = count
            let out = MMLabSession.explore(source: text, file: path, options: o, json: true)
            XCTAssertNotEqual(out.status, 2, out.output)
            inputs.append(("shard\(i).json", out.output))
        }
        return MMLabSession.mergeExplore(inputs.reversed())
    }

    func testMergedShardsPrintWhatOneRunPrints() throws {
        let path = "examples/races/seed001-old-designs.mms"
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        for (name, configure) in [("dpor", { (_: inout ExploreOptions) in }),
                                  ("sleep", { (o: inout ExploreOptions) in o.search = .sleepSets }),
                                  ("stateful", { (o: inout ExploreOptions) in o.stateful = true }),
                                  ("sample", { (o: inout ExploreOptions) in o.randomExecutions = 25; o.seed = 7 })] {
            var o = ExploreOptions()
            configure(&o)
            let whole = MMLabSession.explore(source: text, file: path, options: o)
            XCTAssertEqual(whole.status, 1, whole.output)
            for count in [2, 5] {
                let merged = try mergedShards(text, path, count: count, configure)
                XCTAssertEqual(merged.output, whole.output, "\(name), \(count) shards")
                XCTAssertEqual(merged.status, whole.status)
            }
        }
    }

    func testMergeRefusesMissingRepeatedOrForeignShards() throws {
        let path = "examples/races/seed001-618.mms"
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        func shard(_ i: Int, _ n: Int, _ source: String = "") -> (name: String, text: String) {
            var o = ExploreOptions()
            o.shardIndex = i
            o.shardCount = n
            return ("s\(i).json", MMLabSession.explore(source: source.isEmpty ? text : source, file: path, options: o, json: true).output)
        }
        let missing = MMLabSession.mergeExplore([shard(0, 3), shard(2, 3)])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.output, "error: expected all 3 shards, found no result of shard 1/3\n")
        let twice = MMLabSession.mergeExplore([shard(0, 2), shard(0, 2)])
        XCTAssertEqual(twice.output, "s0.json: error: expected each shard once, found shard 0/2 again\n")
        let other = MMLabSession.mergeExplore([shard(0, 2), shard(1, 2, text + "\n# changed\n")])
        XCTAssertEqual(other.status, 2)
        XCTAssertTrue(other.output.hasPrefix("s1.json: error: expected a result of \(path)"), other.output)
        let notJSON = MMLabSession.mergeExplore([("x.json", "hello")])
        XCTAssertEqual(notJSON.output, "x.json: error: expected the JSON object of `mmlab explore --json`, found text that is not JSON\n")
    }

    /// `explore --json`: verdicts, counts, the counterexample's schedule and replay token, which
    /// replays to the same failure.
    func testJSONResult() throws {
        let path = "examples/races/seed001-old-designs.mms"
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        let out = MMLabSession.explore(source: text, file: path, json: true)
        XCTAssertEqual(out.status, 1)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(out.output.utf8)) as? [String: Any])
        XCTAssertEqual(o["search"] as? String, "dpor")
        XCTAssertEqual(o["executions"] as? Int, 26)
        XCTAssertEqual(o["exhaustive"] as? Bool, true)
        XCTAssertEqual(o["distinct_final_states"] as? Int, 6)
        let verdicts = try XCTUnwrap(o["verdicts"] as? [[String: Any]])
        let v = try XCTUnwrap(verdicts.first { $0["check"] as? String == "no_silent_write" })
        XCTAssertEqual(v["holds"] as? Bool, false)
        let token = try XCTUnwrap(v["replay_token"] as? String)
        XCTAssertEqual(ReplayToken.decode(token), v["schedule"] as? [Int])
        let replay = MMLabSession.replay(source: text, file: path, token: token)
        XCTAssertEqual(replay.status, 1, replay.output)
        XCTAssertTrue(replay.output.contains("check no_silent_write: FAILS"), replay.output)
    }

    /// Stateful search: the states explored are reported; Godefroid's rule (a state is skipped
    /// only when it was explored with a subset of the current sleep set) explores again the
    /// transitions a naive cache skips. The naive cache still reaches every state here (with
    /// the whole state hashed, sleep sets keep every state reachable; they lose transitions),
    /// so its verdicts are the same: what it loses is the steps counted below.
    func testStatefulSearchAndTheCacheRule() throws {
        let path = "examples/races/transact.mms"
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        let (out, status, rule) = try run(text, path) { $0.stateful = true; $0.jobs = 1 }
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("states: \(rule.states.count) distinct, \(rule.statesRevisited) reached again"), out)
        XCTAssertGreaterThan(rule.statesRevisited, 0)
        XCTAssertEqual(rule.distinctFinalStates, 10)
        let (_, naiveStatus, naive) = try run(text, path) { $0.stateful = true; $0.cacheRule = .naive; $0.jobs = 1 }
        XCTAssertEqual(naiveStatus, status)
        XCTAssertEqual(naive.states, rule.states)
        XCTAssertLessThan(naive.steps, rule.steps, "the rule re-explores transitions that slept at the first visit")
        // A failing race is found by stateful search, with the failing schedule replayable.
        let failing = "examples/races/seed001-old-designs.mms"
        let ftext = try String(contentsOf: repositoryRoot.appendingPathComponent(failing), encoding: .utf8)
        let (fout, fstatus, fr) = try run(ftext, failing) { $0.stateful = true }
        XCTAssertEqual(fstatus, 1, fout)
        let schedule = try XCTUnwrap(fr.verdicts.first { $0.name == "no_silent_write" }?.shortest)
        XCTAssertEqual(MMLabSession.replay(source: ftext, file: failing, token: ReplayToken.encode(schedule)).status, 1)
    }

    /// The state hash is the same in every process (shards merge their sets) and tells apart
    /// states that differ in a page's content.
    func testStateHashIsStableAndSeesContents() throws {
        let path = "examples/races/seed001-618.mms"
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
        guard case .success(let (start, _, _)) = MMLabSession.exploreStart(text, file: path) else { return XCTFail("set-up failed") }
        var a = start, b = start
        XCTAssertEqual(StateHash.hash(a), StateHash.hash(b))
        _ = a.stepThread(2)   // the writer's store
        XCTAssertNotEqual(StateHash.hash(a), StateHash.hash(b))
        _ = b.stepThread(2)
        XCTAssertEqual(StateHash.hash(a), StateHash.hash(b))
    }
}
