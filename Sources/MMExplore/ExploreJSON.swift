// SPDX-License-Identifier: Apache-2.0
//
// `explore --json`: the result as one JSON object (verdicts, counts, counterexample
// schedules and replay tokens, and the hashes of the final states and states explored, so
// that shards merge exactly), and `explore --merge`: shards' results combined into what one
// run prints.

import Foundation
import MMLab
import MMScenario

/// Why a shard's result cannot be read.
struct UnreadableResult: Error {
    var message: String
}

extension MMLabSession {
    /// The JSON object of a result. `source` is the scenario's text, kept so that a merge
    /// can trace the counterexample and refuse results of different scenarios.
    static func exploreJSON(_ r: ExploreResult, source: String) -> JSON {
        func hashes(_ s: Set<UInt64>) -> JSON { .array(s.sorted().map { .string(String($0, radix: 16)) }) }
        var fields: [(String, JSON)] = [
            ("format", .string("mmlab-explore-1")),
            ("file", .string(r.file)),
            ("threads", .array(r.threads.map { .string($0) })),
            ("search", .string(r.search.rawValue)),
            ("stateful", .bool(r.stateful)),
            ("sampled", .bool(r.sampled)),
            ("shard", .array([.int(r.shardIndex), .int(r.shardCount)])),
            ("parts", .int(r.parts)),
            ("exhaustive", .bool(r.exhaustive)),
            ("bound", .string(r.bound)),
            ("executions", .int(r.executions)),
            ("sleep_blocked", .int(r.sleepBlocked)),
            ("steps", .int(r.steps)),
            ("distinct_final_states", .int(r.distinctFinalStates)),
            ("distinct_states", .int(r.states.count)),
            ("states_revisited", .int(r.statesRevisited)),
            ("dpor_unrunnable", .int(r.dporUnrunnable)),
            ("pte_reads", .int(r.pteReads)),
        ]
        fields.append(("verdicts", .array(r.verdicts.map { v in
            var o: [(String, JSON)] = [("check", .string(v.name)), ("holds", .bool(v.failingExecutions == 0)),
                                       ("failing_executions", .int(v.failingExecutions))]
            if let s = v.shortest {
                o += [("problem", .string(v.firstProblem)), ("schedule", .array(s.map { .int($0) })),
                      ("replay_token", .string(ReplayToken.encode(s)))]
            }
            return .object(o)
        })))
        if let c = r.counts {
            fields.append(("counts", .object([("plain", .int(c.plain)), ("sleep_sets", .int(c.sleepSets)),
                                              ("sleep_sets_blocked", .int(c.sleepSetsBlocked)), ("dpor", .int(c.dpor)),
                                              ("dpor_blocked", .int(c.dporBlocked)), ("exhaustive", .bool(c.exhaustive))])))
        }
        fields.append(("final_state_hashes", hashes(r.finalStates)))
        fields.append(("state_hashes", hashes(r.states)))
        fields.append(("source", .string(source)))
        return .object(fields)
    }

    /// One shard's result read back, with the scenario's text.
    static func readExploreJSON(_ text: String, name: String) -> Result<(ExploreResult, String), UnreadableResult> {
        guard let data = text.data(using: .utf8),
              let any = try? JSONSerialization.jsonObject(with: data), let o = any as? [String: Any] else {
            return .failure(UnreadableResult(message: "\(name): error: expected the JSON object of `mmlab explore --json`, found text that is not JSON"))
        }
        guard o["format"] as? String == "mmlab-explore-1" else {
            return .failure(UnreadableResult(message: "\(name): error: expected \"format\": \"mmlab-explore-1\", found \(o["format"].map { "\($0)" } ?? "no format")"))
        }
        func int(_ k: String) -> Int { (o[k] as? NSNumber)?.intValue ?? 0 }
        func hashes(_ k: String) -> Set<UInt64> { Set((o[k] as? [String] ?? []).compactMap { UInt64($0, radix: 16) }) }
        guard let file = o["file"] as? String, let source = o["source"] as? String,
              let search = SearchMode(rawValue: o["search"] as? String ?? ""),
              let shard = o["shard"] as? [NSNumber], shard.count == 2 else {
            return .failure(UnreadableResult(message: "\(name): error: expected the fields file, source, search and shard, found some missing"))
        }
        var r = ExploreResult(file: file)
        r.threads = o["threads"] as? [String] ?? []
        r.search = search
        r.stateful = o["stateful"] as? Bool ?? false
        r.sampled = o["sampled"] as? Bool ?? false
        r.shardIndex = shard[0].intValue
        r.shardCount = shard[1].intValue
        r.parts = int("parts")
        r.exhaustive = o["exhaustive"] as? Bool ?? false
        r.bound = o["bound"] as? String ?? ""
        r.executions = int("executions")
        r.sleepBlocked = int("sleep_blocked")
        r.steps = int("steps")
        r.statesRevisited = int("states_revisited")
        r.dporUnrunnable = int("dpor_unrunnable")
        r.pteReads = int("pte_reads")
        r.finalStates = hashes("final_state_hashes")
        r.states = hashes("state_hashes")
        for v in o["verdicts"] as? [[String: Any]] ?? [] {
            var cv = CheckVerdict(name: v["check"] as? String ?? "")
            cv.failingExecutions = (v["failing_executions"] as? NSNumber)?.intValue ?? 0
            cv.firstProblem = v["problem"] as? String ?? ""
            cv.shortest = (v["schedule"] as? [NSNumber])?.map(\.intValue)
            r.verdicts.append(cv)
        }
        if let c = o["counts"] as? [String: Any] {
            func ci(_ k: String) -> Int { (c[k] as? NSNumber)?.intValue ?? 0 }
            r.counts = SearchCounts(plain: ci("plain"), sleepSets: ci("sleep_sets"), sleepSetsBlocked: ci("sleep_sets_blocked"),
                                    dpor: ci("dpor"), dporBlocked: ci("dpor_blocked"), exhaustive: c["exhaustive"] as? Bool ?? false)
            r.plainExecutions = r.counts?.plain
        }
        return .success((r, source))
    }

    /// `mmlab explore --merge RESULTS…`: the shards' results (name, text) combined; printed as
    /// one run of the whole tree prints it (text, or JSON with `json`).
    public static func mergeExplore(_ inputs: [(name: String, text: String)], json: Bool = false) -> CommandOutcome {
        var shards: [(ExploreResult, String, String)] = []
        for (name, text) in inputs {
            switch readExploreJSON(text, name: name) {
            case .failure(let e): return CommandOutcome(output: e.message + "\n", status: 2)
            case .success(let (r, source)): shards.append((r, source, name))
            }
        }
        guard let (first, source, firstName) = shards.first else {
            return CommandOutcome(output: "error: expected shard results to merge (files written by explore --shard i/N --json), found none\n", status: 2)
        }
        let n = first.shardCount
        var seen = [Bool](repeating: false, count: n)
        for (r, s, name) in shards {
            if s != source || r.file != first.file {
                return CommandOutcome(output: "\(name): error: expected a result of \(first.file) (as in \(firstName)), found one of \(r.file) or of another text\n", status: 2)
            }
            if r.shardCount != n || r.search != first.search || r.stateful != first.stateful || r.sampled != first.sampled
                || r.parts != first.parts || r.shardIndex < 0 || r.shardIndex >= n {
                return CommandOutcome(output: "\(name): error: expected shard i/\(n) of the same search as \(firstName), found shard \(r.shardIndex)/\(r.shardCount) of \(r.stateful ? "stateful " : "")\(r.search.rawValue)\n", status: 2)
            }
            if seen[r.shardIndex] {
                return CommandOutcome(output: "\(name): error: expected each shard once, found shard \(r.shardIndex)/\(n) again\n", status: 2)
            }
            seen[r.shardIndex] = true
        }
        if let missing = seen.firstIndex(of: false) {
            return CommandOutcome(output: "error: expected all \(n) shards, found no result of shard \(missing)/\(n)\n", status: 2)
        }
        var total = first
        total.shardIndex = 0
        total.shardCount = 1
        for (r, _, _) in shards.dropFirst() { total.merge(r) }
        if let c = first.counts {
            var sum = c
            for (r, _, _) in shards.dropFirst() {
                guard let o = r.counts else { continue }
                sum.plain += o.plain; sum.sleepSets += o.sleepSets; sum.sleepSetsBlocked += o.sleepSetsBlocked
                sum.dpor += o.dpor; sum.dporBlocked += o.dporBlocked; sum.exhaustive = sum.exhaustive && o.exhaustive
            }
            total.counts = sum
            total.plainExecutions = sum.plain
        }
        switch exploreStart(source, file: first.file) {
        case .failure(let d): return .diagnostic(d, file: first.file, json: false)
        case .success(let (runner, _, _)):
            let text = render(total, runner: runner)
            if json { return CommandOutcome(output: exploreJSON(total, source: source).rendered + "\n", status: text.status) }
            return text
        }
    }
}
