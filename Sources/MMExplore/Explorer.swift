// SPDX-License-Identifier: Apache-2.0
//
// `mmlab explore`: every interleaving of a scenario's threads at the model's step
// boundaries (the runner steps a thread, Runner+Stepping.swift; this file only decides which
// thread runs next), depth first, with sleep sets (a partial-order reduction: a step independent of
// one already explored from the same state is not tried again in that order), an optional
// preemption bound, or random sampling with a printed seed. Each complete execution is
// checked; the shortest failing schedule of each check is kept with a replay token.

import MMLab
import MMScenario
import MMSyntax

/// Options of `mmlab explore`.
public struct ExploreOptions: Sendable {
    /// Partial-order reduction (sleep sets).
    public var reduction = true
    /// At most this many preemptions (switching away from a thread that could go on).
    public var preemptionBound: Int? = nil
    /// Random sampling: this many executions, from `seed`.
    public var randomExecutions: Int? = nil
    public var seed: UInt64 = 1
    /// Stop after this many executions (the search is then reported as bounded).
    public var maxExecutions = 2_000_000
    /// Also count the executions of a plain enumeration, to report what the reduction saves.
    public var measurePlainEnumeration = true
    public init() {}
}

/// The verdict of one check over all executions.
public struct CheckVerdict: Sendable {
    public var name: String
    public var failingExecutions = 0
    public var firstProblem = ""
    /// The shortest failing schedule (thread indices), if any.
    public var shortest: [Int]?
}

/// The result of an exploration.
public struct ExploreResult: Sendable {
    public var file: String
    public var threads: [String] = []
    public var executions = 0
    /// Executions cut short because every runnable step was asleep (redundant orders).
    public var sleepBlocked = 0
    public var steps = 0
    public var exhaustive = true
    public var bound = ""
    public var distinctFinalStates = 0
    public var verdicts: [CheckVerdict] = []
    /// Executions a plain enumeration would explore (measured without reduction), if known.
    public var plainExecutions: Int?
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


/// Explores a scenario's executions.
struct Explorer {
    typealias Runner = ScenarioRunner<ModelBackend>
    let post: [Statement]
    let checks: [String]
    let options: ExploreOptions
    var result: ExploreResult
    var fingerprints = Set<Int>()

    init(post: [Statement], checks: [String], options: ExploreOptions, file: String) {
        self.post = post
        self.checks = checks
        self.options = options
        result = ExploreResult(file: file)
        result.verdicts = (["expectations"] + checks).map { CheckVerdict(name: $0) }
    }

    var budgetLeft: Bool { result.executions < options.maxExecutions }
    /// The longest execution explored (far more than any scenario takes).
    static let maxStepsPerExecution = 5_000

    mutating func record(_ runner: Runner, schedule: [Int]) {
        var r = runner
        let outcome = r.finishExecution(post: post, checks: checks)
        result.executions += 1
        result.pteReads += r.backend.kernel.costs.pteReads
        fingerprints.insert(Explorer.fingerprint(r))
        for i in result.verdicts.indices {
            let problem = outcome.failures[result.verdicts[i].name] ?? ""
            guard !problem.isEmpty else { continue }
            result.verdicts[i].failingExecutions += 1
            if result.verdicts[i].shortest == nil || schedule.count < result.verdicts[i].shortest!.count {
                result.verdicts[i].shortest = schedule
                result.verdicts[i].firstProblem = problem
            }
        }
    }

    /// Depth-first search with sleep sets and an optional preemption bound.
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
        var asleep = sleep
        var exploredAny = false
        for t in enabled {
            if options.reduction && asleep.contains(t) { continue }
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
            var child = runner
            _ = child.stepThread(t)
            result.steps += 1
            let childSleep = options.reduction
                ? asleep.filter { !runner.nextFootprint($0).conflicts(with: fp) } : []
            dfs(child, schedule: schedule + [t], sleep: childSleep, preemptions: p, last: t)
            if options.reduction { asleep.append(t) }
            guard budgetLeft else { result.exhaustive = false; return }
        }
        if !exploredAny { result.sleepBlocked += 1 }
    }

    /// Random executions from a seed.
    mutating func sample(_ start: Runner, count: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<count {
            var runner = start
            var schedule: [Int] = []
            while runner.fatal == nil && schedule.count < Explorer.maxStepsPerExecution {
                let enabled = runner.enabledThreads()
                guard !enabled.isEmpty else { break }
                let t = enabled[Int(rng.next() % UInt64(enabled.count))]
                _ = runner.stepThread(t)
                result.steps += 1
                schedule.append(t)
            }
            record(runner, schedule: schedule)
        }
        result.exhaustive = false
    }
}

extension MMLabSession {
    /// Prepares the runner for exploring: the set-up has run, the threads are registered.
    static func exploreStart(_ source: String, file: String) -> Result<(ScenarioRunner<ModelBackend>, [Statement], [String]), Diagnostic> {
        switch prepare(source, file: file, forExplore: true) {
        case .failure(let d): return .failure(d)
        case .success(let (scenario, checked)):
            let backend = ModelBackend(design: checked.design, config: checked.config, internalChecks: true)
            var runner = ScenarioRunner(scenario: scenario, backend: backend)
            let post = runner.prepareThreads()
            if let f = runner.fatal { return .failure(f) }
            return .success((runner, post, checked.checks))
        }
    }

    /// `mmlab explore`: what to print and the exit status (0 every check holds, 1 a check
    /// fails, 2 an error).
    public static func explore(source: String, file: String, options: ExploreOptions = ExploreOptions()) -> CommandOutcome {
        exploration(source: source, file: file, options: options).outcome
    }

    /// `explore`, with the explorer's counts and verdicts beside what it prints.
    public static func exploration(source: String, file: String, options: ExploreOptions = ExploreOptions()) -> (outcome: CommandOutcome, result: ExploreResult?) {
        switch exploreStart(source, file: file) {
        case .failure(let d): return (.diagnostic(d, file: file, json: false), nil)
        case .success(let (runner, post, checks)):
            var ex = Explorer(post: post, checks: checks, options: options, file: file)
            ex.result.threads = runner.threadNames
            if let n = options.randomExecutions {
                ex.sample(runner, count: n, seed: options.seed)
                ex.result.bound = "random sampling: \(n) executions, seed \(options.seed)"
            } else {
                ex.dfs(runner, schedule: [], sleep: [], preemptions: 0, last: nil)
                if let b = options.preemptionBound { ex.result.bound = "preemption bound \(b)" }
                if !ex.result.exhaustive && ex.result.bound.isEmpty { ex.result.bound = "stopped after \(options.maxExecutions) executions" }
            }
            ex.result.distinctFinalStates = ex.fingerprints.count
            if options.reduction && options.measurePlainEnumeration && options.randomExecutions == nil
                && options.preemptionBound == nil {
                // Measure what plain enumeration costs, within a budget.
                var plain = Explorer(post: post, checks: checks, options: { var o = options; o.reduction = false; o.maxExecutions = 200_000; return o }(), file: file)
                plain.dfs(runner, schedule: [], sleep: [], preemptions: 0, last: nil)
                ex.result.plainExecutions = plain.result.exhaustive ? plain.result.executions : nil
            }
            let text = renderExplore(ex.result, runner: runner, post: post, checks: checks)
            let failed = ex.result.verdicts.contains { $0.failingExecutions > 0 }
            return (CommandOutcome(output: text, status: failed ? 1 : 0), ex.result)
        }
    }

    /// Re-runs one schedule step by step with traces.
    static func traceSchedule(_ start: ScenarioRunner<ModelBackend>, _ schedule: [Int]) -> (lines: [String], runner: ScenarioRunner<ModelBackend>, error: String?) {
        var runner = start
        var lines: [String] = []
        let width = max(6, runner.threadNames.map(\.count).max() ?? 6)
        for (n, t) in schedule.enumerated() {
            guard runner.enabledThreads().contains(t) else {
                let why = t < runner.threadNames.count ? runner.whyNotEnabled(t) : "there is no such thread"
                return (lines, runner, "step \(n + 1): thread #\(t) cannot run here: \(why) (the token does not fit this scenario)")
            }
            let r = tracedStep(&runner, t)
            lines.append("\(pad(n + 1, 3)) \(padRight(r.thread, width))  line \(r.line): \(r.statement)  —  \(r.action)")
            for c in r.pteChanges { lines.append("      \(String(repeating: " ", count: width))    PTE \(c)") }
        }
        return (lines, runner, nil)
    }

    static func renderExplore(_ r: ExploreResult, runner: ScenarioRunner<ModelBackend>, post: [Statement], checks: [String]) -> String {
        var out = "\(r.file): exploring threads \(r.threads.joined(separator: ", "))\n"
        let scope = r.exhaustive ? "exhaustive" : "bounded (\(r.bound))"
        for v in r.verdicts where v.name != "expectations" || v.failingExecutions > 0 {
            if v.failingExecutions == 0 {
                out += "check \(v.name): holds on all \(r.executions) executions (\(scope))\n"
                continue
            }
            let schedule = v.shortest ?? []
            out += "check \(v.name): FAILS in \(v.failingExecutions) of \(r.executions) executions — shortest failing execution (\(schedule.count) steps):\n"
            let (lines, _, err) = traceSchedule(runner, schedule)
            for l in lines { out += "  " + l + "\n" }
            if let err { out += "  \(err)\n" }
            out += "  problem: \(v.firstProblem)\n"
            out += "  replay token: \(ReplayToken.encode(schedule))\n"
        }
        if r.verdicts.allSatisfy({ $0.name == "expectations" }) && r.verdicts[0].failingExecutions == 0 {
            out += "expectations: hold on all \(r.executions) executions (\(scope))\n"
        }
        out += "executions explored: \(r.executions) (\(scope)), steps: \(r.steps), distinct final states: \(r.distinctFinalStates)"
        if r.sleepBlocked > 0 { out += ", redundant orders pruned: \(r.sleepBlocked)" }
        out += "\n"
        if let plain = r.plainExecutions {
            let tenths = r.executions > 0 ? (plain * 10 + r.executions / 2) / r.executions : 10
            out += "partial-order reduction: \(r.executions) executions instead of \(plain) (\(tenths / 10).\(tenths % 10)× fewer)\n"
        }
        return out
    }

    /// `mmlab replay FILE --schedule TOKEN`: the execution step by step, with the PTEs each
    /// step changed, then the statements after the threads and the checks.
    public static func replay(source: String, file: String, token: String) -> CommandOutcome {
        guard let schedule = ReplayToken.decode(token) else {
            return CommandOutcome(output: "\(file): error: expected a replay token like v1.0121, found '\(token)'\n", status: 2)
        }
        switch exploreStart(source, file: file) {
        case .failure(let d): return .diagnostic(d, file: file, json: false)
        case .success(let (start, post, checks)):
            var out = "\(file): replaying \(token) over threads \(start.threadNames.joined(separator: ", "))\n"
            let (lines, end, err) = traceSchedule(start, schedule)
            for l in lines { out += l + "\n" }
            if let err { return CommandOutcome(output: out + "error: \(err)\n", status: 2) }
            var runner = end
            if !runner.enabledThreads().isEmpty {
                out += "note: the token ends before every thread finished or slept; runnable: \(runner.enabledThreads().map { runner.threadNames[$0] }.joined(separator: ", "))\n"
            }
            let outcome = runner.finishExecution(post: post, checks: checks)
            for t in outcome.sleepingThreads { out += "note: \(t)\n" }
            var failed = false
            for name in ["expectations"] + checks {
                let p = outcome.failures[name] ?? ""
                if name == "expectations" && p.isEmpty { continue }
                out += "check \(name): " + (p.isEmpty ? "holds" : "FAILS: \(p)") + "\n"
                if !p.isEmpty { failed = true }
            }
            return CommandOutcome(output: out, status: failed ? 1 : 0)
        }
    }
}
