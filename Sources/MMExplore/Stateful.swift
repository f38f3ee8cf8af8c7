// SPDX-License-Identifier: Apache-2.0
//
// Stateful search: depth first with sleep sets, and a cache of the states explored
// (StateHash: the whole model state, the threads' positions and tasks, the checks'
// bookkeeping and the expectations failed so far), as TLC and SPIN keep one.
//
// Sleep sets and a cache do not combine naively. A state explored first with thread t
// asleep was not explored through t: the order that reaches it later may not cover t's
// continuation anywhere else, and skipping the state then loses those transitions. With the
// whole state hashed (the checks' bookkeeping included) no scenario has yet been found where
// that loses a state or a failure: ExploreScaleTests.testStatefulSearchAndTheCacheRule shows
// the naive rule (`--cache-rule naive`, hidden) reaching the same states on transact.mms with
// fewer steps, and 600 random three-thread scenarios gave the same verdicts. The rule here
// (Godefroid, "Partial-order methods for the verification of concurrent systems", LNCS 1032,
// §5.3): the cache keeps, per state, the sleep set it was explored with, H(s). Reached again
// with sleep set S, the state is skipped if H(s) ⊆ S; otherwise only the threads in H(s) \ S
// are explored from it (with S as the sleep set), and H(s) becomes H(s) ∩ S. A state still on
// the search stack (a cycle: the model has none, each step advances a thread or a task)
// stops that path and marks the search bounded.

import MMLab
import MMScenario

extension Explorer {
    /// The cache of one search: state hash → the sleep set (threads) it was explored with.
    struct StateCache {
        var sleepOf: [UInt64: [Int]] = [:]
        var onStack: Set<UInt64> = []
    }

    mutating func statefulSearch(_ runner: Runner, schedule: [Int], sleep: [Int]) {
        var cache = StateCache()
        statefulDFS(runner, schedule: schedule, sleep: sleep, cache: &cache)
        result.states.formUnion(cache.sleepOf.keys)
    }

    mutating func statefulDFS(_ runner: Runner, schedule: [Int], sleep: [Int], cache: inout StateCache) {
        guard budgetLeft else { result.exhaustive = false; return }
        guard schedule.count < Explorer.maxStepsPerExecution else {
            result.exhaustive = false
            result.bound = "an execution exceeded \(Explorer.maxStepsPerExecution) steps (a model bug)"
            return
        }
        let h = StateHash.hash(runner)
        if cache.onStack.contains(h) {
            result.exhaustive = false
            result.bound = "a state repeats along one execution (a cycle: a model bug)"
            return
        }
        let enabled = runner.enabledThreads()
        var toExplore: [Int]
        if let stored = cache.sleepOf[h] {
            result.statesRevisited += 1
            if options.cacheRule == .naive || stored.allSatisfy(sleep.contains) { return }
            toExplore = stored.filter { !sleep.contains($0) && enabled.contains($0) }
            cache.sleepOf[h] = stored.filter(sleep.contains)
        } else {
            if enabled.isEmpty || runner.fatal != nil {
                cache.sleepOf[h] = []
                record(runner, schedule: schedule)
                return
            }
            cache.sleepOf[h] = sleep
            toExplore = enabled.filter { !sleep.contains($0) }
        }
        if toExplore.isEmpty { result.sleepBlocked += 1; return }
        cache.onStack.insert(h)
        var asleep = sleep
        for t in toExplore {
            let fp = runner.nextFootprint(t)
            let child = step(runner, t, depth: schedule.count)
            let childSleep = asleep.filter { !runner.nextFootprint($0).conflicts(with: fp) }
            statefulDFS(child, schedule: schedule + [t], sleep: childSleep, cache: &cache)
            asleep.append(t)
            guard budgetLeft else { break }
        }
        cache.onStack.remove(h)
    }
}
