// SPDX-License-Identifier: Apache-2.0
//
// The mmlab command line: a thin tree of subcommands over MMScenario.

import ArgumentParser
import Foundation
import MMLive
import MMExplore
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

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explore every interleaving of a scenario's threads; verdict per check, shortest failing schedule and replay token.")
    @Argument(help: "The .mms scenario file.") var file: String
    @Flag(name: .customLong("no-reduction"), help: "Enumerate every interleaving (no partial-order reduction).") var noReduction = false
    @Option(name: .customLong("preemptions"), help: "At most this many preemptions per execution.") var preemptions: Int?
    @Option(name: .customLong("random"), help: "Sample this many random executions instead of enumerating.") var random: Int?
    @Option(help: "The seed of random sampling.") var seed: UInt64 = 1
    @Option(name: .customLong("max-executions"), help: "Stop after this many executions.") var maxExecutions: Int = 2_000_000

    func run() throws {
        let text = try readScenario(file)
        var o = ExploreOptions()
        o.reduction = !noReduction
        o.preemptionBound = preemptions
        o.randomExecutions = random
        o.seed = seed
        o.maxExecutions = max(1, maxExecutions)
        let (out, status, _) = MMLabSession.explore(source: text, file: file, options: o)
        print(out, terminator: "")
        if status != 0 { throw ExitCode(status) }
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-run one interleaving step by step, with the PTEs each step changed.")
    @Argument(help: "The .mms scenario file.") var file: String
    @Option(help: "The replay token printed by explore.") var schedule: String

    func run() throws {
        let text = try readScenario(file)
        let (out, status) = MMLabSession.replay(source: text, file: file, token: schedule)
        print(out, terminator: "")
        if status != 0 { throw ExitCode(status) }
    }
}

/// Writes lines to standard error.
func printToStandardError(_ lines: [String]) {
    for l in lines { FileHandle.standardError.write(Data("\(l)\n".utf8)) }
}

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario on the running kernel (as root): same report as run; exit 3 when it cannot run here.")
    @Argument(help: "The .mms scenario file.") var file: String
    @Flag(help: "Print JSON lines instead of text.") var json = false

    func run() throws {
        let text = try readScenario(file)
        let outcome = LiveSession.run(source: text, file: file, options: LiveOptions(json: json))
        print(outcome.output, terminator: "")
        printToStandardError(outcome.notes.map { $0.hasPrefix("error: ") ? "mmlab: \($0)" : "note: \($0)" })
        if outcome.status != 0 { throw ExitCode(outcome.status) }
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare model and kernel statement by statement (exit 1 on a difference docs/deviations.md does not list, 3 when skipped).")
    @Argument(help: "The .mms scenario file, or with --all a folder to search for *.mms files.") var file: String?
    @Flag(help: "Compare every *.mms file under the folder and print a table.") var all = false
    @Option(help: "The list of known deviations (default: docs/deviations.md above the scenario, or in the working directory).")
    var deviations: String?
    @Option(name: .customLong("random"), help: "Diff this many generated scenarios instead of a file; minimise the first that differs.")
    var random: Int?
    @Option(help: "With --random: the seed of the first scenario (scenario i uses seed+i; default: from the clock).")
    var seed: UInt64?

    func validate() throws {
        if let random {
            guard random > 0, file == nil, !all else { throw ValidationError("expected --random N (N > 0) without a file or --all") }
            return
        }
        guard file != nil else { throw ValidationError(all ? "expected a folder after --all" : "expected a scenario file") }
    }

    func run() throws {
        if let random {
            let s = seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmlab-random-\(s)").path
            let r = RandomDiff.run(count: random, seed: s, directory: dir)
            print(r.text, terminator: "")
            if r.status != 0 { throw ExitCode(r.status) }
            return
        }
        guard let file else { throw ExitCode(2) }
        let listPath = deviations ?? LiveDiff.findDeviationsFile(near: file)
        var list: [Deviation] = []
        if let listPath {
            do {
                list = try LiveDiff.loadDeviations(listPath)
            } catch {
                printToStandardError(["\(listPath): error: \(error)"])
                throw ExitCode(2)
            }
        } else {
            printToStandardError(["note: no docs/deviations.md found: every difference counts as unlisted"])
        }
        if all {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDir), isDir.boolValue else {
                printToStandardError(["\(file): error: expected a folder"])
                throw ExitCode(2)
            }
            let r = LiveDiff.diffAll(directory: file, deviations: list, deviationsPath: listPath) { one in
                printToStandardError(one.notes.map { "note: \(one.file): \($0)" })
            }
            print(r.text, terminator: "")
            if r.status != 0 { throw ExitCode(r.status) }
        } else {
            let text = try readScenario(file)
            let r = LiveDiff.diff(source: text, file: file, deviations: list)
            printToStandardError(r.notes.map { "note: \($0)" })
            print(LiveDiff.render(r, deviationsPath: listPath), terminator: "")
            if r.status != 0 { throw ExitCode(r.status) }
        }
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario under design variants, side by side: expectations, differing observations, costs.")
    @Argument(help: "The .mms scenario file.") var file: String
    @Option(help: "Switches and values: KEY=V1,V2 (several separated by ';'), e.g. pagemap.shmem_swap=none,pagecache.")
    var design: String

    func run() throws {
        let text = try readScenario(file)
        let (out, status) = MMLabSession.compare(source: text, file: file, designSpec: design)
        print(out, terminator: "")
        if status != 0 { throw ExitCode(status) }
    }
}
