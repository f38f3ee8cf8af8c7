// SPDX-License-Identifier: Apache-2.0
//
// The mmlab command line: a thin tree of subcommands over MMScenario.

import ArgumentParser
import Foundation
import MMScenario

@main
struct MMLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmlab",
        abstract: "An executable model of Linux memory management, driven by .mms scenarios.",
        subcommands: [Run.self, Explore.self, Replay.self, Live.self, Diff.self, Compare.self]
    )
}

/// Reads a scenario file, or fails with exit status 2 and a message for people.
func readScenario(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("\(path): error: cannot read the file\n".utf8))
        throw ExitCode(2)
    }
    guard let text = String(data: data, encoding: .utf8) else {
        FileHandle.standardError.write(Data("\(path): error: expected UTF-8 text, found bytes that are not\n".utf8))
        throw ExitCode(2)
    }
    return text
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario on the model: trace, pagemap words, expectations (exit 1 on a failed one).")
    @Argument(help: "The .mms scenario file.") var file: String
    @Flag(help: "Print JSON lines instead of text.") var json = false
    @Flag(help: "Print the model's cost counters.") var stats = false
    @Flag(name: .customLong("check"), help: "Check the model's invariants after every operation.") var check = false

    func run() throws {
        let text = try readScenario(file)
        let outcome = MMLabSession.run(source: text, file: file,
                                       options: RunOptions(json: json, stats: stats, internalChecks: check))
        print(outcome.output, terminator: "")
        if outcome.status != 0 { throw ExitCode(outcome.status) }
    }
}

/// A subcommand whose job belongs to a later issue: it says so and exits 2.
protocol NotYetImplemented: ParsableCommand {
    static var what: String { get }
}

extension NotYetImplemented {
    func run() throws {
        FileHandle.standardError.write(Data("mmlab: \(Self.what) is not implemented yet\n".utf8))
        throw ExitCode(2)
    }
}

struct Explore: NotYetImplemented {
    static let configuration = CommandConfiguration(abstract: "Explore every interleaving of a scenario's threads (not implemented yet).")
    static let what = "explore (issue 5)"
    @Argument var file: String
}

struct Replay: NotYetImplemented {
    static let configuration = CommandConfiguration(abstract: "Re-run one interleaving step by step (not implemented yet).")
    static let what = "replay (issue 5)"
    @Argument var file: String
    @Option var schedule: String?
}

struct Live: NotYetImplemented {
    static let configuration = CommandConfiguration(abstract: "Run a scenario on the running kernel (not implemented yet).")
    static let what = "live (issue 4)"
    @Argument var file: String
}

struct Diff: NotYetImplemented {
    static let configuration = CommandConfiguration(abstract: "Compare model and kernel on a scenario (not implemented yet).")
    static let what = "diff (issue 4)"
    @Argument var file: String?
    @Flag var all = false
}

struct Compare: NotYetImplemented {
    static let configuration = CommandConfiguration(abstract: "Run a scenario under design variants with costs (not implemented yet).")
    static let what = "compare"
    @Argument var file: String
    @Option var design: String?
}
