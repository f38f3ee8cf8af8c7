// SPDX-License-Identifier: Apache-2.0
//
// Optimal dynamic partial-order reduction (Abdulla, Aronis, Jonsson, Sagonas, "Optimal
// dynamic partial order reduction", POPL 2014, Algorithm 2): source sets and wakeup trees.
// Each complete execution is analysed for races (two steps of different threads that
// conflict, with nothing ordered between them); for each race the prefix before its first
// step gets a wakeup sequence that reverses it (notdep(e, E).e'), unless a thread asleep
// there already covers it (a weak initial of the sequence) or the wakeup tree already
// holds an equivalent one. Executions are then one per Mazurkiewicz trace of the dependence
// below, and none is cut short by sleep sets.
//
// Dependence: two steps of different threads depend on each other when their footprints
// conflict (the model's footprint(of:), what a step reads and writes), or when one changed
// whether the other's thread could run (a lock released, a uffd sleeper woken, a write
// lock now refused): the next step of a thread after a step that changed its runnability
// happens after that step. A race whose later step could only run because of the earlier
// one is not reversible.

import MMLab
import MMScenario

/// A step of the execution being explored, as the race analysis sees it.
struct DPOREvent {
    var thread: Int
    var footprint: Footprint
    /// Threads whose runnability this step changed.
    var toggled: [Int] = []
    /// The threads that could run before it.
    var enabledBefore: [Int] = []

    /// Whether two steps of different threads depend on each other, for wakeup sequences.
    func depends(on o: DPOREvent) -> Bool {
        thread != o.thread && (footprint.conflicts(with: o.footprint) || toggled.contains(o.thread) || o.toggled.contains(thread))
    }
}

/// A wakeup tree: ordered children, each a step with the tree of what follows it.
struct WakeupNode {
    var event: DPOREvent
    var children: [WakeupNode] = []
}

/// What the search keeps per prefix: its sleep set (with each sleeper's next footprint) and
/// wakeup tree.
struct DPORFrame {
    var sleep: [DPOREvent] = []
    var wakeup: [WakeupNode] = []
}

/// A set of event indices.
struct EventSet {
    var words: [UInt64]
    init(_ n: Int) { words = [UInt64](repeating: 0, count: (n + 63) / 64) }
    func contains(_ i: Int) -> Bool { words[i >> 6] & (1 << UInt64(i & 63)) != 0 }
    mutating func insert(_ i: Int) { words[i >> 6] |= 1 << UInt64(i & 63) }
    mutating func formUnion(_ o: EventSet) { for k in words.indices { words[k] |= o.words[k] } }
}

extension Explorer {
    /// Optimal DPOR from `runner`, reached by `prefix` (whose events are `prefixEvents`), with
    /// the sleep set `sleep` (threads). Races are reversed only within this subtree.
    mutating func dpor(_ runner: Runner, prefix: [Int], prefixEvents: [DPOREvent], sleep: [Int]) {
        var frames: [DPORFrame] = Array(repeating: DPORFrame(), count: prefix.count)
        var events = prefixEvents
        let initialSleep = sleep.map { DPOREvent(thread: $0, footprint: runner.nextFootprint($0)) }
        dporExplore(runner, schedule: prefix, events: &events, frames: &frames, base: prefix.count,
                    sleep: initialSleep, wakeup: [])
    }

    mutating func dporExplore(_ runner: Runner, schedule: [Int], events: inout [DPOREvent], frames: inout [DPORFrame],
                              base: Int, sleep: [DPOREvent], wakeup: [WakeupNode]) {
        guard budgetLeft else { result.exhaustive = false; return }
        guard schedule.count < Explorer.maxStepsPerExecution else {
            result.exhaustive = false
            result.bound = "an execution exceeded \(Explorer.maxStepsPerExecution) steps (a model bug)"
            return
        }
        let depth = schedule.count
        let enabled = runner.enabledThreads()
        if enabled.isEmpty || runner.fatal != nil {
            let before = Explorer.happensBefore(events)
            let done = events
            record(runner, schedule: schedule, canonical: { Explorer.normalForm(done, before) })
            analyseRaces(events, before, frames: &frames, base: base)
            return
        }
        let frame = DPORFrame(sleep: sleep, wakeup: wakeup)
        if frames.count <= depth { frames.append(frame) } else { frames[depth] = frame }
        if frames[depth].wakeup.isEmpty {
            guard let p = enabled.first(where: { t in !sleep.contains { $0.thread == t } }) else {
                result.sleepBlocked += 1
                return
            }
            frames[depth].wakeup = [WakeupNode(event: DPOREvent(thread: p, footprint: runner.nextFootprint(p)))]
        }
        while !frames[depth].wakeup.isEmpty {
            let node = frames[depth].wakeup.removeFirst()
            let p = node.event.thread
            guard enabled.contains(p), !frames[depth].sleep.contains(where: { $0.thread == p }) else {
                result.dporUnrunnable += 1
                continue
            }
            let fp = runner.nextFootprint(p)
            let child = step(runner, p, depth: depth)
            let after = child.enabledThreads()
            let toggled = runner.threadNames.indices.filter { $0 != p && enabled.contains($0) != after.contains($0) }
            let event = DPOREvent(thread: p, footprint: fp, toggled: toggled, enabledBefore: enabled)
            let childSleep = frames[depth].sleep.filter {
                !$0.footprint.conflicts(with: fp) && !toggled.contains($0.thread)
            }
            events.append(event)
            dporExplore(child, schedule: schedule + [p], events: &events, frames: &frames, base: base,
                        sleep: childSleep, wakeup: node.children)
            events.removeLast()
            frames[depth].sleep.append(DPOREvent(thread: p, footprint: fp))
            guard budgetLeft else { result.exhaustive = false; return }
        }
    }

    /// Whether the later of two events (indices i < j) depends on the earlier directly.
    static func directlyDepends(_ events: [DPOREvent], _ i: Int, _ j: Int) -> Bool {
        let q = events[j].thread
        guard events[i].thread != q else { return true }
        if events[i].footprint.conflicts(with: events[j].footprint) { return true }
        // The first step of a thread after a step that changed whether it could run.
        if events[i].toggled.contains(q) {
            return !events[(i + 1)..<j].contains { $0.thread == q }
        }
        return false
    }

    /// happens-before: for each event, the events before it that it (transitively) depends on.
    static func happensBefore(_ events: [DPOREvent]) -> [EventSet] {
        let n = events.count
        var before: [EventSet] = []
        before.reserveCapacity(n)
        for j in 0..<n {
            var s = EventSet(n)
            for i in stride(from: j - 1, through: 0, by: -1) where !s.contains(i) && directlyDepends(events, i, j) {
                s.insert(i)
                s.formUnion(before[i])
            }
            before.append(s)
        }
        return before
    }

    /// The execution's trace in lexicographic normal form: at each step the smallest thread
    /// whose next event has every event it depends on done. Any execution of the same trace
    /// gives the same schedule, so the counterexample does not depend on which one DPOR ran.
    static func normalForm(_ events: [DPOREvent], _ before: [EventSet]) -> [Int] {
        let n = events.count
        var done = EventSet(n)
        var left = Array(0..<n)
        var out: [Int] = []
        out.reserveCapacity(n)
        while !left.isEmpty {
            var best: Int? = nil
            var seen: [Int] = []
            for (k, e) in left.enumerated() {
                let t = events[e].thread
                if seen.contains(t) { continue }
                seen.append(t)
                let ready = zip(before[e].words, done.words).allSatisfy { $0 & ~$1 == 0 }
                if ready && (best == nil || t < events[left[best!]].thread) { best = k }
            }
            guard let b = best else { return events.map(\.thread) }
            done.insert(left[b])
            out.append(events[left[b]].thread)
            left.remove(at: b)
        }
        return out
    }

    /// Algorithm 2, lines 2–6: for every reversible race e ⋖ e' with e in this subtree, the
    /// sequence notdep(e, E).e' goes into the wakeup tree before e unless a sleeper there is a
    /// weak initial of it.
    func analyseRaces(_ events: [DPOREvent], _ before: [EventSet], frames: inout [DPORFrame], base: Int) {
        let n = events.count
        guard n > base else { return }
        for j in (base + 1)..<n {
            let q = events[j].thread
            for i in base..<j where events[i].thread != q && before[j].contains(i) && Explorer.directlyDepends(events, i, j) {
                // A race: nothing between them is ordered after e and before e'.
                if ((i + 1)..<j).contains(where: { k in before[j].contains(k) && before[k].contains(i) }) { continue }
                // Not reversible: e' could only run because e let its thread go on.
                if events[i].toggled.contains(q) && !events[i].enabledBefore.contains(q) { continue }
                var v: [DPOREvent] = []
                for k in (i + 1)..<n where !before[k].contains(i) { v.append(events[k]) }
                v.append(events[j])
                if frames[i].sleep.contains(where: { Explorer.isWeakInitial($0, of: v) }) { continue }
                Explorer.insert(v, into: &frames[i].wakeup)
            }
        }
    }

    /// Whether the thread of `e` (a step it would take now) is a weak initial of `w`: its first
    /// step in `w` depends on nothing before it there, or it has none in `w` and its step
    /// depends on none of `w`.
    static func isWeakInitial(_ e: DPOREvent, of w: [DPOREvent]) -> Bool {
        if let k = w.firstIndex(where: { $0.thread == e.thread }) {
            return !w[..<k].contains { $0.depends(on: w[k]) }
        }
        return !w.contains { $0.depends(on: e) }
    }

    /// insert[E](w, tree): follow the first child whose thread is a weak initial of what is
    /// left of `w`; stop at a leaf (the tree already covers `w`); otherwise add what is left as
    /// a new last branch.
    static func insert(_ w: [DPOREvent], into nodes: inout [WakeupNode]) {
        guard !w.isEmpty else { return }
        for k in nodes.indices where isWeakInitial(nodes[k].event, of: w) {
            if nodes[k].children.isEmpty { return }
            var rest = w
            if let f = rest.firstIndex(where: { $0.thread == nodes[k].event.thread }) { rest.remove(at: f) }
            insert(rest, into: &nodes[k].children)
            return
        }
        var chain = WakeupNode(event: w[w.count - 1])
        for e in w.dropLast().reversed() { chain = WakeupNode(event: e, children: [chain]) }
        nodes.append(chain)
    }
}
