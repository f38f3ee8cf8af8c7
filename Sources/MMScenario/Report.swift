// SPDX-License-Identifier: Apache-2.0
//
// What a run reports, and how it is printed: for people (one block per statement, then a
// summary) or as JSON lines for tools.

import MMLab
import MMSyntax

/// One thing a statement observed.
public enum Observation: Hashable, Sendable {
    /// Tokens read from a run of pages, compressed: `A[0..3] = 0x11` or `seq(0x100)`.
    case tokens(ref: String, value: String)
    /// One pagemap word.
    case pagemap(ref: String, WordDescription)
    /// A userfaultfd message read.
    case event(uffd: String, String)
    /// A PAGEMAP_SCAN region and its categories.
    case scan(ref: String, categories: [String])
    /// KSM counters read from /sys/kernel/mm/ksm.
    case ksm([String])
    /// The struct page bytes of a device-dax instance (`expect memmap`).
    case memmap(name: String, bytes: Int)

    /// Compresses per-page tokens into runs of equal or consecutive values.
    static func tokens(_ name: String, _ list: [(Int, UInt64)]) -> [Observation] {
        var out: [Observation] = []
        var i = 0
        while i < list.count {
            let (p0, t0) = list[i]
            var j = i + 1
            var isSeq = false
            if j < list.count && list[j].0 == p0 + 1 {
                if list[j].1 == t0 {
                    while j < list.count && list[j].0 == p0 + (j - i) && list[j].1 == t0 { j += 1 }
                } else if list[j].1 == t0 &+ 1 {
                    isSeq = true
                    while j < list.count && list[j].0 == p0 + (j - i) && list[j].1 == t0 &+ UInt64(j - i) { j += 1 }
                }
            }
            let last = list[j - 1].0
            let ref = last == p0 ? "\(name)[\(p0)]" : "\(name)[\(p0)..\(last)]"
            out.append(.tokens(ref: ref, value: isSeq ? "seq(\(hex(t0)))" : hex(t0)))
            i = j
        }
        return out
    }
}

/// A `check` evaluated on one execution.
public struct CheckReport: Hashable, Sendable {
    public var name: String
    /// nil when the check holds.
    public var problem: String?
}

/// Whether one expectation held.
public struct ExpectationResult: Hashable, Sendable {
    public var met: Bool
    public var message: String
    public init(met: Bool, message: String) {
        self.met = met
        self.message = message
    }
}

/// What one statement did.
public struct StatementReport: Sendable {
    public var statement: Statement
    public var process: String
    public var depth: Int
    /// The thread that ran it (nil: the main flow).
    public var thread: String?
    /// "blocked: …" when the statement went to sleep, "resumed" when it finished after that.
    public var note: String?
    public var result: OpOutcome = .ok
    public var observations: [Observation] = []
    public var expectations: [ExpectationResult] = []
    /// The pagemap word of every named page after the statement, when the run records them
    /// (`--html`).
    public var pages: [PageSample]?
}

/// What a whole run did.
public struct RunReport: Sendable {
    public var file: String
    public var title: String?
    public var backend: String
    public var entries: [StatementReport] = []
    /// Invariant violations and leaks found at the end (a model bug when non-empty).
    public var problems: [String] = []
    /// Threads still asleep at the end (reported, not an error).
    public var sleeping: [String] = []
    /// `check` statements evaluated on this execution.
    public var checks: [CheckReport] = []
    public var costs: Costs?
    /// Bytes of struct page per kind of memory (model only).
    public var metadata: [(String, Int)] = []
    /// A runtime error that stopped the run.
    public var fatal: Diagnostic?
    /// The PFN the backend's pagemap shows for the zero page (for timelines).
    public var zeroPFN: UInt64?

    public var met: Int { entries.reduce(0) { $0 + $1.expectations.filter(\.met).count } + checks.filter { $0.problem == nil }.count }
    public var failed: Int { entries.reduce(0) { $0 + $1.expectations.filter { !$0.met }.count } + checks.filter { $0.problem != nil }.count }

    /// 0 all expectations met, 1 an expectation failed, 2 an error stopped the run or the
    /// model found a problem in itself.
    public var exitStatus: Int32 {
        if fatal != nil || !problems.isEmpty { return 2 }
        return failed > 0 ? 1 : 0
    }

    /// The report for people.
    public func text(stats: Bool = false) -> String {
        var out = "\(file)" + (title.map { ": \($0)" } ?? "") + "  [\(backend)]\n"
        for e in entries {
            let indent = String(repeating: "  ", count: e.depth)
            let who: String
            switch (e.thread, e.process) {
            case (nil, "main"): who = ""
            case (nil, let p): who = "[\(p)] "
            case (let t?, "main"): who = "[\(t)] "
            case (let t?, let p): who = "[\(t)@\(p)] "
            }
            var head = "\(pad(e.statement.location.line, 4))  \(indent)\(who)\(e.statement.text)"
            if let note = e.note { head += "  (\(note))" }
            if !e.result.isOK && e.statement.outcome == nil { head += "  -> \(e.result.description)" }
            else if !e.result.isOK { head += "  (\(e.result.description))" }
            let verdicts = e.expectations.map { $0.met ? "ok" : "FAILED" }
            if !verdicts.isEmpty { head = padRight(head, 64) + "  " + verdicts.joined(separator: ", ") }
            out += head + "\n"
            for o in e.observations {
                switch o {
                case .tokens(let ref, let value):
                    out += "        \(indent)\(ref) = \(value)\n"
                case .pagemap(let ref, let d):
                    out += "        \(indent)\(padRight(ref, 8)) \(hex18(d.word))  \(padRight(d.bits.joined(separator: " "), 24)) \(d.identity)\n"
                case .event(let u, let m):
                    out += "        \(indent)\(u): \(m)\n"
                case .scan(let ref, let cats):
                    out += "        \(indent)\(padRight(ref, 12)) \(cats.isEmpty ? "(no category)" : cats.joined(separator: " "))\n"
                case .ksm(let values):
                    out += "        \(indent)ksm: \(values.joined(separator: " "))\n"
                case .memmap(let name, let bytes):
                    out += "        \(indent)memmap \(name): \(bytes) bytes\n"
                }
            }
            for x in e.expectations where !x.met {
                out += "        \(indent)\(e.statement.location): expectation failed: \(x.message)\n"
            }
        }
        for t in sleeping { out += "note: \(t)\n" }
        for c in checks {
            out += "check \(c.name) (this execution only; `mmlab explore` tries them all): " + (c.problem.map { "FAILS: \($0)" } ?? "holds") + "\n"
        }
        if let fatal { out += "\(fatal)\n" }
        // Problems come from the backend's own checks: the model's invariants, or for another
        // backend (the live one) what went wrong with the host.
        let problemLabel = backend == "model" ? "model problem" : "backend problem"
        for p in problems { out += "\(problemLabel): \(p)\n" }
        if stats, let c = costs {
            out += "costs: faults \(c.faults), major \(c.majorFaults), pte reads \(c.pteReads), pte writes \(c.pteWrites), "
            out += "page-cache lookups \(c.pageCacheLookups), tlb flushes \(c.tlbFlushes), copies \(c.pageCopies), "
            out += "zeroings \(c.pageZeroings), swap-outs \(c.swapOuts), swap-ins \(c.swapIns), "
            out += "xarray nodes \(c.xarrayNodes), marker decodes \(c.markerDecodes), "
            out += "slot stores \(c.slotStores), i_mmap walks \(c.iMmapWalks), alias breaks \(c.aliasBreaks), "
            out += "ksm frames freed \(c.ksmFramesFreed)\n"
            if c.conversionCounters.contains(where: { $0.1 != 0 }) {
                out += "guest_memfd conversion: " + c.conversionCounters.map { "\($0.0) \($0.1)" }.joined(separator: ", ") + "\n"
            }
            for (what, bytes) in metadata { out += "metadata: \(what): \(bytes) bytes\n" }
        }
        out += "summary: \(met + failed) expectations: \(met) met, \(failed) failed\n"
        return out
    }

    /// The report as JSON lines: one object per statement, then one summary object.
    public func jsonLines() -> String {
        var lines: [String] = []
        for e in entries {
            var fields: [(String, JSON)] = [
                ("file", .string(e.statement.location.file)), ("line", .int(e.statement.location.line)),
                ("column", .int(e.statement.location.column)), ("statement", .string(e.statement.text)),
                ("process", .string(e.process)), ("result", .string(e.result.isOK ? "ok" : e.result.description)),
            ]
            if let t = e.thread { fields.append(("thread", .string(t))) }
            if let n = e.note { fields.append(("note", .string(n))) }
            var obs: [JSON] = []
            for o in e.observations {
                switch o {
                case .tokens(let ref, let value):
                    obs.append(.object([("kind", .string("read")), ("ref", .string(ref)), ("value", .string(value))]))
                case .pagemap(let ref, let d):
                    obs.append(.object([("kind", .string("pagemap")), ("ref", .string(ref)), ("word", .string(hex18(d.word))),
                                        ("bits", .array(d.bits.map { .string($0) })), ("identity", .string(d.identity))]))
                case .event(let u, let m):
                    obs.append(.object([("kind", .string("event")), ("uffd", .string(u)), ("message", .string(m))]))
                case .scan(let ref, let cats):
                    obs.append(.object([("kind", .string("pagemap_scan")), ("ref", .string(ref)),
                                        ("categories", .array(cats.map { .string($0) }))]))
                case .ksm(let values):
                    obs.append(.object([("kind", .string("ksm")), ("counters", .array(values.map { .string($0) }))]))
                case .memmap(let name, let bytes):
                    obs.append(.object([("kind", .string("memmap")), ("name", .string(name)), ("bytes", .int(bytes))]))
                }
            }
            fields.append(("observations", .array(obs)))
            fields.append(("expectations", .array(e.expectations.map {
                .object([("met", .bool($0.met)), ("message", .string($0.message))])
            })))
            lines.append(JSON.object(fields).rendered)
        }
        var summary: [(String, JSON)] = [("summary", .bool(true)), ("file", .string(file)), ("backend", .string(backend)),
                                         ("met", .int(met)), ("failed", .int(failed)), ("exit", .int(Int(exitStatus)))]
        if let fatal { summary.append(("error", .string(fatal.description))) }
        if !problems.isEmpty { summary.append(("problems", .array(problems.map { .string($0) }))) }
        if let c = costs {
            summary.append(("costs", .object([
                ("faults", .int(c.faults)), ("major_faults", .int(c.majorFaults)), ("pte_reads", .int(c.pteReads)),
                ("pte_writes", .int(c.pteWrites)), ("page_cache_lookups", .int(c.pageCacheLookups)),
                ("tlb_flushes", .int(c.tlbFlushes)), ("page_copies", .int(c.pageCopies)),
                ("page_zeroings", .int(c.pageZeroings)), ("swap_outs", .int(c.swapOuts)), ("swap_ins", .int(c.swapIns)),
                ("xarray_nodes", .int(c.xarrayNodes)), ("marker_decodes", .int(c.markerDecodes)),
                ("slot_stores", .int(c.slotStores)), ("i_mmap_walks", .int(c.iMmapWalks)),
                ("alias_breaks", .int(c.aliasBreaks)), ("ksm_frames_freed", .int(c.ksmFramesFreed)),
            ] + (c.conversionCounters.contains(where: { $0.1 != 0 })
                 ? c.conversionCounters.map { ("gmem_" + String($0.0.map { $0 == " " ? "_" : $0 }), JSON.int($0.1)) } : []))))
        }
        if !metadata.isEmpty {
            summary.append(("metadata", .array(metadata.map { .object([("what", .string($0.0)), ("bytes", .int($0.1))]) })))
        }
        lines.append(JSON.object(summary).rendered)
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `n` right-aligned in `width` columns (report text).
public func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return String(repeating: " ", count: max(0, width - s.count)) + s
}

/// `s` left-aligned in `width` columns (report text).
public func padRight(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

func hex18(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - s.count) + s
}

/// A tiny JSON writer with fixed key order (reports must be byte-for-byte stable).
public indirect enum JSON: Sendable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([JSON])
    case object([(String, JSON)])

    public var rendered: String {
        switch self {
        case .string(let s): return JSON.quote(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .array(let a): return "[" + a.map(\.rendered).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { JSON.quote($0.0) + ":" + $0.1.rendered }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
