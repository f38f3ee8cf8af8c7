// SPDX-License-Identifier: Apache-2.0
//
// What generated scenarios use, counted from their text (parsed, not from the generator's
// intentions): per statement, per madvise advice, per userfaultfd ioctl, feature, mode and
// event, per stated outcome, per feature and per pair of features — how many scenarios used
// each. `mmlab diff --random N` prints it after its summary; `--coverage-only` prints it
// without running anything on the kernel.

import MMSyntax
import MMUAPI

/// Counts of scenarios using each item.
public struct GeneratorCoverage: Sendable {
    /// The features counted per scenario and per pair, in report order, with a short code.
    public static let features: [(name: String, code: String)] = [
        ("swap", "swp"), ("shmem", "shm"), ("guest_memfd", "gmf"), ("fork", "frk"), ("threads", "thr"),
        ("uffd missing", "mis"), ("uffd wp", "wp"), ("uffd minor", "min"), ("uffd wp_async", "asy"),
        ("uffd sigbus", "sgb"), ("uffd events", "evt"), ("ksm", "ksm"), ("prctl memory_merge", "prc"),
        ("ksm zero pages", "zer"), ("guard regions", "grd"), ("pagemap_scan", "pms"), ("populate", "pop"),
        ("mprotect", "mpr"), ("munmap", "mun"), ("punch/remove", "pun"), ("madvise free", "fre"),
        ("fork advice", "fad"),
    ]

    /// Pairs of features that never meet by design (the generator's file comment says why).
    public static let excludedPairs: [(String, String)] = [("ksm zero pages", "fork advice")]

    /// The statements the live backend runs, as coverage items (LiveSession.statementRefusal()'s
    /// list; MMLiveTests checks that the two agree).
    public static let liveStatements: [String] = [
        "scenario", "design", "kconfig", "swap", "memfd", "guest_memfd", "mmap", "read", "write", "munmap",
        "mprotect", "madvise", "punch", "pread", "pwrite", "poison", "fork", "in", "exit", "clear_refs", "pin", "unpin", "convert",
        "prctl memory_merge", "pagemap", "pagemap_scan", "expect pagemap =", "expect pagemap fields",
        "expect read", "expect event", "expect no event", "expect pagemap_scan", "expect ksm", "thread", "join", "when design",
        "uffd", "uffd register", "uffd unregister", "uffd wp", "uffd unwp", "uffd copy", "uffd zeropage",
        "uffd continue", "uffd poison", "uffd wake", "ksm run", "ksm scan", "ksm use_zero_pages",
        "ksm max_page_sharing", "check consistent",
    ]

    public private(set) var scenarios = 0
    /// Scenarios that did not parse (the generator's error; counted, not covered).
    public private(set) var unparsed = 0
    var counts: [String: Int] = [:]
    var pairCounts: [String: Int] = [:]

    public init() {}

    /// The coverage item of a statement (exhaustive: a new statement must say what it is).
    public static func item(_ s: Statement) -> String {
        switch s.kind {
        case .scenarioTitle: "scenario"
        case .design: "design"
        case .kconfig: "kconfig"
        case .swap: "swap"
        case .memfd: "memfd"
        case .mmap: "mmap"
        case .guestMemfd: "guest_memfd"
        case .dax: "dax"
        case .read: "read"
        case .write: "write"
        case .munmap: "munmap"
        case .mprotect: "mprotect"
        case .madvise: "madvise"
        case .punch: "punch"
        case .pread: "pread"
        case .pwrite: "pwrite"
        case .fork: "fork"
        case .exitProcess: "exit"
        case .inProcess: "in"
        case .when: "when design"
        case .pin: "pin"
        case .unpin: "unpin"
        case .convert: "convert"
        case .expectMemmap: "expect memmap"
        case .expectGuestMemfd: "expect guest_memfd"
        case .clearRefs: "clear_refs"
        case .ksmRun: "ksm run"
        case .ksmScan: "ksm scan"
        case .ksmUseZeroPages: "ksm use_zero_pages"
        case .ksmMaxPageSharing: "ksm max_page_sharing"
        case .prctlMemoryMerge: "prctl memory_merge"
        case .poison: "poison"
        case .uffdCreate: "uffd"
        case .uffdRegister: "uffd register"
        case .uffdUnregister: "uffd unregister"
        case .uffdWriteProtect(_, _, let protect, _): protect ? "uffd wp" : "uffd unwp"
        case .uffdCopy: "uffd copy"
        case .uffdZeropage: "uffd zeropage"
        case .uffdContinue: "uffd continue"
        case .uffdPoison: "uffd poison"
        case .uffdWake: "uffd wake"
        case .thread: "thread"
        case .join: "join"
        case .pagemap: "pagemap"
        case .pagemapScan: "pagemap_scan"
        case .expectPagemapWord: "expect pagemap ="
        case .expectPagemapFields: "expect pagemap fields"
        case .expectRead: "expect read"
        case .expectEvent: "expect event"
        case .expectNoEvent: "expect no event"
        case .expectKSM: "expect ksm"
        case .expectPagemapScan: "expect pagemap_scan"
        case .check(let name): "check \(name)"
        }
    }

    /// Every item a statement counts for: the statement, and its advice, flags, modes, event…
    static func items(_ s: Statement) -> [String] {
        var out = [item(s)]
        switch s.kind {
        case .madvise(_, let advice): out.append("advice \(advice)")
        case .uffdCreate(_, let features):
            out += features.map { "feature \($0)" }
            if features.isEmpty { out.append("feature (none)") }
        case .uffdRegister(_, _, let modes): out.append("mode " + modes.joined(separator: ","))
        case .uffdWriteProtect(_, _, _, let dontwake): if dontwake { out.append("flag dontwake") }
        case .uffdCopy(_, _, _, let wp, let dontwake), .uffdContinue(_, _, let wp, let dontwake):
            if wp { out.append("flag \(item(s)) wp") }
            if dontwake { out.append("flag dontwake") }
        case .uffdZeropage(_, _, let dontwake), .uffdPoison(_, _, let dontwake):
            if dontwake { out.append("flag dontwake") }
        case .expectEvent(_, let pattern):
            switch pattern {
            case .pagefault(_, let flags): out.append("event pagefault" + (flags.isEmpty ? "" : " " + flags.sorted().joined(separator: " ")))
            case .fork: out.append("event fork")
            case .remove: out.append("event remove")
            case .unmap: out.append("event unmap")
            case .remap: out.append("event remap")
            }
        case .pagemapScan(_, let flags): out.append("pagemap_scan " + (flags.isEmpty ? "(no flags)" : flags.joined(separator: " ")))
        case .ksmUseZeroPages(let on): out.append("ksm use_zero_pages \(on ? "on" : "off")")
        case .prctlMemoryMerge(let on): out.append("prctl memory_merge \(on ? "on" : "off")")
        default: break
        }
        if let o = s.outcome { out.append("outcome \(o)") }
        return out
    }

    /// The features a scenario uses.
    static func features(_ statements: [Statement]) -> [String] {
        var f: [String] = []
        func add(_ name: String) { if !f.contains(name) { f.append(name) } }
        var memfds: [String] = []
        for s in statements {
            switch s.kind {
            case .swap: add("swap")
            case .memfd(let name, _): memfds.append(name)
            case .mmap(_, let backing, let shared, _, _, _, _):
                if case .object(let o) = backing, memfds.contains(o) { add("shmem") }
                if case .anon = backing, shared { add("shmem") }
            case .guestMemfd: add("guest_memfd")
            case .fork: add("fork")
            case .thread: add("threads")
            case .uffdRegister(_, _, let modes):
                if modes.contains("missing") { add("uffd missing") }
                if modes.contains("wp") { add("uffd wp") }
                if modes.contains("minor") { add("uffd minor") }
            case .uffdCreate(_, let features):
                if features.contains("wp_async") { add("uffd wp_async") }
                if features.contains("sigbus") { add("uffd sigbus") }
            case .expectEvent(_, let pattern):
                if case .pagefault = pattern {} else { add("uffd events") }
            case .ksmScan: add("ksm")
            case .prctlMemoryMerge: add("prctl memory_merge")
            case .ksmUseZeroPages(true): add("ksm zero pages")
            case .madvise(_, let advice):
                switch advice {
                case "guard_install": add("guard regions")
                case "populate_read", "populate_write": add("populate")
                case "remove": add("punch/remove")
                case "free": add("madvise free")
                case "dontfork", "dofork", "wipeonfork", "keeponfork": add("fork advice")
                default: break
                }
            case .pagemapScan, .expectPagemapScan: add("pagemap_scan")
            case .mprotect: add("mprotect")
            case .munmap: add("munmap")
            case .punch: add("punch/remove")
            default: break
            }
        }
        return f
    }

    static func flatten(_ list: [Statement]) -> [Statement] {
        list.flatMap { s -> [Statement] in
            switch s.kind {
            case .inProcess(_, let body), .thread(_, let body), .when(_, _, let body): return [s] + flatten(body)
            default: return [s]
            }
        }
    }

    static func pairKey(_ a: String, _ b: String) -> String { a + " × " + b }

    /// The episodes of a block (see ScenarioGenerator.swift): a thread whose statement a
    /// handler answers with `expect event` (in the main flow, or in a handler thread), a
    /// thread whose system call waits for its event, and the store after a KSM merge that the
    /// main flow unprotects whether or not it trapped.
    static func episodes(_ list: [Statement]) -> [String] {
        var out: [String] = []
        var scanned = false
        for (i, s) in list.enumerated() {
            if case .ksmScan = s.kind { scanned = true }
            var body: [Statement] = []
            if case .thread(_, let b) = s.kind { body = b }
            if case .inProcess(_, let b) = s.kind, b.count == 1, case .thread(_, let tb) = b[0].kind { body = tb }
            guard body.count == 1, i + 1 < list.count else { continue }
            let next = list[i + 1]
            if case .write(let r, _) = body[0].kind, case .uffdWriteProtect(_, let r2, false, _) = next.kind,
               r.description == r2.description {
                out.append(scanned ? "episode store after a KSM merge, unprotected" : "episode store, unprotected")
                continue
            }
            if case .thread(_, let h) = next.kind, h.contains(where: { if case .expectEvent = $0.kind { return true } else { return false } }) {
                out.append("episode userfault, handler thread")
                continue
            }
            // The handler in the main flow: the first `expect event` that follows.
            for n in list[(i + 1)...].prefix(4) {
                guard case .expectEvent(_, let pattern) = n.kind else { continue }
                if case .pagefault = pattern { out.append("episode userfault, handler in main") } else { out.append("episode event") }
                break
            }
        }
        return out
    }

    /// Counts one scenario.
    public mutating func add(_ source: String) {
        scenarios += 1
        guard let scenario = try? ScenarioParser.parse(source, file: "coverage.mms") else {
            unparsed += 1
            return
        }
        let all = Self.flatten(scenario.statements)
        var seen: [String] = Self.episodes(scenario.statements)
        for s in all {
            for i in Self.items(s) where !seen.contains(i) { seen.append(i) }
        }
        for i in seen { counts[i, default: 0] += 1 }
        let f = Self.features(all)
        for name in f { counts["use " + name, default: 0] += 1 }
        let order = Self.features.map(\.name)
        for (x, a) in order.enumerated() where f.contains(a) {
            for b in order[(x + 1)...] where f.contains(b) { pairCounts[Self.pairKey(a, b), default: 0] += 1 }
        }
    }

    /// How many scenarios used an item (`write`, `advice pageout`, `feature wp_async`, …).
    public func count(_ item: String) -> Int { counts[item] ?? 0 }
    /// How many scenarios used a feature.
    public func count(feature: String) -> Int { counts["use " + feature] ?? 0 }
    /// How many scenarios used both features.
    public func count(_ a: String, _ b: String) -> Int {
        pairCounts[Self.pairKey(a, b)] ?? pairCounts[Self.pairKey(b, a)] ?? 0
    }

    /// Every feature pair that can meet, in report order.
    public static var pairs: [(String, String)] {
        let order = features.map(\.name)
        var out: [(String, String)] = []
        for (x, a) in order.enumerated() {
            for b in order[(x + 1)...] where !excludedPairs.contains(where: { ($0.0 == a && $0.1 == b) || ($0.0 == b && $0.1 == a) }) {
                out.append((a, b))
            }
        }
        return out
    }

    /// The items of each report section, in order.
    static var sections: [(title: String, items: [String])] {
        [
            ("statements", liveStatements),
            ("madvise advice", Advice.allCases.map { "advice \($0.rawValue)" }.filter { !$0.hasSuffix("hwpoison") }),
            ("userfaultfd features", UffdFeatures.names.map { "feature \($0.0)" } + ["feature (none)"]),
            ("userfaultfd register modes", ["mode missing", "mode wp", "mode minor", "mode missing,wp", "mode wp,minor"]),
            ("userfaultfd flags", ["flag uffd copy wp", "flag uffd continue wp", "flag dontwake"]),
            ("userfaultfd events read", ["event pagefault", "event pagefault write", "event pagefault wp write",
                                         "event pagefault minor", "event pagefault minor write", "event fork",
                                         "event remove", "event unmap"]),
            ("pagemap_scan flags", ["pagemap_scan (no flags)", "pagemap_scan wp_matching", "pagemap_scan wp_matching check_wpasync",
                                    "pagemap_scan check_wpasync"]),
            ("episodes", ["episode userfault, handler in main", "episode userfault, handler thread", "episode event",
                          "episode store after a KSM merge, unprotected"]),
            ("ksm and prctl", ["ksm use_zero_pages on", "ksm use_zero_pages off", "prctl memory_merge on", "prctl memory_merge off"]),
            ("stated outcomes", ["SIGSEGV", "SIGBUS", "EINVAL", "ENOMEM", "EFAULT", "EHWPOISON", "EBUSY", "ENOENT", "EEXIST",
                                 "EAGAIN", "EACCES", "EPERM", "ENODEV", "ESPIPE"].map { "outcome \($0)" }),
        ]
    }

    func line(_ name: String, _ n: Int) -> String {
        let pct = scenarios == 0 ? 0 : Double(n) * 100 / Double(scenarios)
        let shown = name.hasPrefix("use ") ? String(name.dropFirst(4)) : name
        return "  " + shown.rightPadded(40)
            + String(n).leftPadded(7) + "  " + formatPercent(pct).leftPadded(6) + "\n"
    }

    /// The least used live statement and its count.
    public var leastUsedStatement: (String, Int)? {
        Self.liveStatements.map { ($0, count($0)) }.min { $0.1 < $1.1 }
    }

    /// The least frequent feature pair and its count.
    public var leastPair: ((String, String), Int)? {
        Self.pairs.map { ($0, count($0.0, $0.1)) }.min { $0.1 < $1.1 }
    }

    /// The report: every section, the features, and the pairs as a lower-triangular table.
    public var text: String {
        var out = "coverage: \(scenarios) generated scenarios"
        if unparsed > 0 { out += ", \(unparsed) did not parse" }
        out += " (scenarios using each item, and % of scenarios)\n"
        for (title, items) in Self.sections {
            out += "\(title):\n"
            for i in items { out += line(i, count(i)) }
        }
        out += "features:\n"
        for f in Self.features { out += line("use " + f.name, count(feature: f.name)) }
        out += "feature pairs (scenarios using both; codes as above, - never by design):\n"
        let codes = Self.features.map(\.code)
        out += "     " + codes.dropLast().map { $0.leftPadded(5) }.joined() + "\n"
        for (x, f) in Self.features.enumerated() where x > 0 {
            var row = f.code.rightPadded(5)
            for y in 0..<x {
                let a = Self.features[y].name
                let excluded = Self.excludedPairs.contains { ($0.0 == a && $0.1 == f.name) || ($0.0 == f.name && $0.1 == a) }
                row += (excluded ? "-" : String(count(a, f.name))).leftPadded(5)
            }
            out += row + "\n"
        }
        out += "codes: " + Self.features.map { "\($0.code) \($0.name)" }.joined(separator: ", ") + "\n"
        if let (s, n) = leastUsedStatement, let ((a, b), k) = leastPair {
            out += "least used statement: \(s) (\(n)); least frequent pair: \(a) × \(b) (\(k))\n"
        }
        return out
    }
}

func formatPercent(_ p: Double) -> String {
    let tenths = Int((p * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)%"
}

extension String {
    func rightPadded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
