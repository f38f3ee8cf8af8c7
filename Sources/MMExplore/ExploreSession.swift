// SPDX-License-Identifier: Apache-2.0
//
// The commands: `explore` (text or JSON, whole or one shard), `explore --merge` (shards'
// JSON results into the result of one run) and `replay`.

import Foundation
import MMLab
import MMScenario
import MMSyntax

extension SearchMode {
    /// The search's name in explore's output.
    var title: String {
        switch self {
        case .plain: "plain enumeration"
        case .sleepSets: "sleep sets"
        case .dpor: "optimal DPOR"
        }
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
    /// With `timeline`, the outcome carries the shortest counterexample's steps for `--html`.
    public static func explore(source: String, file: String, options: ExploreOptions = ExploreOptions(), json: Bool = false,
                               timeline: Bool = false) -> CommandOutcome {
        let (outcome, result) = exploration(source: source, file: file, options: options)
        var out = outcome
        if json, let result {
            out = CommandOutcome(output: exploreJSON(result, source: source).rendered + "\n", status: outcome.status)
        }
        if timeline, let result, case .success(let (runner, post, checks)) = exploreStart(source, file: file) {
            out.timeline = counterexampleTimeline(result, start: runner, post: post, checks: checks)
        }
        return out
    }

    /// The timeline of the first failing check's shortest counterexample; without one, a page
    /// that says every check holds (and shows the state after the set-up).
    static func counterexampleTimeline(_ r: ExploreResult, start: ScenarioRunner<ModelBackend>, post: [Statement],
                                       checks: [String]) -> Timeline {
        let title = start.scenarioTitle
        var summary: [String] = []
        let failing = r.verdicts.first { $0.failingExecutions > 0 }
        for v in r.verdicts where v.name != "expectations" || v.failingExecutions > 0 {
            summary.append(v.failingExecutions == 0 ? "check \(v.name): holds on all \(r.executions) executions (\(scopeText(r)))"
                : "check \(v.name): FAILS in \(v.failingExecutions) of \(r.executions) executions")
        }
        guard let failing else {
            if summary.isEmpty { summary.append("expectations: hold on all \(r.executions) executions (\(scopeText(r)))") }
            summary.append("no counterexample: the grid shows the state after the set-up")
            var t = scheduleTimeline(start, [], post: [], checks: [], kind: .explore, file: r.file, title: title, summary: summary)
            t.panels[0].columns.removeLast()
            return t
        }
        let schedule = failing.shortest ?? []
        summary.append("shortest failing execution of \(failing.name): \(schedule.count) steps, replay token \(ReplayToken.encode(schedule))")
        summary.append("problem: \(failing.firstProblem)")
        return scheduleTimeline(start, schedule, post: post, checks: checks, kind: .explore, file: r.file, title: title, summary: summary)
    }

    /// `explore`, with the explorer's counts and verdicts beside what it prints.
    public static func exploration(source: String, file: String, options: ExploreOptions = ExploreOptions()) -> (outcome: CommandOutcome, result: ExploreResult?) {
        guard options.shardCount >= 1, options.shardIndex >= 0, options.shardIndex < options.shardCount else {
            return (CommandOutcome(output: "\(file): error: expected a shard i/N with 0 ≤ i < N, found \(options.shardIndex)/\(options.shardCount)\n", status: 2), nil)
        }
        if options.shardCount > 1 && options.preemptionBound != nil {
            return (CommandOutcome(output: "\(file): error: --shard with --preemptions is not implemented yet\n", status: 2), nil)
        }
        switch exploreStart(source, file: file) {
        case .failure(let d): return (.diagnostic(d, file: file, json: false), nil)
        case .success(let (runner, post, checks)):
            var result: ExploreResult
            if let n = options.randomExecutions {
                var ex = Explorer(post: post, checks: checks, options: options, file: file)
                ex.result.threads = runner.threadNames
                ex.result.shardIndex = options.shardIndex
                ex.result.shardCount = options.shardCount
                ex.sample(runner, range: options.shardIndex..<n, seed: options.seed, stride: options.shardCount)
                ex.result.bound = "random sampling: \(n) executions, seed \(options.seed)"
                result = ex.result
            } else if let b = options.preemptionBound {
                var o = options
                if o.search == .dpor { o.search = .sleepSets }   // DPOR's reversals do not respect a bound
                var ex = Explorer(post: post, checks: checks, options: o, file: file)
                ex.result.threads = runner.threadNames
                ex.dfs(runner, schedule: [], sleep: [], preemptions: 0, last: nil)
                ex.result.bound = "preemption bound \(b)"
                result = ex.result
            } else {
                result = searchTree(source: source, file: file, start: runner, post: post, checks: checks, options: options)
                if options.measurePlainEnumeration {
                    result.counts = searchCounts(source: source, file: file, start: runner, post: post, checks: checks, options: options)
                    result.plainExecutions = result.counts?.plain
                }
            }
            return (render(result, runner: runner), result)
        }
    }

    /// The executions plain enumeration, sleep sets and optimal DPOR need (each within a
    /// budget of 2,000,000 executions).
    static func searchCounts(source: String, file: String, start: ScenarioRunner<ModelBackend>, post: [Statement],
                             checks: [String], options: ExploreOptions) -> SearchCounts {
        var c = SearchCounts()
        for mode in SearchMode.allCases {
            var o = options
            o.search = mode
            o.stateful = false
            o.measurePlainEnumeration = false
            let r = searchTree(source: source, file: file, start: start, post: post, checks: checks, options: o)
            if !r.exhaustive { c.exhaustive = false }
            switch mode {
            case .plain: c.plain = r.executions
            case .sleepSets: c.sleepSets = r.executions; c.sleepSetsBlocked = r.sleepBlocked
            case .dpor: c.dpor = r.executions; c.dporBlocked = r.sleepBlocked
            }
        }
        return c
    }

    /// The text of a result (the start state traces the counterexamples).
    static func render(_ result: ExploreResult, runner: ScenarioRunner<ModelBackend>) -> CommandOutcome {
        let text = renderExplore(result, runner: runner)
        let failed = result.verdicts.contains { $0.failingExecutions > 0 }
        return CommandOutcome(output: text, status: failed ? 1 : 0)
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

    static func scopeText(_ r: ExploreResult) -> String {
        r.exhaustive ? "exhaustive" : "bounded (\(r.bound))"
    }

    static func renderExplore(_ r: ExploreResult, runner: ScenarioRunner<ModelBackend>) -> String {
        var out = "\(r.file): exploring threads \(r.threads.joined(separator: ", "))\n"
        if r.shardCount > 1 { out += "shard \(r.shardIndex)/\(r.shardCount): part of the tree only (merge the shards with explore --merge)\n" }
        let scope = scopeText(r)
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
        let how = r.stateful ? "stateful search with sleep sets" : (r.sampled ? "random sampling" : r.search.title)
        out += "executions explored: \(r.executions) (\(scope); \(how)), steps: \(r.steps), distinct final states: \(r.distinctFinalStates)"
        if r.sleepBlocked > 0 { out += ", redundant orders pruned: \(r.sleepBlocked)" }
        out += "\n"
        if r.stateful { out += "states: \(r.states.count) distinct, \(r.statesRevisited) reached again and not explored twice\n" }
        if r.dporUnrunnable > 0 { out += "note: \(r.dporUnrunnable) wakeup sequences could not run (a footprint misses an effect)\n" }
        if let c = r.counts {
            let bounded = c.exhaustive ? "" : " (bounded)"
            out += "executions by search\(bounded): plain \(c.plain), sleep sets \(c.sleepSets) (+\(c.sleepSetsBlocked) cut short), "
                + "optimal DPOR \(c.dpor) (+\(c.dporBlocked) cut short): \(ratio(c.plain, c.dpor)) fewer than plain\n"
        }
        return out
    }

    /// "5.7×": a over b to one decimal.
    static func ratio(_ a: Int, _ b: Int) -> String {
        let tenths = b > 0 ? (a * 10 + b / 2) / b : 10
        return "\(tenths / 10).\(tenths % 10)×"
    }

    /// `mmlab replay FILE --schedule TOKEN`: the execution step by step, with the PTEs each
    /// step changed, then the statements after the threads and the checks.
    public static func replay(source: String, file: String, token: String, timeline: Bool = false) -> CommandOutcome {
        var out = replayText(source: source, file: file, token: token)
        if timeline, let schedule = ReplayToken.decode(token), case .success(let (start, post, checks)) = exploreStart(source, file: file) {
            out.timeline = scheduleTimeline(start, schedule, post: post, checks: checks, kind: .replay, file: file,
                                            title: start.scenarioTitle, summary: ["replay token \(token)"])
        }
        return out
    }

    static func replayText(source: String, file: String, token: String) -> CommandOutcome {
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
