// SPDX-License-Identifier: Apache-2.0
//
// What every mmlab subcommand produces, whichever backend ran it: the command line only
// prints it and exits with its status.

import MMSyntax

/// The outcome of one subcommand: standard output (text or JSON lines), the lines for
/// standard error, and the exit status (0 done and every expectation met, 1 an expectation
/// or check failed or a difference is unlisted, 2 an error, 3 skipped).
public struct CommandOutcome: Sendable {
    /// Standard output, exactly as printed: a report in text or JSON lines.
    public var output: String
    /// Lines for standard error, exactly as printed (notes for people, errors).
    public var standardError: [String]
    public var status: Int32
    /// The run report, when a scenario got as far as running (`run`, `live`).
    public var report: RunReport?
    /// Why the scenario was not run, when the backend refused it (exit status 3).
    public var skipped: String?
    /// The parse or check error, when there was one (exit status 2).
    public var error: Diagnostic?
    /// What `--html` draws, when the command was asked to record it.
    public var timeline: Timeline?

    public init(output: String, standardError: [String] = [], status: Int32, report: RunReport? = nil,
                skipped: String? = nil, error: Diagnostic? = nil) {
        self.output = output
        self.standardError = standardError
        self.status = status
        self.report = report
        self.skipped = skipped
        self.error = error
    }

    /// A parse or check error: the diagnostic as text (or a JSON summary line), exit 2.
    public static func diagnostic(_ d: Diagnostic, file: String, json: Bool, backend: String? = nil) -> CommandOutcome {
        var fields: [(String, JSON)] = [("summary", .bool(true)), ("file", .string(file))]
        if let backend { fields.append(("backend", .string(backend))) }
        fields += [("error", .string(d.description)), ("exit", .int(2))]
        let out = json ? JSON.object(fields).rendered + "\n" : d.description + "\n"
        return CommandOutcome(output: out, status: 2, error: d)
    }

    /// An error about the command's input that is not a scenario's (a file, an option): on
    /// standard error, exit 2.
    public static func usageError(_ message: String) -> CommandOutcome {
        CommandOutcome(output: "", standardError: [message], status: 2)
    }
}
