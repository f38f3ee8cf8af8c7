// SPDX-License-Identifier: Apache-2.0
//
// `mmlab diff`: one scenario on the model and on the kernel, compared statement by statement
// (the result of each operation, each observation — normalised pagemap word, bits and
// identity, tokens read — and each expectation's verdict). Each disagreement is printed with
// both sides decoded and marked as known (listed in docs/deviations.md) or UNLISTED.

import Foundation
import MMLab
import MMScenario
import MMSyntax

/// One statement on which the backends disagree.
public struct StatementDifference: Sendable {
    /// The statement's line (0: the end of the run).
    public var line: Int
    public var text: String
    public var process: String
    /// Each side decoded, one line per item.
    public var model: [String]
    public var kernel: [String]
    /// The deviation that lists it, if one does.
    public var known: Deviation?
}

/// The comparison of one scenario.
public struct DiffResult: Sendable {
    public var file: String
    public var backend: String = "linux"
    /// Why the kernel side did not run.
    public var skipped: String?
    /// A parse or check error (neither side ran), or a deviations-file error.
    public var error: String?
    public var differences: [StatementDifference] = []
    /// How many statement reports were compared.
    public var compared = 0
    /// Host notes from the live run (standard error).
    public var notes: [String] = []
    /// Both sides' grids, when the diff recorded a timeline (`--html`).
    public var panels: [TimelinePanel] = []

    public var unlisted: Int { differences.filter { $0.known == nil }.count }
    public var known: Int { differences.count - unlisted }

    /// 0 no unlisted difference, 1 an unlisted one, 2 an error, 3 skipped.
    public var status: Int32 {
        if error != nil { return 2 }
        if skipped != nil { return skippedStatus }
        return unlisted > 0 ? 1 : 0
    }

    /// One cell of the `--all` table.
    public var verdict: String {
        if let error { return "error (\(firstLine(error)))" }
        if let skipped { return "skipped (\(skipped))" }
        if differences.isEmpty { return "agrees" }
        if unlisted == 0 { return "agrees (\(known) known deviation\(known == 1 ? "" : "s"))" }
        return "differs (\(unlisted) unlisted" + (known > 0 ? ", \(known) known)" : ")")
    }
}

func firstLine(_ s: String) -> String { String(s.split(separator: "\n").first ?? "") }

func hex16(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 16 - s.count)) + s
}

public enum LiveDiff {
    /// One side of a statement, decoded for people (and compared as such).
    static func view(_ e: StatementReport) -> [String] {
        var lines = ["result: " + (e.result == .ok ? "success" : e.result.description)]
        for o in e.observations {
            switch o {
            case .tokens(let ref, let value):
                lines.append("read \(ref) = \(value)")
            case .pagemap(let ref, let d):
                lines.append("pagemap \(ref) \(hex16(d.word)) \(d.bits.joined(separator: " "))" + (d.identity.isEmpty ? "" : " (\(d.identity))"))
            case .event(let u, let m):
                lines.append("event \(u): \(m)")
            case .scan(let ref, let cats):
                lines.append("pagemap_scan \(ref) \(cats.joined(separator: " "))")
            case .ksm(let values):
                lines.append("ksm \(values.joined(separator: " "))")
            case .memmap(let name, let bytes):
                lines.append("memmap \(name) \(bytes)")
            }
        }
        for x in e.expectations {
            lines.append(x.met ? "expectation met (\(x.message))" : "expectation FAILED: \(x.message)")
        }
        return lines
    }

    /// The end of a run: an error that stopped it, problems found by the backend.
    static func endView(_ r: RunReport) -> [String] {
        var lines: [String] = []
        if let f = r.fatal { lines.append("stopped: \(f)") }
        lines += r.problems.map { "problem: \($0)" }
        return lines.isEmpty ? ["ran to the end, no problems"] : lines
    }

    /// Compares two reports of the same scenario.
    public static func compare(model: RunReport, kernel: RunReport, deviations: [Deviation]) -> [StatementDifference] {
        var out: [StatementDifference] = []
        let n = max(model.entries.count, kernel.entries.count)
        for i in 0..<n {
            let m = i < model.entries.count ? model.entries[i] : nil
            let k = i < kernel.entries.count ? kernel.entries[i] : nil
            let mv = m.map(view) ?? ["not run (the run stopped earlier)"]
            let kv = k.map(view) ?? ["not run (the run stopped earlier)"]
            let sameStatement = m?.statement.location == k?.statement.location
            if mv == kv && sameStatement { continue }
            let s = (m ?? k)!
            out.append(StatementDifference(line: s.statement.location.line, text: s.statement.text, process: s.process,
                                           model: mv, kernel: kv,
                                           known: Deviations.find(deviations, file: model.file, line: s.statement.location.line)))
        }
        let me = endView(model), ke = endView(kernel)
        if me != ke {
            let line = model.fatal?.location.line ?? kernel.fatal?.location.line ?? 0
            out.append(StatementDifference(line: line, text: "(end of the run)", process: "main", model: me, kernel: ke,
                                           known: line == 0 ? nil : Deviations.find(deviations, file: model.file, line: line)))
        }
        return out
    }

    /// Runs a scenario on both backends and compares them.
    public static func diff(source: String, file: String, deviations: [Deviation], timeline: Bool = false) -> DiffResult {
        var result = DiffResult(file: file)
        let model = MMLabSession.run(source: source, file: file, options: RunOptions(timeline: timeline))
        guard let modelReport = model.report else {
            result.error = firstLine(model.output)
            return result
        }
        if let t = model.timeline { result.panels = t.panels }
        let live = LiveSession.execute(source: source, file: file, options: LiveOptions(timeline: timeline))
        if timeline { result.panels += live.timeline(file: file, title: nil).panels }
        result.notes = live.notes
        if let why = live.skipped {
            result.skipped = why
            return result
        }
        guard let kernelReport = live.report else {
            result.error = firstLine(live.output)
            return result
        }
        result.backend = kernelReport.backend
        result.compared = max(modelReport.entries.count, kernelReport.entries.count)
        result.differences = compare(model: modelReport, kernel: kernelReport, deviations: deviations)
        return result
    }

    /// The timeline of a diff: model and kernel side by side, with the verdict and each
    /// difference above them.
    public static func timeline(_ r: DiffResult, title: String?, deviationsPath: String?) -> Timeline {
        var summary = [firstLine(render(r, deviationsPath: deviationsPath))]
        let listName = deviationsPath ?? "docs/deviations.md"
        for d in r.differences {
            summary.append("line \(d.line): \(d.text): " + (d.known.map { "known (\(listName): \($0.title))" } ?? "UNLISTED")
                           + " — model: \(d.model.first ?? ""); kernel: \(d.kernel.first ?? "")")
        }
        return Timeline(kind: .diff, file: r.file, title: title, panels: r.panels, summary: summary)
    }

    /// The text `mmlab diff FILE` prints.
    public static func render(_ r: DiffResult, deviationsPath: String?) -> String {
        if let e = r.error { return "\(r.file): error: \(e)\n" }
        if let s = r.skipped { return "\(r.file): skipped: \(s)\n" }
        if r.differences.isEmpty {
            return "\(r.file): model and \(r.backend) agree on all \(r.compared) statements\n"
        }
        var out = "\(r.file): model and \(r.backend) differ on \(r.differences.count) statement"
            + (r.differences.count == 1 ? "" : "s") + " (\(r.unlisted) unlisted, \(r.known) known)\n"
        let listName = deviationsPath ?? "docs/deviations.md"
        for d in r.differences {
            let mark = d.known.map { "known (\(listName): \($0.title))" } ?? "UNLISTED"
            let who = d.process == "main" ? "" : "[\(d.process)] "
            out += "  line \(d.line): \(who)\(d.text)    \(mark)\n"
            for (i, l) in d.model.enumerated() { out += (i == 0 ? "    model:  " : "            ") + l + "\n" }
            for (i, l) in d.kernel.enumerated() { out += (i == 0 ? "    kernel: " : "            ") + l + "\n" }
        }
        return out
    }

    /// Every `*.mms` file under a directory, sorted by path.
    public static func scenarioFiles(under directory: String) -> [String] {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        guard let e = FileManager.default.enumerator(atPath: base) else { return [] }
        var files: [String] = []
        while let rel = e.nextObject() as? String {
            if rel.hasSuffix(".mms") { files.append(base + "/" + rel) }
        }
        return files.sorted()
    }

    /// `mmlab diff --all DIR`: the table, then the details of every difference; the exit
    /// status (1 when any difference is unlisted or a scenario failed to run, 3 when every
    /// scenario was skipped, else 0).
    public static func diffAll(directory: String, deviations: [Deviation], deviationsPath: String?,
                               progress: ((DiffResult) -> Void)? = nil) -> (text: String, status: Int32, results: [DiffResult]) {
        let files = scenarioFiles(under: directory)
        var results: [DiffResult] = []
        for f in files {
            let r: DiffResult
            if let data = FileManager.default.contents(atPath: f), let text = String(data: data, encoding: .utf8) {
                r = diff(source: text, file: f, deviations: deviations)
            } else {
                r = DiffResult(file: f, error: "cannot read the file as UTF-8 text")
            }
            progress?(r)
            results.append(r)
        }
        let width = max(results.map(\.file.count).max() ?? 0, 8) + 2
        var text = "scenario".padding(toLength: width, withPad: " ", startingAt: 0) + "result\n"
        for r in results {
            text += r.file.padding(toLength: width, withPad: " ", startingAt: 0) + r.verdict + "\n"
        }
        let agree = results.filter { $0.error == nil && $0.skipped == nil && $0.unlisted == 0 }.count
        let differ = results.filter { $0.error == nil && $0.skipped == nil && $0.unlisted > 0 }.count
        let skipped = results.filter { $0.skipped != nil }.count
        let errors = results.filter { $0.error != nil }.count
        text += "summary: \(results.count) scenarios: \(agree) agree, \(differ) differ, \(skipped) skipped, \(errors) errors\n"
        for r in results where !r.differences.isEmpty {
            text += "\n" + render(r, deviationsPath: deviationsPath)
        }
        let status: Int32
        if differ > 0 || errors > 0 { status = 1 }
        else if !results.isEmpty && skipped == results.count { status = skippedStatus }
        else { status = 0 }
        return (text, status, results)
    }

    /// Finds docs/deviations.md: in the folders above `path`, then in the working directory.
    public static func findDeviationsFile(near path: String) -> String? {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        for _ in 0..<12 {
            let candidate = url.appendingPathComponent("docs/deviations.md").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { break }
            url = parent
        }
        let cwd = FileManager.default.currentDirectoryPath + "/docs/deviations.md"
        return FileManager.default.fileExists(atPath: cwd) ? cwd : nil
    }

    /// Loads and parses a deviations file.
    public static func loadDeviations(_ path: String) throws -> [Deviation] {
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8) else {
            throw LiveError("cannot read \(path)")
        }
        return try Deviations.parse(text)
    }
}
