// SPDX-License-Identifier: Apache-2.0
//
// The random differential run (`mmlab diff --random N --seed S`, Tests/MMLiveTests/
// RandomDiffTests.swift): N generated scenarios (seeds S, S+1, …, S+N-1), each diffed against
// the kernel; the first one with an unlisted difference is minimised (delta debugging over
// its statements) and written to a file.

import Foundation
import MMGenerator
import MMScenario

/// Shrinks a scenario while a predicate still holds (delta debugging, Zeller's ddmin).
public enum ScenarioMinimiser {
    /// A statement line, or a block (`in c1 {` … `}`) with its body.
    indirect enum Item: Equatable {
        case line(String)
        case block(header: String, body: [Item], footer: String)
    }

    /// The statements of a scenario text: comments and blank lines dropped, blocks nested.
    static func items(_ text: String) -> [Item] {
        var stack: [(header: String, body: [Item])] = [("", [])]
        for raw in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = stripComment(String(raw))
            let trimmed = line.trimming(" \t")
            if trimmed.isEmpty { continue }
            if trimmed.hasSuffix("{") {
                stack.append((line, []))
            } else if trimmed == "}" && stack.count > 1 {
                let b = stack.removeLast()
                stack[stack.count - 1].body.append(.block(header: b.header, body: b.body, footer: line))
            } else {
                stack[stack.count - 1].body.append(.line(line))
            }
        }
        while stack.count > 1 {   // an unclosed block: keep it as it was
            let b = stack.removeLast()
            stack[stack.count - 1].body.append(.block(header: b.header, body: b.body, footer: "}"))
        }
        return stack[0].body
    }

    /// The line without a trailing `# comment` (a `#` inside a string stays).
    static func stripComment(_ line: String) -> String {
        var inString = false, escaped = false
        for (i, c) in line.enumerated() {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "#" {
                return String(line.prefix(i)).trimming(" \t")
            }
        }
        return line
    }

    static func render(_ items: [Item]) -> String {
        var out = ""
        func emit(_ list: [Item]) {
            for it in list {
                switch it {
                case .line(let l): out += l + "\n"
                case .block(let h, let body, let f):
                    out += h + "\n"
                    emit(body)
                    out += f + "\n"
                }
            }
        }
        emit(items)
        return out
    }

    /// ddmin over a list: removes chunks, halving their size down to single items, while
    /// `holds` accepts the remainder. `budget` counts the predicate calls left.
    static func ddmin<T>(_ start: [T], budget: inout Int, _ holds: ([T]) -> Bool) -> [T] {
        var items = start
        var n = 2
        while items.count >= 1 && budget > 0 {
            let chunk = max(1, (items.count + n - 1) / n)
            var reduced = false
            var begin = 0
            while begin < items.count && budget > 0 {
                let end = min(items.count, begin + chunk)
                let candidate = Array(items[..<begin] + items[end...])
                budget -= 1
                if holds(candidate) {
                    items = candidate
                    n = max(n - 1, 2)
                    reduced = true
                    break
                }
                begin = end
            }
            if !reduced {
                if chunk == 1 { break }
                n = min(items.count, n * 2)
            }
        }
        return items
    }

    /// The smallest scenario found for which `holds` is true (the original must satisfy it):
    /// top-level statements and blocks first, then the lines of each block, until nothing
    /// more can go or `budget` predicate calls are spent.
    public static func minimise(_ text: String, budget: Int = 400, holds: (String) -> Bool) -> String {
        var items = self.items(text)
        var left = budget
        var changed = true
        while changed && left > 0 {
            changed = false
            let before = items
            items = ddmin(items, budget: &left) { holds(render($0)) }
            // Inside each block that is left.
            var i = 0
            while i < items.count && left > 0 {
                if case .block(let h, let body, let f) = items[i], !body.isEmpty {
                    let prefix = Array(items[..<i]), suffix = Array(items[(i + 1)...])
                    let smaller = ddmin(body, budget: &left) { b in
                        holds(render(prefix + [.block(header: h, body: b, footer: f)] + suffix))
                    }
                    items[i] = .block(header: h, body: smaller, footer: f)
                }
                i += 1
            }
            // Then simpler lines: without a stated outcome (`-> SIGSEGV`), one page instead of a range.
            for path in linePaths(items) where left > 0 {
                for simplify in [withoutOutcome, firstPageOnly] {
                    guard left > 0, let line = line(items, at: path), let simpler = simplify(line) else { continue }
                    let candidate = replacing(items, at: path, with: simpler)
                    left -= 1
                    if holds(render(candidate)) { items = candidate }
                }
            }
            if items != before { changed = true }
        }
        return render(items)
    }

    /// The path (indices into blocks) of every line.
    static func linePaths(_ items: [Item], _ prefix: [Int] = []) -> [[Int]] {
        items.enumerated().flatMap { (i, it) -> [[Int]] in
            switch it {
            case .line: return [prefix + [i]]
            case .block(_, let body, _): return linePaths(body, prefix + [i])
            }
        }
    }

    static func line(_ items: [Item], at path: [Int]) -> String? {
        guard let i = path.first, i < items.count else { return nil }
        switch items[i] {
        case .line(let l): return path.count == 1 ? l : nil
        case .block(_, let body, _): return line(body, at: Array(path.dropFirst()))
        }
    }

    /// The line without its stated outcome (`-> SIGSEGV`).
    static func withoutOutcome(_ line: String) -> String? {
        line.range(of: " -> ").map { String(line[..<$0.lowerBound]) }
    }

    /// `A[3..7]` → `A[3]` in a line (its first range).
    static func firstPageOnly(_ line: String) -> String? {
        guard let open = line.firstIndex(of: "["), let dots = line.range(of: ".."),
              let close = line.firstIndex(of: "]"), open < dots.lowerBound, dots.upperBound < close else { return nil }
        return String(line[...open]) + String(line[line.index(after: open)..<dots.lowerBound]) + String(line[close...])
    }

    /// The items with the line at `path` replaced. Simplified lines always come from the
    /// current items, so paths stay valid: each replacement keeps the shape of the tree.
    static func replacing(_ items: [Item], at path: [Int], with line: String) -> [Item] {
        var copy = items
        guard let i = path.first, i < copy.count else { return items }
        if path.count == 1 {
            copy[i] = .line(line)
        } else if case .block(let h, let body, let f) = copy[i] {
            copy[i] = .block(header: h, body: replacing(body, at: Array(path.dropFirst()), with: line), footer: f)
        }
        return copy
    }
}

/// The outcome of `mmlab diff --random`.
public struct RandomDiffReport: Sendable {
    public var count: Int
    public var seed: UInt64
    public var agree = 0
    public var differ = 0
    public var skipped = 0
    /// Scenarios the generator got wrong (a parse or check error, or a run the model stopped).
    public var errors = 0
    /// The seeds of the scenarios with an unlisted difference.
    public var differingSeeds: [UInt64] = []
    /// The first scenario with an unlisted difference: its seed, text and diff.
    public var firstDifference: (seed: UInt64, source: String, result: DiffResult)?
    /// Its minimised form, the file it was written to, its diff, and how many of 3 re-runs
    /// still differed.
    public var minimal: (source: String, path: String, result: DiffResult, reproduced: Int)?
    /// The first generator error: seed, text, message.
    public var firstError: (seed: UInt64, source: String, message: String)?
    /// What the generated scenarios used.
    public var coverage = GeneratorCoverage()

    /// "random differential: N scenarios, seed S, K agree, D differ" (and the rest when
    /// there is any).
    public var summary: String {
        var s = "random differential: \(count) scenarios, seed \(seed), \(agree) agree, \(differ) differ"
        if skipped > 0 { s += ", \(skipped) skipped" }
        if errors > 0 { s += ", \(errors) generator errors" }
        return s
    }

    /// Exit status: 1 on a difference or a generator error, 3 when everything was skipped.
    public var status: Int32 {
        if differ > 0 || errors > 0 { return 1 }
        if count > 0 && skipped == count { return skippedStatus }
        return 0
    }

    /// The summary, what the scenarios covered, then the first difference (minimised) or
    /// generator error, for people.
    public var text: String {
        var out = summary + "\n" + coverage.text
        if let e = firstError {
            out += "\nfirst generator error (seed \(e.seed)): \(e.message)\n" + e.source
        }
        if !differingSeeds.isEmpty {
            out += "differing seeds: " + differingSeeds.prefix(50).map(String.init).joined(separator: " ")
                + (differingSeeds.count > 50 ? " …" : "") + "\n"
        }
        if let f = firstDifference {
            out += "\nfirst difference: seed \(f.seed) (reproduce: mmlab diff --random 1 --seed \(f.seed))\n"
            out += LiveDiff.render(f.result, deviationsPath: nil)
            if let m = minimal {
                out += "\nminimal scenario (\(m.reproduced)/3 re-runs differ), written to \(m.path):\n"
                out += m.source
                out += LiveDiff.render(m.result, deviationsPath: nil)
            }
        }
        return out
    }
}

public enum RandomDiff {
    /// The file name a generated scenario is diffed under (no deviation lists it).
    public static func fileName(seed: UInt64) -> String { "random-\(seed).mms" }

    /// The first unlisted difference's statement, which the minimiser keeps.
    static func firstUnlisted(_ r: DiffResult) -> StatementDifference? { r.differences.first { $0.known == nil } }

    /// Runs `count` scenarios from `seed` on the model and the kernel. The first one that
    /// differs is minimised and written under `directory`. `progress` sees each result.
    public static func run(count: Int, seed: UInt64, directory: String, minimiseBudget: Int = 400,
                           progress: ((UInt64, DiffResult) -> Void)? = nil) -> RandomDiffReport {
        var report = RandomDiffReport(count: count, seed: seed)
        for i in 0..<count {
            let s = seed &+ UInt64(i)
            let source = ScenarioGenerator.generate(seed: s)
            report.coverage.add(source)
            let file = fileName(seed: s)
            let r = LiveDiff.diff(source: source, file: file, deviations: [])
            progress?(s, r)
            if let e = r.error {
                report.errors += 1
                if report.firstError == nil { report.firstError = (s, source, e) }
            } else if r.skipped != nil {
                report.skipped += 1
            } else if r.unlisted > 0 {
                report.differ += 1
                report.differingSeeds.append(s)
                if report.firstDifference == nil { report.firstDifference = (s, source, r) }
            } else {
                report.agree += 1
            }
        }
        if let f = report.firstDifference {
            report.minimal = minimise(source: f.source, seed: f.seed, result: f.result, directory: directory,
                                      budget: minimiseBudget)
        }
        return report
    }

    /// Minimises a differing scenario: a smaller one must still have an unlisted difference
    /// on a statement with the same text (the same disagreement, not another one).
    public static func minimise(source: String, seed: UInt64, result: DiffResult, directory: String,
                                budget: Int = 400) -> (source: String, path: String, result: DiffResult, reproduced: Int) {
        let file = "random-\(seed)-min.mms"
        let target = firstUnlisted(result)
        func differs(_ text: String) -> DiffResult? {
            let r = LiveDiff.diff(source: text, file: file, deviations: [])
            guard r.error == nil, r.skipped == nil, let d = firstUnlisted(r) else { return nil }
            guard let t = target else { return r }
            return d.text == t.text && d.process == t.process ? r : nil
        }
        let minimal = ScenarioMinimiser.minimise(source, budget: budget) { differs($0) != nil }
        var last = result
        var reproduced = 0
        for _ in 0..<3 {
            if let r = differs(minimal) {
                reproduced += 1
                last = r
            }
        }
        let header = "# minimised from `mmlab diff --random 1 --seed \(seed)`\n"
        let text = header + minimal
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = URL(fileURLWithPath: directory).appendingPathComponent(file).path
        if !FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) {
            return (text, "(could not write \(path))", last, reproduced)
        }
        return (text, path, last, reproduced)
    }
}
