// SPDX-License-Identifier: Apache-2.0
//
// `mmlab explore`: every interleaving of a scenario's threads at the model's step
// boundaries (the runner steps a thread, Runner+Stepping.swift; this file only decides which
// thread runs next). Four searches share the code here: plain enumeration, sleep sets (a
// step independent of one already explored from the same state is not tried again in that
// order), optimal DPOR (DPOR.swift: one execution per Mazurkiewicz trace) and stateful search
// (sleep sets with a cache of the states explored, Stateful.swift); plus an optional
// preemption bound, or random sampling with a printed seed. Each complete execution is
// checked; the shortest failing schedule of each check is kept with a replay token.
// Partition.swift cuts the tree into parts that threads (`--jobs`) and shards explore.

import MMLab
import MMScenario
import MMSyntax

/// Which search `explore` runs.
public enum SearchMode: String, Sendable, CaseIterable {
    /// Every interleaving.
    case plain
    /// Depth first with sleep sets.
    case sleepSets = "sleep"
    /// Optimal DPOR: source sets and wakeup trees (Abdulla et al., POPL 2014).
    case dpor
}

/// How stateful search treats a state it has explored before.
public enum CacheRule: String, Sendable {
    /// Skip the state only if the sleep set it was explored with is a subset of the one it is
    /// reached with now; otherwise explore the threads that slept then and are awake now (the
    /// rule of Godefroid's thesis, LNCS 1032, §5.3).
    case sleepSubset
    /// Skip every state seen before, whatever its sleep set (unsound: kept to show what it
    /// misses, in a test).
    case naive
}

/// Options of `mmlab explore`.
public struct ExploreOptions: Sendable {
    /// The search.
    public var search: SearchMode = .dpor
    /// Partial-order reduction on (optimal DPOR) or off (plain enumeration).
    public var reduction: Bool {
        get { search != .plain }
        set { search = newValue ? .dpor : .plain }
    }
    /// Stateful search: sleep sets and a cache of the states explored.
    public var stateful = false
    public var cacheRule = CacheRule.sleepSubset
    /// At most this many preemptions (switching away from a thread that could go on).
    public var preemptionBound: Int? = nil
    /// Random sampling: this many executions, from `seed`.
    public var randomExecutions: Int? = nil
    public var seed: UInt64 = 1
    /// Stop after this many executions (the search is then reported as bounded). Each part
    /// of the tree gets an equal share, so that the result does not depend on `jobs`.
    public var maxExecutions = 2_000_000
    /// Also run plain enumeration, sleep sets and optimal DPOR and report their counts.
    public var measurePlainEnumeration = false
    /// Threads exploring parts of the tree at once (the result does not depend on it).
    public var jobs = 1
    /// This run explores part `shardIndex` of `shardCount` (0-based).
    public var shardIndex = 0
    public var shardCount = 1
    /// The model's invariants are checked during every `checkEvery`-th step (and always on
    /// the final state); 1 checks every step.
    public var checkEvery = 8
    public init() {}
}

/// The verdict of one check over all executions.
public struct CheckVerdict: Sendable {
    public var name: String
    public var failingExecutions = 0
    public var firstProblem = ""
    /// The shortest failing schedule (thread indices), if any; among the shortest, the first
    /// in the order of thread indices.
    public var shortest: [Int]?
}

/// The counts of the three stateless searches, for `--compare`.
public struct SearchCounts: Sendable, Equatable {
    public var plain = 0
    public var sleepSets = 0
    public var sleepSetsBlocked = 0
    public var dpor = 0
    public var dporBlocked = 0
    public var exhaustive = true
}

/// The result of an exploration.
public struct ExploreResult: Sendable {
    public var file: String
    public var threads: [String] = []
    public var search = SearchMode.dpor
    public var stateful = false
    /// Random sampling (`--sample`).
    public var sampled = false
    public var executions = 0
    /// Executions cut short because every runnable step was asleep (redundant orders).
    public var sleepBlocked = 0
    public var steps = 0
    public var exhaustive = true
    public var bound = ""
    public var distinctFinalStates: Int { finalStates.count }
    /// Hashes of the final states (StateHash's hasher over the fingerprint), for merging.
    public var finalStates: Set<UInt64> = []
    /// Stateful search: the states explored (hashes) and how often one was reached again.
    public var states: Set<UInt64> = []
    public var statesRevisited = 0
    public var verdicts: [CheckVerdict] = []
    /// Executions a plain enumeration would explore (measured without reduction), if known.
    public var plainExecutions: Int?
    /// The counts of every stateless search, when asked for.
    public var counts: SearchCounts?
    /// The parts the tree was cut into (Partition.swift), and which of them this result holds.
    public var parts = 1
    public var shardIndex = 0
    public var shardCount = 1
    /// Wakeup sequences whose next thread could not run when DPOR came to them (a sign of a
    /// footprint that misses an effect; 0 in every example).
    public var dporUnrunnable = 0
    /// PTE reads of the model over every execution explored (Kernel.costs), for tests of the
    /// work a walk does.
    public var pteReads = 0
}

/// A replay token: the thread chosen at each step, one base-36 digit each.
public enum ReplayToken {
    public static func encode(_ schedule: [Int]) -> String {
        "v1." + schedule.map { String($0, radix: 36) }.joined()
    }
    public static func decode(_ token: String) -> [Int]? {
        guard token.hasPrefix("v1.") else { return nil }
        var out: [Int] = []
        for c in token.dropFirst(3) {
            guard let d = Int(String(c), radix: 36) else { return nil }
            out.append(d)
        }
        return out
    }
}

/// Whether schedule `a` is a better counterexample than `b`: shorter, or as long and first
/// in the order of thread indices. The same rule everywhere, so that any cut of the tree
/// reports the same one.
func betterCounterexample(_ a: [Int], than b: [Int]?) -> Bool {
    guard let b else { return true }
    if a.count != b.count { return a.count < b.count }
    return a.lexicographicallyPrecedes(b)
}

/// Explores a scenario's executions.
struct Explorer {
    typealias Runner = ScenarioRunner<ModelBackend>
    let post: [Statement]
    let checks: [String]
    let options: ExploreOptions
    var result: ExploreResult
    /// The executions left to this part.
    var budget: Int

    init(post: [Statement], checks: [String], options: ExploreOptions, file: String) {
        self.post = post
        self.checks = checks
        self.options = options
        budget = options.maxExecutions
        result = ExploreResult(file: file)
        result.search = options.search
        result.stateful = options.stateful
        result.verdicts = (["expectations"] + checks).map { CheckVerdict(name: $0) }
    }

    var budgetLeft: Bool { result.executions < budget }
    /// The longest execution explored (far more than any scenario takes).
    static let maxStepsPerExecution = 5_000

    /// Thread `t` takes one step from `runner`, with the invariants checked during the step
    /// when its depth is a multiple of checkEvery.
    mutating func step(_ runner: Runner, _ t: Int, depth: Int) -> Runner {
        var child = runner
        let every = max(1, options.checkEvery)
        child.backend.kernel.internalChecks = every == 1 || (depth + 1) % every == 0
        _ = child.stepThread(t)
        result.steps += 1
        return child
    }

    /// Checks a complete execution. `canonical` is the schedule to report should it fail
    /// (by default the one run).
    mutating func record(_ runner: Runner, schedule: [Int], canonical: (() -> [Int])? = nil) {
        var r = runner
        r.backend.kernel.internalChecks = true
        let outcome = r.finishExecution(post: post, checks: checks)
        result.executions += 1
        result.pteReads += r.backend.kernel.costs.pteReads
        result.finalStates.insert(Explorer.fingerprint(r))
        var reported: [Int]? = nil
        for i in result.verdicts.indices {
            let problem = outcome.failures[result.verdicts[i].name] ?? ""
            guard !problem.isEmpty else { continue }
            result.verdicts[i].failingExecutions += 1
            // The canonical schedule only matters when it could win.
            if let s = result.verdicts[i].shortest, s.count < schedule.count { continue }
            if reported == nil { reported = canonical?() ?? schedule }
            if betterCounterexample(reported!, than: result.verdicts[i].shortest) {
                result.verdicts[i].shortest = reported
                result.verdicts[i].firstProblem = problem
            }
        }
    }

    /// Depth-first search with sleep sets (or none, for plain enumeration) and an optional
    /// preemption bound.
    mutating func dfs(_ runner: Runner, schedule: [Int], sleep: [Int], preemptions: Int, last: Int?) {
        guard budgetLeft else { result.exhaustive = false; return }
        guard schedule.count < Explorer.maxStepsPerExecution else {
            // No scenario needs this many steps: a kernel task of the model does not finish.
            result.exhaustive = false
            result.bound = "an execution exceeded \(Explorer.maxStepsPerExecution) steps (a model bug)"
            return
        }
        let enabled = runner.enabledThreads()
        if enabled.isEmpty || runner.fatal != nil {
            record(runner, schedule: schedule)
            return
        }
        let reduce = options.search != .plain
        var asleep = sleep
        var exploredAny = false
        for t in enabled {
            if reduce && asleep.contains(t) { continue }
            var p = preemptions
            if let l = last, l != t, enabled.contains(l) {
                p += 1
                if let bound = options.preemptionBound, p > bound {
                    result.exhaustive = false
                    continue
                }
            }
            exploredAny = true
            let fp = runner.nextFootprint(t)
            let child = step(runner, t, depth: schedule.count)
            let childSleep = reduce ? asleep.filter { !runner.nextFootprint($0).conflicts(with: fp) } : []
            dfs(child, schedule: schedule + [t], sleep: childSleep, preemptions: p, last: t)
            if reduce { asleep.append(t) }
            guard budgetLeft else { result.exhaustive = false; return }
        }
        if !exploredAny { result.sleepBlocked += 1 }
    }

    /// Random executions `range` of a sampling from `seed`: execution k draws its choices from
    /// its own generator, so that any cut of 0..<count explores the same executions.
    mutating func sample(_ start: Runner, range: Range<Int>, seed: UInt64, stride: Int = 1) {
        for k in Swift.stride(from: range.lowerBound, to: range.upperBound, by: stride) {
            var rng = SplitMix64(seed: seed &+ UInt64(k) &* 0xd1b5_4a32_d192_ed03)
            var runner = start
            var schedule: [Int] = []
            while runner.fatal == nil && schedule.count < Explorer.maxStepsPerExecution {
                let enabled = runner.enabledThreads()
                guard !enabled.isEmpty else { break }
                let t = enabled[Int(rng.next() % UInt64(enabled.count))]
                runner = step(runner, t, depth: schedule.count)
                schedule.append(t)
            }
            record(runner, schedule: schedule)
        }
        result.sampled = true
        result.exhaustive = false
    }
}
