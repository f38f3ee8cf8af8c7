// SPDX-License-Identifier: Apache-2.0
//
// `mmlab compare`: one scenario under several values of design switches, side by side: the
// expectations met under each, the observations that differ, and the cost counters.

import MMLab
import MMSyntax

/// Spaces and tabs trimmed from both ends.
func trimmed<S: StringProtocol>(_ s: S) -> String {
    var sub = Substring(s)
    while let f = sub.first, f == " " || f == "\t" { sub = sub.dropFirst() }
    while let l = sub.last, l == " " || l == "\t" { sub = sub.dropLast() }
    return String(sub)
}

/// A message for people, as an error.
struct CompareError: Error { var message: String }

extension MMLabSession {
    /// Parses `KEY=V1,V2;KEY2=W1,W2` into the cartesian product of designs to run.
    static func designVariants(_ spec: String) -> Result<[[(String, String)]], CompareError> {
        var axes: [(String, [String])] = []
        for part in spec.split(separator: ";").map({ trimmed($0) }) where !part.isEmpty {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { return .failure(CompareError(message: "expected KEY=V1,V2, found '\(part)'")) }
            let key = trimmed(kv[0])
            guard let sw = Design.switches.first(where: { $0.key == key }) else {
                return .failure(CompareError(message: "unknown design switch '\(key)' (known: \(Design.switches.map(\.key).joined(separator: ", ")))"))
            }
            let values = kv[1].split(separator: ",").map { trimmed($0) }
            for v in values where !sw.values.contains(v) {
                return .failure(CompareError(message: "unknown value '\(v)' for \(key) (known: \(sw.values.joined(separator: ", ")))"))
            }
            axes.append((key, values))
        }
        guard !axes.isEmpty else { return .failure(CompareError(message: "expected at least one KEY=V1,V2")) }
        var out: [[(String, String)]] = [[]]
        for (key, values) in axes {
            out = out.flatMap { prefix in values.map { prefix + [(key, $0)] } }
        }
        return .success(out)
    }

    /// `mmlab compare FILE --design SPEC`: what to print and the exit status (0 done, 2 error).
    /// With `timeline`, the outcome carries one grid per design for `--html`.
    public static func compare(source: String, file: String, designSpec: String, timeline: Bool = false) -> CommandOutcome {
        let variants: [[(String, String)]]
        switch designVariants(designSpec) {
        case .success(let v): variants = v
        case .failure(let e): return CommandOutcome(output: "\(file): error: \(e.message)\n", status: 2)
        }
        var reports: [(String, RunReport)] = []
        var panels: [TimelinePanel] = []
        for variant in variants {
            // The variant's design lines go first; the scenario's own design lines for the
            // same switch are replaced.
            let keys = variant.map(\.0)
            let kept = source.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                let t = trimmed(line)
                if t.hasPrefix("design "), keys.contains(where: { trimmed(t.dropFirst(7)).hasPrefix($0) }) {
                    return "# (design set by compare)"
                }
                return String(line)
            }
            let header = variant.map { "design \($0.0) = \($0.1)" }
            let name = variant.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
            // Design lines must come before operations: they are prepended, and the report's line
            // numbers are shifted back to the original file's.
            let text = (header + kept).joined(separator: "\n")
            let out = run(source: text, file: file, options: RunOptions(stats: true, timeline: timeline))
            guard var report = out.report else {
                return CommandOutcome(output: "\(name): \(out.output)", status: 2, error: out.error)
            }
            // Shift locations back to the original file's lines.
            for i in report.entries.indices {
                report.entries[i].statement.location.line -= header.count
            }
            reports.append((name, report))
            if timeline, let t = out.timeline {
                // The design lines compare put first are not the scenario's statements.
                var shown = report
                shown.entries.removeAll { $0.statement.location.line <= 0 }
                panels.append(TimelinePanel(name: name, report: shown, leftOut: t.panels.first?.footer.filter { $0.contains("not shown") } ?? []))
            }
        }
        var text = "\(file): \(reports.count) design variants\n\n"
        let w = max(12, reports.map(\.0.count).max() ?? 12)
        text += padRight("variant", w) + "  expectations        faults  pte reads  pte writes  pc lookups  xa nodes"
            + "  markers  tlb flushes  copies  swap-outs  slot stores  i_mmap walks  alias breaks  ksm freed\n"
        for (name, r) in reports {
            let c = r.costs ?? Costs()
            text += padRight(name, w) + "  " + padRight("\(r.met) met, \(r.failed) failed", 18)
                + pad(c.faults, 8) + pad(c.pteReads, 11) + pad(c.pteWrites, 12) + pad(c.pageCacheLookups, 12)
                + pad(c.xarrayNodes, 10) + pad(c.markerDecodes, 9)
                + pad(c.tlbFlushes, 13) + pad(c.pageCopies, 8) + pad(c.swapOuts, 11)
                + pad(c.slotStores, 13) + pad(c.iMmapWalks, 14) + pad(c.aliasBreaks, 14) + pad(c.ksmFramesFreed, 11) + "\n"
            if let f = r.fatal { text += "  \(name): stopped: \(f)\n" }
        }
        // Counters of one design's mechanism, only when a variant used it.
        if reports.contains(where: { ($0.1.costs ?? Costs()).conversionCounters.contains { $0.1 != 0 } }) {
            text += "\n" + padRight("variant", w) + "  guest_memfd conversion: "
                + Costs().conversionCounters.map(\.0).joined(separator: ", ") + "\n"
            for (name, r) in reports {
                let c = (r.costs ?? Costs()).conversionCounters
                text += padRight(name, w) + "  " + c.map { String($0.1) }.joined(separator: ", ") + "\n"
            }
        }
        // Seed 003: what device-dax offers under each dax.memmap value, when the scenario has a
        // device and the variants set the switch.
        if reports.contains(where: { $0.1.metadata.contains { $0.0.contains("dax:") } }),
           variants.allSatisfy({ $0.contains { $0.0 == "dax.memmap" } }) {
            let rows = variants.map { v -> [(service: String, answer: String)] in
                var d = Design()
                for (k, value) in v { _ = d.set(k, value) }
                return Kernel(design: d).daxServices()
            }
            text += "\ndevice-dax services:\n"
            for (i, row) in rows[0].enumerated() {
                text += "  \(row.service)\n"
                for (j, (name, _)) in reports.enumerated() { text += "    \(padRight(name, w))  \(rows[j][i].answer)\n" }
            }
        }
        // Observations that differ between variants, statement by statement.
        var diffs: [String] = []
        let base = reports[0].1
        for (i, e) in base.entries.enumerated() {
            let views = reports.map { (name, r) -> (String, String) in
                guard i < r.entries.count else { return (name, "(not run)") }
                return (name, describeEntry(r.entries[i]))
            }
            if Set(views.map(\.1)).count > 1 {
                diffs.append("line \(e.statement.location.line): \(e.statement.text)")
                for (name, v) in views { diffs.append("    \(padRight(name, w))  \(v)") }
            }
        }
        if diffs.isEmpty {
            text += "\nevery variant observed the same thing\n"
        } else {
            text += "\nobservations that differ:\n" + diffs.joined(separator: "\n") + "\n"
        }
        for (name, r) in reports where !r.metadata.isEmpty {
            for (what, bytes) in r.metadata { text += "\(name): metadata: \(what): \(bytes) bytes\n" }
        }
        var outcome = CommandOutcome(output: text, status: 0)
        if timeline {
            var summary = ["\(reports.count) design variants; cells outlined differ from the first variant's"]
            summary += diffs.filter { $0.hasPrefix("line ") }.map { "differs: \($0)" }
            outcome.timeline = Timeline(kind: .compare, file: file, title: reports.first?.1.title, panels: panels, summary: summary)
        }
        return outcome
    }

    static func describeEntry(_ e: StatementReport) -> String {
        if let n = e.note, n.hasPrefix("not run") { return n }
        var parts: [String] = [e.result.isOK ? "ok" : e.result.description]
        for o in e.observations {
            switch o {
            case .tokens(let ref, let v): parts.append("\(ref)=\(v)")
            case .pagemap(let ref, let d): parts.append("\(ref) \(d.summary)")
            case .event(let u, let m): parts.append("\(u): \(m)")
            case .scan(let ref, let c): parts.append("\(ref) \(c.joined(separator: " "))")
            case .ksm(let v): parts.append(v.joined(separator: " "))
            case .memmap(let name, let bytes): parts.append("memmap \(name) \(bytes) B")
            }
        }
        for x in e.expectations where !x.met { parts.append("FAILED: \(x.message)") }
        return parts.joined(separator: "; ")
    }
}
