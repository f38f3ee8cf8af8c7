// SPDX-License-Identifier: Apache-2.0
//
// Cutting the tree of executions into parts that run anywhere: the top of the tree (sleep
// sets; nothing for plain enumeration) is explored to the first depth that has at least
// `partTarget` prefixes, each prefix with its sleep set is a part, and a part is explored
// by the chosen search from its prefix. The cut depends on the scenario and the options
// only, never on how many threads (`--jobs`) or shards run the parts, and results merge by
// sums, unions of hashes and the one counterexample order (betterCounterexample), so every
// way of running the parts gives the same verdicts, counts and counterexample.

import Dispatch
import Foundation
import MMLab
import MMScenario
import MMSyntax

/// One part of the tree: a prefix and the threads asleep after it.
struct TreePart: Sendable, Equatable {
    var schedule: [Int]
    var sleep: [Int]
}

/// The cut of the tree.
struct TreeCut {
    var parts: [TreePart] = []
    /// What exploring the top of the tree cost and found (counted once, by shard 0).
    var steps = 0
    var sleepBlocked = 0
    var states: Set<UInt64> = []
    var reachedDepth = false
}

extension Explorer {
    /// How many parts the tree is cut into (fewer when the execution budget is small).
    static func partTarget(_ options: ExploreOptions) -> Int { max(1, min(32, options.maxExecutions / 4)) }

    /// The prefixes of depth `depth` (or shorter, complete executions) of the sleep-set tree.
    static func cut(_ start: Runner, options: ExploreOptions) -> TreeCut {
        let target = partTarget(options)
        var depth = 0
        while true {
            var c = TreeCut()
            collect(start, schedule: [], sleep: [], depth: depth, options: options, into: &c)
            if c.parts.count >= target || !c.reachedDepth || depth >= 12 { return c }
            depth += 1
        }
    }

    static func collect(_ runner: Runner, schedule: [Int], sleep: [Int], depth: Int, options: ExploreOptions, into c: inout TreeCut) {
        if options.stateful { c.states.insert(StateHash.hash(runner)) }
        let enabled = runner.enabledThreads()
        if schedule.count == depth || enabled.isEmpty || runner.fatal != nil {
            if schedule.count == depth && !enabled.isEmpty { c.reachedDepth = true }
            if options.stateful { c.states.remove(StateHash.hash(runner)) }
            c.parts.append(TreePart(schedule: schedule, sleep: sleep))
            return
        }
        let reduce = options.search != .plain || options.stateful
        var asleep = sleep
        var any = false
        for t in enabled where !(reduce && asleep.contains(t)) {
            any = true
            let fp = runner.nextFootprint(t)
            let child = stepped(runner, t, depth: schedule.count, options: options)
            c.steps += 1
            let childSleep = reduce ? asleep.filter { !runner.nextFootprint($0).conflicts(with: fp) } : []
            collect(child, schedule: schedule + [t], sleep: childSleep, depth: depth, options: options, into: &c)
            if reduce { asleep.append(t) }
        }
        if !any { c.sleepBlocked += 1 }
    }

    /// `runner` after one step of `t`, with the invariants checked as Explorer.step() does.
    static func stepped(_ runner: Runner, _ t: Int, depth: Int, options: ExploreOptions) -> Runner {
        var child = runner
        let every = max(1, options.checkEvery)
        child.backend.kernel.internalChecks = every == 1 || (depth + 1) % every == 0
        _ = child.stepThread(t)
        return child
    }

    /// Explores one part from the start state.
    mutating func explore(part: TreePart, from start: Runner) {
        var runner = start
        var events: [DPOREvent] = []
        for t in part.schedule {
            let enabled = runner.enabledThreads()
            let fp = runner.nextFootprint(t)
            let child = Explorer.stepped(runner, t, depth: events.count, options: options)
            let after = child.enabledThreads()
            let toggled = runner.threadNames.indices.filter { $0 != t && enabled.contains($0) != after.contains($0) }
            events.append(DPOREvent(thread: t, footprint: fp, toggled: toggled, enabledBefore: enabled))
            runner = child
        }
        if options.stateful {
            statefulSearch(runner, schedule: part.schedule, sleep: part.sleep)
            return
        }
        switch options.search {
        case .plain, .sleepSets: dfs(runner, schedule: part.schedule, sleep: part.sleep, preemptions: 0, last: nil)
        case .dpor: dpor(runner, prefix: part.schedule, prefixEvents: events, sleep: part.sleep)
        }
    }
}

extension ExploreResult {
    /// Adds another part's result to this one.
    mutating func merge(_ o: ExploreResult) {
        executions += o.executions
        sleepBlocked += o.sleepBlocked
        steps += o.steps
        if !o.exhaustive {
            exhaustive = false
            if bound.isEmpty { bound = o.bound }
        }
        finalStates.formUnion(o.finalStates)
        states.formUnion(o.states)
        statesRevisited += o.statesRevisited
        dporUnrunnable += o.dporUnrunnable
        pteReads += o.pteReads
        for (i, v) in o.verdicts.enumerated() where i < verdicts.count {
            verdicts[i].failingExecutions += v.failingExecutions
            if let s = v.shortest, betterCounterexample(s, than: verdicts[i].shortest) {
                verdicts[i].shortest = s
                verdicts[i].firstProblem = v.firstProblem
            }
        }
    }
}

/// Results of parts explored by several threads, kept in part order.
final class PartResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [Int: ExploreResult] = [:]
    func set(_ k: Int, _ r: ExploreResult) { lock.lock(); results[k] = r; lock.unlock() }
    func get(_ k: Int) -> ExploreResult? { lock.lock(); defer { lock.unlock() }; return results[k] }
}

extension MMLabSession {
    /// One part explored from the start state, within its share of the budget.
    static func explorePart(_ part: TreePart, start: ScenarioRunner<ModelBackend>, post: [Statement], checks: [String],
                            options: ExploreOptions, file: String, share: Int, count: Int) -> ExploreResult {
        var ex = Explorer(post: post, checks: checks, options: options, file: file)
        ex.budget = share
        ex.explore(part: part, from: start)
        if !ex.result.exhaustive && ex.result.bound.isEmpty {
            ex.result.bound = "stopped after \(options.maxExecutions) executions (\(share) in each of \(count) parts)"
        }
        return ex.result
    }

    /// The exhaustive search of `options` (parts of this shard, on `options.jobs` threads).
    static func searchTree(source: String, file: String, start: ScenarioRunner<ModelBackend>, post: [Statement],
                           checks: [String], options: ExploreOptions) -> ExploreResult {
        let cut = Explorer.cut(start, options: options)
        let share = max(1, options.maxExecutions / max(1, cut.parts.count))
        var result = Explorer(post: post, checks: checks, options: options, file: file).result
        result.threads = start.threadNames
        result.parts = cut.parts.count
        result.shardIndex = options.shardIndex
        result.shardCount = options.shardCount
        if options.shardIndex == 0 {
            result.steps += cut.steps
            result.sleepBlocked += cut.sleepBlocked
            result.states.formUnion(cut.states)
        }
        let mine = cut.parts.indices.filter { $0 % max(1, options.shardCount) == options.shardIndex }
        let jobs = max(1, min(options.jobs, mine.count))
        let parts = cut.parts
        if jobs <= 1 {
            for k in mine { result.merge(explorePart(parts[k], start: start, post: post, checks: checks, options: options, file: file, share: share, count: parts.count)) }
            return result
        }
        let box = PartResults()
        DispatchQueue.concurrentPerform(iterations: jobs) { j in
            // Each thread has its own runner: nothing of the model is shared between threads.
            guard case .success(let (runner, post, checks)) = exploreStart(source, file: file) else { return }
            for (n, k) in mine.enumerated() where n % jobs == j {
                box.set(k, explorePart(parts[k], start: runner, post: post, checks: checks, options: options, file: file, share: share, count: parts.count))
            }
        }
        for k in mine {
            guard let r = box.get(k) else {
                result.exhaustive = false
                result.bound = "a part could not be explored"
                continue
            }
            result.merge(r)
        }
        return result
    }
}
