// SPDX-License-Identifier: Apache-2.0
//
// One input of the coverage-guided fuzzer (the libFuzzer target in Fuzz/) and of its
// regression tests: bytes taken as a scenario, through the parser, the checker and the model
// runner with the invariants checked after every operation (and `explore`, briefly, for a
// scenario with threads). The properties it checks are what users rely on: bad input gets a
// diagnostic that points inside the file (never a trap), a valid scenario runs without an
// invariant violation, a leak or an internal model error, and the same input gives the same
// output. The bounds are the harness's, never the model's: a scenario whose statements would
// touch more pages than `Bounds` allows (sizes may be huge: only the pages touched cost) is
// parsed and checked but not run, so that one input stays short.

import MMExplore
import MMScenario
import MMSyntax

/// What one fuzz input showed.
public struct FuzzVerdict: Sendable {
    /// Properties that did not hold (empty: the input is fine).
    public var problems: [String] = []
    /// How far the input went: "parse error", "check error", "not run: …", "ran", "explored".
    public var stage = ""
}

public enum FuzzHarness {
    /// What one input may make the model do.
    public struct Bounds: Sendable {
        /// Statements, blocks' bodies included.
        public var statements = 80
        /// Pages one statement goes through page by page (reads, writes, pagemap, pread,
        /// populate, guard_install, the uffd fills, write-protection with markers, poison,
        /// pin, convert).
        public var pagesPerStatement = 1024
        /// Pages of all such statements together.
        public var pagesInAll = 8192
        public var forks = 6
        /// Full KSM scans in all.
        public var ksmScans = 6
        /// Executions of `explore` for a scenario with threads, and the pages its statements
        /// may touch in all (every step checks every invariant).
        public var exploreExecutions = 12
        public var explorePages = 256
        public init() {}
    }

    /// The file name diagnostics must carry.
    public static let fileName = "fuzz.mms"

    /// Runs one input; the verdict lists what went wrong.
    public static func check(_ bytes: [UInt8], bounds: Bounds = Bounds()) -> FuzzVerdict {
        let source = String(decoding: bytes, as: UTF8.self)
        var v = FuzzVerdict()
        let lines = lineCount(source)
        let scenario: Scenario
        do {
            scenario = try ScenarioParser.parse(source, file: fileName)
        } catch {
            v.stage = "parse error"
            if !pointsInside(error, lines: lines) || !error.message.hasPrefix("expected ") || !error.message.contains(", found ") {
                v.problems.append("parser diagnostic out of shape or place: \(error)")
            }
            return v
        }
        for s in allStatements(scenario.statements) where !(1...max(lines, 1)).contains(s.location.line) || s.location.column < 1 {
            v.problems.append("statement outside the file: \(s.location) \(s.text)")
        }
        if case .failure(let d) = MMLabSession.prepare(source, file: fileName) {
            v.stage = "check error"
            if !pointsInside(d, lines: lines) { v.problems.append("checker diagnostic outside the file: \(d)") }
            return v
        }
        if let why = exceeds(scenario, bounds) {
            v.stage = "not run: \(why)"
            return v
        }
        var exploreBounds = bounds
        exploreBounds.pagesInAll = bounds.explorePages
        exploreBounds.statements = bounds.statements / 2
        let explorable = exceeds(scenario, exploreBounds) == nil
        // The model runner, invariants on; every few inputs also as JSON with costs, and twice
        // (the same input gives the same output).
        let h = bytes.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }
        let options = RunOptions(json: h % 4 == 1, stats: h % 2 == 0, internalChecks: true)
        let out = MMLabSession.run(source: source, file: fileName, options: options)
        v.stage = "ran"
        if let r = out.report {
            for p in r.problems { v.problems.append("model problem: \(p)") }
            if let f = r.fatal, f.message.contains("internal model error") { v.problems.append("\(f)") }
        } else if out.status != 2 {
            v.problems.append("no report and exit \(out.status)")
        }
        if out.output.contains("internal model error") { v.problems.append("internal model error in the output") }
        if h % 8 == 3 {
            let again = MMLabSession.run(source: source, file: fileName, options: options)
            if again.output != out.output || again.status != out.status { v.problems.append("not deterministic") }
        }
        // A scenario with threads: a few interleavings, with the invariants as a check.
        if explorable, allStatements(scenario.statements).contains(where: { if case .thread = $0.kind { return true } else { return false } }) {
            var o = ExploreOptions()
            o.maxExecutions = bounds.exploreExecutions
            o.measurePlainEnumeration = false
            let withConsistency = source + "\ncheck consistent\n"
            let (ex, result) = MMLabSession.exploration(source: withConsistency, file: fileName, options: o)
            v.stage = "explored"
            if let result, let c = result.verdicts.first(where: { $0.name == "consistent" }), c.failingExecutions > 0 {
                v.problems.append("explore: invariants broken: \(c.firstProblem)")
            }
            if ex.output.contains("internal model error") { v.problems.append("explore: internal model error") }
        }
        return v
    }

    /// The words of the language and its punctuation, for libFuzzer's `-dict=` (one token per
    /// entry): taken from ScenarioVocabulary, so the dictionary follows the language.
    public static var dictionary: [String] {
        var words = ScenarioVocabulary.statements + ScenarioVocabulary.kconfigOptions + ScenarioVocabulary.madviseAdvice
            + ScenarioVocabulary.guestMemfdFlags + ScenarioVocabulary.uffdFeatures + ScenarioVocabulary.uffdRegisterModes
            + ScenarioVocabulary.pagemapBits + ScenarioVocabulary.pagefaultFlags + ScenarioVocabulary.ksmCounters
            + ScenarioVocabulary.pagemapScanCategories + ScenarioVocabulary.checks + ScenarioVocabulary.errnos
            + ScenarioVocabulary.signals
        for d in ScenarioVocabulary.designSwitches { words += [d.key] + d.values }
        words += ["anon", "private", "shared", "r", "rw", "none", "offset=", "align=", "flags=", "features=", "seq(",
                  "frame=", "same(", "new", "zero", "id(", "->", "==", "..", "[", "]", "{", "}", "=", ",", "#", "\"",
                  "p", "K", "M", "G", "0x", "wp", "dontwake", "register", "unregister", "unwp", "copy", "zeropage",
                  "continue", "wake", "event", "no", "pagefault", "remove", "unmap", "remap", "run", "scan",
                  "use_zero_pages", "max_page_sharing", "memory_merge", "on", "off", "y", "n", "main", "wp_matching",
                  "check_wpasync", "16384G", "4294967295", "0x7fffffffffffffff", "0x8000000000000000", "\n", "\n}\n"]
        return Array(Set(words)).sorted()
    }

    /// Why a scenario would run too long for one fuzz input (nil: it runs).
    static func exceeds(_ scenario: Scenario, _ b: Bounds) -> String? {
        let statements = allStatements(scenario.statements)
        if statements.count > b.statements { return "\(statements.count) statements" }
        var pages: [String: Int] = [:]
        var total = 0, forks = 0, scans = 0
        var hugeDax = false
        for s in statements {
            var touched: PageRef? = nil
            switch s.kind {
            case .memfd(let n, let bytes), .guestMemfd(let n, let bytes, _, _):
                pages[n] = pagesOf(bytes)
            case .dax(let n, let bytes, let align):
                pages[n] = pagesOf(bytes)
                if align > 2 << 20 { hugeDax = true }
            case .mmap(let n, let backing, _, _, let bytes, let offset, _):
                if let bytes { pages[n] = pagesOf(bytes) } else if case .object(let o) = backing {
                    pages[n] = max(0, (pages[o] ?? 0) - pagesOf(offset ?? 0))
                }
            case .fork: forks += 1
            case .ksmScan(let n): scans += max(0, n)
            case .read(let r), .write(let r, _), .expectRead(let r, _), .pagemap(let r), .expectPagemapWord(let r, _),
                 .expectPagemapFields(let r, _), .pread(let r), .poison(let r), .uffdCopy(_, let r, _, _, _),
                 .uffdZeropage(_, let r, _), .uffdContinue(_, let r, _, _), .uffdPoison(_, let r, _),
                 .uffdWriteProtect(_, let r, _, _), .pin(_, let r, _), .convert(let r, _):
                touched = r
            case .madvise(let r, let advice) where ["populate_read", "populate_write", "guard_install"].contains(advice):
                touched = r
            default: break
            }
            if let r = touched {
                let span = r.first.flatMap { f in r.last.map { $0 - f } }
                let n = span.map { $0 >= Int.max - 1 ? Int.max : $0 + 1 } ?? pages[r.name] ?? 0
                if n > b.pagesPerStatement { return "\(s.text): \(n) pages" }
                total += n
            }
        }
        if total > b.pagesInAll { return "\(total) pages touched in all" }
        if forks > b.forks { return "\(forks) forks" }
        if scans > b.ksmScans { return "\(scans) KSM scans" }
        // A fault of a 1 GiB-aligned device maps 262,144 PTEs at once, and every invariant check
        // after it reads them all.
        if hugeDax { return "a 1 GiB-aligned dax device" }
        return nil
    }

    /// Every statement, the bodies of blocks included.
    static func allStatements(_ list: [Statement]) -> [Statement] {
        list.flatMap { s -> [Statement] in
            switch s.kind {
            case .thread(_, let body), .inProcess(_, let body), .when(_, _, let body): return [s] + allStatements(body)
            default: return [s]
            }
        }
    }

    static func pagesOf(_ bytes: UInt64) -> Int { Int(clamping: bytes / 4096 + (bytes % 4096 == 0 ? 0 : 1)) }

    static func pointsInside(_ d: Diagnostic, lines: Int) -> Bool {
        d.location.file == fileName && (1...max(lines, 1)).contains(d.location.line) && d.location.column >= 1
    }

    /// The number of lines as the lexer counts them ("\n", "\r\n" or "\r" end a line).
    static func lineCount(_ source: String) -> Int {
        var count = 1
        var previous: UInt8 = 0
        for byte in source.utf8 {
            if byte == 0x0A, previous != 0x0D { count += 1 }
            if byte == 0x0D { count += 1 }
            previous = byte
        }
        return count
    }
}
