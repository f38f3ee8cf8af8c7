// SPDX-License-Identifier: Apache-2.0
//
// The known differences between the model and the kernel, as listed in docs/deviations.md.
// The format (documented at the top of that file):
//
//     ## A short title
//     - scenario: examples/fork/anon-cow.mms
//     - lines: 12, 14-16        (or: all)
//     - why: one or more lines of explanation
//
// One `##` section (at the start of a line) per deviation, up to the next `##` or `#`
// heading. Text outside sections, and other `- key:` lines, are free prose. A difference found by `mmlab diff` is known when a section names its
// scenario (the path's trailing components) and its statement line.

/// One known deviation.
public struct Deviation: Hashable, Sendable {
    public var title: String
    /// The scenario path as written (matched against the end of the diffed file's path).
    public var scenario: String
    /// The statement lines it covers; nil means every line.
    public var lines: Set<Int>?
    public var why: String
    /// Line of the `##` heading in the deviations file.
    public var sourceLine: Int

    /// Whether this deviation covers `line` of `file`.
    public func covers(file: String, line: Int) -> Bool {
        guard Deviation.samePath(file, scenario) else { return false }
        return lines.map { $0.contains(line) } ?? true
    }

    /// Whether `file` ends with the path components of `listed`.
    static func samePath(_ file: String, _ listed: String) -> Bool {
        let a = file.split(separator: "/").filter { $0 != "." }
        let b = listed.split(separator: "/").filter { $0 != "." }
        guard !b.isEmpty, b.count <= a.count else { return false }
        return Array(a.suffix(b.count)) == b
    }
}

/// An error in the deviations file.
public struct DeviationsError: Error, Sendable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "deviations file line \(line): \(message)" }
}

public enum Deviations {
    /// Parses the deviations file's text.
    public static func parse(_ text: String) throws(DeviationsError) -> [Deviation] {
        var out: [Deviation] = []
        var current: Deviation? = nil
        var sawLines = false

        func close() throws(DeviationsError) {
            guard let d = current else { return }
            if d.scenario.isEmpty { throw DeviationsError(line: d.sourceLine, message: "section '\(d.title)' names no '- scenario:'") }
            if !sawLines { throw DeviationsError(line: d.sourceLine, message: "section '\(d.title)' names no '- lines:'") }
            out.append(d)
            current = nil
        }

        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNo = i + 1
            let line = raw.trimming(" \t\r")
            // Headings count only at the start of a line (an indented example is prose).
            if raw.hasPrefix("## ") {
                try close()
                current = Deviation(title: String(line.dropFirst(3)).trimming(" \t"), scenario: "",
                                    lines: [], why: "", sourceLine: lineNo)
                sawLines = false
                continue
            }
            if raw.hasPrefix("# ") || line == "#" {
                try close()
                continue
            }
            guard current != nil, line.hasPrefix("- "), let colon = line.firstIndex(of: ":") else { continue }
            let key = line[line.index(line.startIndex, offsetBy: 2)..<colon].trimming(" \t").lowercased()
            let value = line[line.index(after: colon)...].trimming(" \t`")
            switch key {
            case "scenario":
                current?.scenario = value.trimming("`")
            case "lines", "line":
                sawLines = true
                if value.lowercased() == "all" {
                    current?.lines = nil
                    continue
                }
                var set = Set<Int>()
                for part in value.split(separator: ",") {
                    let p = part.trimming(" \t")
                    let bounds = p.split(separator: "-").map { Int($0.trimming(" \t")) }
                    if bounds.count == 1, let a = bounds[0] {
                        set.insert(a)
                    } else if bounds.count == 2, let a = bounds[0], let b = bounds[1], a <= b {
                        set.formUnion(a...b)
                    } else {
                        throw DeviationsError(line: lineNo, message: "expected line numbers (12, 14-16 or all), found '\(value)'")
                    }
                }
                current?.lines = set
            case "why":
                current?.why = value
            default:
                continue
            }
        }
        try close()
        return out
    }

    /// The first deviation covering a statement line of a file, if any.
    public static func find(_ list: [Deviation], file: String, line: Int) -> Deviation? {
        list.first { $0.covers(file: file, line: line) }
    }
}

extension StringProtocol {
    func trimming(_ set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
