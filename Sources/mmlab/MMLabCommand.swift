// SPDX-License-Identifier: Apache-2.0
//
// The mmlab command line: a thin tree of subcommands. Each one turns its options into a call
// on MMScenario, MMExplore or MMLive and prints the CommandOutcome it gets back.

import ArgumentParser
import Foundation
import MMExplore
import MMLive
import MMScenario
import MMTimeline

@main
struct MMLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmlab",
        abstract: "An executable model of Linux memory management, driven by .mms scenarios.",
        version: MMLabVersion.text(commit: buildCommit),
        subcommands: [Run.self, Explore.self, Replay.self, Live.self, Diff.self, Compare.self, Import.self]
    )
}

/// The scenario file every subcommand but `diff` takes.
struct ScenarioArgument: ParsableArguments {
    @Argument(help: "The .mms scenario file.", completion: .file(extensions: ["mms"])) var file: String

    /// The file's text; a file that cannot be read ends the command with exit status 2.
    func text() throws -> String {
        do {
            return try ScenarioFile.read(file)
        } catch {
            try error.outcome.emit()
            return ""
        }
    }
}

/// How a report is printed, shared by `run` and `live`.
struct ReportFormat: ParsableArguments {
    @Flag(help: "Print JSON lines instead of text.") var json = false
}

/// `--html FILE`, on every command that runs a scenario.
struct HTMLOption: ParsableArguments {
    @Option(name: .customLong("html"), help: ArgumentHelp("Also write a timeline of the pages as one self-contained HTML page.", valueName: "file"),
            completion: .file(extensions: ["html"]))
    var html: String?
}

extension CommandOutcome {
    /// Writes the timeline to `html` (when asked and there is one: an error before the run has
    /// none), then prints and exits as emit(); a file that cannot be written is exit status 2.
    func emit(html: String?) throws {
        var o = self
        if let html, let t = timeline, let problem = TimelineHTML.write(t, to: html) {
            o.standardError.append(problem)
            o.status = max(o.status, 2)
        }
        try o.emit()
    }

    /// Prints standard output, then standard error, and ends with the exit status.
    func emit() throws {
        print(output, terminator: "")
        for l in standardError { FileHandle.standardError.write(Data("\(l)\n".utf8)) }
        if status != 0 { throw ExitCode(status) }
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario on the model: trace, pagemap words, expectations (exit 1 on a failed one).")
    @OptionGroup var scenario: ScenarioArgument
    @OptionGroup var format: ReportFormat
    @Flag(help: "Print the model's cost counters.") var stats = false
    @Flag(name: .customLong("check"), help: "Check the model's invariants after every operation.") var check = false
    @OptionGroup var html: HTMLOption

    func run() throws {
        try MMLabSession.run(source: scenario.text(), file: scenario.file,
                             options: RunOptions(json: format.json, stats: stats, internalChecks: check,
                                                 timeline: html.html != nil)).emit(html: html.html)
    }
}

struct Explore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explore every interleaving of a scenario's threads; verdict per check, shortest failing schedule and replay token.")
    @Argument(help: "The .mms scenario file (none with --merge).", completion: .file(extensions: ["mms"])) var file: String?
    @Option(help: "The search: dpor (optimal DPOR, the default), sleep (sleep sets) or plain (every interleaving).") var search: String = "dpor"
    @Flag(name: .customLong("no-reduction"), help: "Enumerate every interleaving (the same as --search plain).") var noReduction = false
    @Flag(help: "Stateful search: sleep sets and a cache of the states explored (reports distinct states).") var stateful = false
    @Option(name: .customLong("cache-rule"), help: .hidden) var cacheRule: String = "sleep-subset"
    @Flag(help: "Also run plain enumeration, sleep sets and optimal DPOR and print their execution counts.") var compare = false
    @Option(help: "Threads exploring parts of the tree at once (default: the machine's cores); the output is the same for any number.") var jobs: Int?
    @Option(help: "Explore part i of N of the tree (0-based, i/N); merge the parts' --json results with --merge.") var shard: String?
    @Flag(help: "Print the result as one JSON object.") var json = false
    @Option(parsing: .upToNextOption, help: "Merge the JSON results of every shard of one exploration (files).") var merge: [String] = []
    @Option(name: .customLong("preemptions"), help: "At most this many preemptions per execution.") var preemptions: Int?
    @Option(name: [.customLong("sample"), .customLong("random")], help: "Sample this many random executions instead of enumerating.") var sample: Int?
    @Option(help: "The seed of random sampling.") var seed: UInt64 = 1
    @Option(name: .customLong("max-executions"), help: "Stop after this many executions.") var maxExecutions: Int = 2_000_000
    @Option(name: .customLong("check-every"), help: "Check the model's invariants during every N-th step (and on every final state); 1: every step.") var checkEvery: Int = 8
    @OptionGroup var html: HTMLOption

    func run() throws {
        if !merge.isEmpty {
            var inputs: [(name: String, text: String)] = []
            for f in merge {
                do { inputs.append((f, try ScenarioFile.read(f))) } catch { try error.outcome.emit() }
            }
            try MMLabSession.mergeExplore(inputs, json: json).emit()
            return
        }
        guard let file else {
            try CommandOutcome(output: "error: expected a scenario file (or --merge RESULTS…), found none\n", status: 2).emit()
            return
        }
        var o = ExploreOptions()
        guard let mode = SearchMode(rawValue: search) else {
            try CommandOutcome(output: "error: expected --search dpor, sleep or plain, found '\(search)'\n", status: 2).emit()
            return
        }
        o.search = noReduction ? .plain : mode
        o.stateful = stateful
        o.cacheRule = cacheRule == "naive" ? .naive : .sleepSubset
        o.measurePlainEnumeration = compare
        o.preemptionBound = preemptions
        o.randomExecutions = sample
        o.seed = seed
        o.maxExecutions = max(1, maxExecutions)
        o.checkEvery = max(1, checkEvery)
        o.jobs = max(1, jobs ?? ProcessInfo.processInfo.activeProcessorCount)
        if let shard {
            let parts = shard.split(separator: "/")
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, i >= 0, i < n else {
                try CommandOutcome(output: "error: expected --shard i/N with 0 ≤ i < N (like 0/4), found '\(shard)'\n", status: 2).emit()
                return
            }
            o.shardIndex = i
            o.shardCount = n
        }
        let text: String
        do { text = try ScenarioFile.read(file) } catch { try error.outcome.emit(); return }
        try MMLabSession.explore(source: text, file: file, options: o, json: json, timeline: html.html != nil).emit(html: html.html)
    }
}

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-run one interleaving step by step, with the PTEs each step changed.")
    @OptionGroup var scenario: ScenarioArgument
    @Option(help: "The replay token printed by explore.") var schedule: String
    @OptionGroup var html: HTMLOption

    func run() throws {
        try MMLabSession.replay(source: scenario.text(), file: scenario.file, token: schedule,
                                timeline: html.html != nil).emit(html: html.html)
    }
}

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario on the running kernel (as root): same report as run; exit 3 when it cannot run here.")
    @OptionGroup var scenario: ScenarioArgument
    @OptionGroup var format: ReportFormat
    @OptionGroup var html: HTMLOption

    func run() throws {
        try LiveSession.run(source: scenario.text(), file: scenario.file,
                            options: LiveOptions(json: format.json, timeline: html.html != nil)).emit(html: html.html)
    }
}

struct Diff: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare model and kernel statement by statement (exit 1 on a difference docs/deviations.md does not list, 3 when skipped).")
    @Argument(help: "The .mms scenario file, or with --all a folder to search for *.mms files.",
              completion: .file(extensions: ["mms"])) var file: String?
    @Flag(help: "Compare every *.mms file under the folder and print a table.") var all = false
    @Option(help: "The list of known deviations (default: docs/deviations.md above the scenario, or in the working directory).")
    var deviations: String?
    @Option(name: .customLong("random"), help: "Diff this many generated scenarios instead of a file; minimise the first that differs.")
    var random: Int?
    @Option(help: "With --random: the seed of the first scenario (scenario i uses seed+i; default: from the clock).")
    var seed: UInt64?
    @Flag(help: "With --random: only generate the scenarios and print what they cover (no kernel needed).")
    var coverageOnly = false
    @OptionGroup var html: HTMLOption

    func validate() throws {
        if coverageOnly && random == nil { throw ValidationError("expected --coverage-only with --random N") }
        if html.html != nil && (all || random != nil) { throw ValidationError("expected --html with one scenario file (not --all or --random)") }
        if let random {
            guard random > 0, file == nil, !all else { throw ValidationError("expected --random N (N > 0) without a file or --all") }
            return
        }
        guard file != nil else { throw ValidationError(all ? "expected a folder after --all" : "expected a scenario file") }
    }

    func run() throws {
        let request = DiffRequest(file: file, all: all, deviations: deviations, random: random, seed: seed,
                                  coverageOnly: coverageOnly, timeline: html.html != nil)
        try LiveDiff.command(request, note: { FileHandle.standardError.write(Data("\($0)\n".utf8)) }).emit(html: html.html)
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario under design variants, side by side: expectations, differing observations, costs.")
    @OptionGroup var scenario: ScenarioArgument
    @Option(help: "Switches and values: KEY=V1,V2 (several separated by ';'), e.g. pagemap.shmem_swap=none,pagecache.")
    var design: String
    @OptionGroup var html: HTMLOption

    func run() throws {
        try MMLabSession.compare(source: scenario.text(), file: scenario.file, designSpec: design,
                                 timeline: html.html != nil).emit(html: html.html)
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a scenario that recreates a running process's memory layout (as root: /proc/PID/maps, pagemap, /proc/kpageflags).")
    @Argument(help: "The process id.") var pid: String
    @Option(help: ArgumentHelp("Only the VMAs inside this address range (hexadecimal), clipped to it.", valueName: "ADDR-ADDR"))
    var range: String?
    @Option(name: .customLong("max-pages"), help: "At most this many present or swapped pages get statements (default 4096).")
    var maxPages: Int?
    @Option(help: "Only private anonymous memory (anon) or shmem (memfd, /dev/shm, shared anonymous memory).")
    var only: String?

    func run() throws {
        try ProcessImport.command(pid: pid, range: range, maxPages: maxPages, only: only).emit()
    }
}
