// SPDX-License-Identifier: Apache-2.0
//
// `mmlab diff` as one request and one outcome: which deviations list applies, where random
// scenarios are written and with which seed, one file or a folder.

import Foundation
import MMGenerator
import MMSyntax
import MMScenario

/// What `mmlab diff` was asked to do.
public struct DiffRequest: Sendable {
    /// The scenario file, or with `all` the folder to search for `*.mms` files.
    public var file: String?
    public var all = false
    /// The deviations list; by default docs/deviations.md above the scenario or in the
    /// working directory.
    public var deviations: String?
    /// Diff this many generated scenarios instead of a file.
    public var random: Int?
    /// The seed of the first generated scenario (scenario i uses seed+i); by default from the clock.
    public var seed: UInt64?
    /// With `random`: only generate the scenarios and print what they cover (no kernel, no root).
    public var coverageOnly = false
    /// Record both sides' timelines for `--html` (one scenario only).
    public var timeline = false

    public init(file: String? = nil, all: Bool = false, deviations: String? = nil, random: Int? = nil, seed: UInt64? = nil,
                coverageOnly: Bool = false, timeline: Bool = false) {
        self.timeline = timeline
        self.file = file
        self.all = all
        self.deviations = deviations
        self.random = random
        self.seed = seed
        self.coverageOnly = coverageOnly
    }
}

extension LiveDiff {
    /// Runs `mmlab diff`. `note` receives each line for standard error as soon as it is
    /// known (a long `--all` reports scenario by scenario); without it the lines are kept in
    /// the outcome.
    public static func command(_ request: DiffRequest, note: ((String) -> Void)? = nil) -> CommandOutcome {
        var kept: [String] = []
        func say(_ line: String) {
            if let note { note(line) } else { kept.append(line) }
        }
        func outcome(_ output: String, _ status: Int32) -> CommandOutcome {
            CommandOutcome(output: output, standardError: kept, status: status)
        }
        if let count = request.random {
            // The seed is the one thing in mmlab taken from the clock: it is printed, so any
            // run can be repeated with --seed.
            let seed = request.seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
            if request.coverageOnly {
                var coverage = GeneratorCoverage()
                for i in 0..<count { coverage.add(ScenarioGenerator.generate(seed: seed &+ UInt64(i))) }
                return outcome("random scenarios: \(count), seed \(seed)\n" + coverage.text, 0)
            }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmlab-random-\(seed)").path
            let r = RandomDiff.run(count: count, seed: seed, directory: dir)
            return outcome(r.text, r.status)
        }
        guard let file = request.file else { return .usageError("mmlab: error: expected a scenario file") }
        let listPath = request.deviations ?? findDeviationsFile(near: file)
        var list: [Deviation] = []
        if let listPath {
            do {
                list = try loadDeviations(listPath)
            } catch {
                say("\(listPath): error: \(error)")
                return outcome("", 2)
            }
        } else {
            say("note: no docs/deviations.md found: every difference counts as unlisted")
        }
        if request.all {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDir), isDir.boolValue else {
                say("\(file): error: expected a folder")
                return outcome("", 2)
            }
            let r = diffAll(directory: file, deviations: list, deviationsPath: listPath) { one in
                for n in one.notes { say("note: \(one.file): \(n)") }
            }
            return outcome(r.text, r.status)
        }
        let text: String
        do {
            text = try ScenarioFile.read(file)
        } catch {
            say(error.message)
            return outcome("", 2)
        }
        let r = diff(source: text, file: file, deviations: list, timeline: request.timeline)
        for n in r.notes { say("note: \(n)") }
        var o = outcome(render(r, deviationsPath: listPath), r.status)
        if request.timeline && r.error == nil {
            let title = (try? ScenarioParser.parse(text, file: file))?.title
            o.timeline = timeline(r, title: title, deviationsPath: listPath)
        }
        return o
    }
}
