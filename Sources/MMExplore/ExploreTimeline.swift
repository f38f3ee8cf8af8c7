// SPDX-License-Identifier: Apache-2.0
//
// `replay --html` and `explore --html`: one schedule re-run step by step, the pages sampled
// after the set-up, after every step and after the statements that follow the threads, as a
// Timeline (MMScenario) that MMTimeline draws with the threads in lanes.

import MMLab
import MMScenario
import MMSyntax

extension MMLabSession {
    /// The timeline of one schedule from the start state: a column for the set-up, one per
    /// step (its thread, statement, kernel functions and PTE changes) and one for the end.
    static func scheduleTimeline(_ start: ScenarioRunner<ModelBackend>, _ schedule: [Int], post: [Statement], checks: [String],
                                 kind: Timeline.Kind, file: String, title: String?, summary: [String]) -> Timeline {
        var runner = start
        runner.recordsPages = false
        var columns = [TimelineColumn(line: 0, text: "(the statements before the threads)", process: "main",
                                      result: "set up", pages: runner.samplePages(), label: "0")]
        var stopped: String? = nil
        for (n, t) in schedule.enumerated() {
            guard runner.enabledThreads().contains(t) else {
                stopped = "step \(n + 1): thread #\(t) cannot run here (the token does not fit this scenario)"
                break
            }
            let r = tracedStep(&runner, t)
            columns.append(TimelineColumn(line: r.line, text: r.statement, process: runner.threadProcessName(t), thread: r.thread,
                                          result: r.action, pteChanges: r.pteChanges, pages: runner.samplePages(),
                                          label: "\(n + 1)"))
        }
        var footer: [String] = []
        if let stopped {
            footer.append("stopped: \(stopped)")
        } else {
            let outcome = runner.finishExecution(post: post, checks: checks)
            var expectations: [ExpectationResult] = []
            for name in ["expectations"] + checks {
                let p = outcome.failures[name] ?? ""
                expectations.append(ExpectationResult(met: p.isEmpty, message: p.isEmpty ? "\(name): holds" : "\(name): \(p)"))
            }
            columns.append(TimelineColumn(line: 0, text: "(the statements after the threads, then the checks)", process: "main",
                                          result: "end", notes: outcome.sleepingThreads, expectations: expectations,
                                          pages: runner.samplePages(), label: "end"))
        }
        footer += runner.pagesLeftOut
        let panel = TimelinePanel(name: "model", zeroPFN: runner.backend.zeroPFN, columns: columns, footer: footer)
        return Timeline(kind: kind, file: file, title: title, panels: [panel], lanes: runner.threadNames, summary: summary)
    }
}
