// SPDX-License-Identifier: Apache-2.0
//
// The entry points the command line uses: parse, check, run on the model, print.

import MMLab
import MMSyntax

/// Options of `mmlab run`.
public struct RunOptions: Sendable {
    public var json = false
    public var stats = false
    /// Check the model's invariants after every operation.
    public var internalChecks = false
    /// Record the pages after every statement for `--html` (CommandOutcome.timeline).
    public var timeline = false
    public init(json: Bool = false, stats: Bool = false, internalChecks: Bool = false, timeline: Bool = false) {
        self.json = json
        self.stats = stats
        self.internalChecks = internalChecks
        self.timeline = timeline
    }
}

public enum MMLabSession {
    /// Parses and statically checks a scenario: the first error, or what the run needs.
    /// Public so that other backends (the live one) run exactly what the model would.
    public static func prepare(_ source: String, file: String, forExplore: Bool = false) -> Result<(Scenario, CheckedScenario), Diagnostic> {
        do {
            let scenario = try ScenarioParser.parse(source, file: file)
            let checked = try Checker.check(scenario)
            return .success((scenario, checked))
        } catch {
            return .failure(error)
        }
    }

    /// Runs a scenario's text on the model.
    public static func run(source: String, file: String, options: RunOptions = RunOptions()) -> CommandOutcome {
        switch prepare(source, file: file) {
        case .failure(let d):
            return .diagnostic(d, file: file, json: options.json)
        case .success(let (scenario, checked)):
            var backend = ModelBackend(design: checked.design, config: checked.config,
                                       internalChecks: options.internalChecks || checked.wantsConsistencyCheck)
            if !checked.checks.isEmpty { backend.kernel.enableWriteChecks() }
            var runner = ScenarioRunner(scenario: scenario, backend: backend)
            runner.recordsPages = options.timeline
            let report = runner.run(checks: checked.checks)
            let out = options.json ? report.jsonLines() : report.text(stats: options.stats)
            var outcome = CommandOutcome(output: out, status: report.exitStatus, report: report)
            if options.timeline {
                outcome.timeline = Timeline(kind: .run, file: file, title: scenario.title,
                                            panels: [TimelinePanel(name: report.backend, report: report, leftOut: runner.pagesLeftOut)])
            }
            return outcome
        }
    }
}
