// SPDX-License-Identifier: Apache-2.0
//
// What `--html` draws: the pagemap word of every named page after every statement (or step),
// taken by the runner through its backend, and the timeline built from it — one grid per
// backend or design, one column per statement or step, with what the side column shows. The
// HTML itself is made by the MMTimeline target; this file has no markup.

import MMLab
import MMSyntax

/// The pagemap word of one named page at one point of a run.
public struct PageSample: Hashable, Sendable {
    public var process: String
    public var mapping: String
    public var page: Int
    /// The raw word, PFN or swap offset included (the timeline numbers them).
    public var word: UInt64
    /// Whether the frame is a KSM page, when the backend can tell (KPF_KSM; the model knows).
    public var ksm: Bool

    public init(process: String, mapping: String, page: Int, word: UInt64, ksm: Bool = false) {
        self.process = process
        self.mapping = mapping
        self.page = page
        self.word = word
        self.ksm = ksm
    }

    /// "child:A[3]" (the main process unnamed), as traces name pages.
    public var label: String { (process == "main" ? "" : process + ":") + "\(mapping)[\(page)]" }
}

/// How much of a mapping a timeline shows.
public enum TimelineLimits {
    /// Pages per mapping shown; the rest of a longer mapping is left out (and said so).
    public static let pagesPerMapping = 128
}

extension ScenarioBackend {
    /// The pagemap words of `count` pages from `address`, read one by one as `pagemap` reads
    /// them. The model overrides this with a read that does not count in its costs.
    public mutating func samplePagemap(_ p: ProcessHandle, address: UInt64, count: Int) -> [UInt64] {
        (0..<count).map { i in
            if case .finished(.value(let w)) = start(.pagemapRead(p, address: address + UInt64(i) * pageSize)) { return w }
            return 0
        }
    }
}

extension ModelBackend {
    /// Kernel.pagemapRead(start:count:) (pagemap_read()), outside the cost counters: a
    /// timeline watches the run, it does not take part in it.
    public mutating func samplePagemap(_ p: ProcessHandle, address: UInt64, count: Int) -> [UInt64] {
        guard Int(p) < kernel.mms.count, kernel.mms[Int(p)].alive else { return [UInt64](repeating: 0, count: count) }
        return kernel.pagemapRead(MMID(p), start: address, count: count)
    }

    /// Whether the frame at `pfn` is a KSM page (PageKsm()).
    public func frameIsKSM(_ pfn: UInt64) -> Bool {
        guard pfn > 0, pfn < UInt64(kernel.frames.count) else { return false }
        return kernel.frames[PFN(pfn)].flags.contains(.ksm)
    }
}

extension ScenarioRunner {
    /// Appends a statement's report, with the page samples after it when the run records them.
    mutating func appendEntry(_ e: StatementReport) {
        var e = e
        if recordsPages { e.pages = samplePages() }
        report.entries.append(e)
    }

    /// The pagemap word of every page of every named mapping in every process that has not
    /// exited: processes in creation order, mappings by address, pages in order (at most
    /// TimelineLimits.pagesPerMapping of each).
    public mutating func samplePages() -> [PageSample] {
        var out: [PageSample] = []
        let procs = processes.sorted { $0.value < $1.value }.filter { exitedProcesses[$0.value] == nil }
        let maps = mappings.sorted { ($0.value.address, $0.key) < ($1.value.address, $1.key) }
        for (pname, p) in procs {
            for (name, m) in maps {
                let n = min(m.pages, TimelineLimits.pagesPerMapping)
                let words = backend.samplePagemap(p, address: m.address, count: n)
                for (i, w) in words.enumerated() {
                    let isKSM = PagemapWord.isPresent(w) && backend.frameIsKSM(w & PM.pframeMask)
                    out.append(PageSample(process: pname, mapping: name, page: i, word: w, ksm: isKSM))
                }
            }
        }
        return out
    }

    /// The scenario's title line, if it has one.
    public var scenarioTitle: String? { scenario.title }

    /// The process thread `i` runs in, by name.
    public func threadProcessName(_ i: Int) -> String { threads[i].processName }

    /// The pages of each named mapping a timeline leaves out ("A: 384 of 512 pages not shown").
    public var pagesLeftOut: [String] {
        mappings.sorted { ($0.value.address, $0.key) < ($1.value.address, $1.key) }
            .filter { $0.value.pages > TimelineLimits.pagesPerMapping }
            .map { "\($0.key): \($0.value.pages - TimelineLimits.pagesPerMapping) of \($0.value.pages) pages not shown" }
    }
}

/// One column of a timeline: a statement (run, live, diff, compare) or a step (replay,
/// explore), with what the side column shows for it.
public struct TimelineColumn: Sendable {
    public var line: Int
    /// The statement as written.
    public var text: String
    public var process: String
    public var thread: String?
    /// "success", an errno, a signal; for a step, what it did.
    public var result: String
    /// userfaultfd messages, signals, pagemap and token observations, notes.
    public var notes: [String]
    public var expectations: [ExpectationResult]
    /// For a step: the PTEs it changed.
    public var pteChanges: [String]
    public var pages: [PageSample]
    /// The column's heading when it is not the line (replay and explore: the step number,
    /// "0" for the state after the set-up, "end" after the statements that follow the threads).
    public var label: String?

    public init(line: Int, text: String, process: String, thread: String? = nil, result: String, notes: [String] = [],
                expectations: [ExpectationResult] = [], pteChanges: [String] = [], pages: [PageSample], label: String? = nil) {
        self.label = label
        self.line = line
        self.text = text
        self.process = process
        self.thread = thread
        self.result = result
        self.notes = notes
        self.expectations = expectations
        self.pteChanges = pteChanges
        self.pages = pages
    }

    /// Whether an expectation of this column failed.
    public var failed: Bool { expectations.contains { !$0.met } }
}

/// One grid: a backend's run (model, kernel) or a design's.
public struct TimelinePanel: Sendable {
    public var name: String
    public var zeroPFN: UInt64?
    public var columns: [TimelineColumn]
    /// Lines under the grid: the summary, problems, what was left out.
    public var footer: [String]

    public init(name: String, zeroPFN: UInt64?, columns: [TimelineColumn], footer: [String] = []) {
        self.name = name
        self.zeroPFN = zeroPFN
        self.columns = columns
        self.footer = footer
    }
}

/// What `--html` draws.
public struct Timeline: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case run, replay, explore, live, diff, compare
    }
    public var kind: Kind
    public var file: String
    public var title: String?
    /// The grids: one for run, live, replay and explore; model and kernel for diff; one per
    /// design for compare.
    public var panels: [TimelinePanel]
    /// Thread names, for the lanes of replay and explore (empty otherwise).
    public var lanes: [String]
    /// Lines above the grids: the verdict, the problem, the replay token.
    public var summary: [String]

    public init(kind: Kind, file: String, title: String? = nil, panels: [TimelinePanel], lanes: [String] = [], summary: [String] = []) {
        self.kind = kind
        self.file = file
        self.title = title
        self.panels = panels
        self.lanes = lanes
        self.summary = summary
    }
}

extension TimelinePanel {
    /// A run report as a grid: one column per statement report that carries page samples.
    public init(name: String, report: RunReport, leftOut: [String] = []) {
        var columns: [TimelineColumn] = []
        for e in report.entries {
            var notes: [String] = []
            if let n = e.note { notes.append(n) }
            for o in e.observations {
                switch o {
                case .tokens(let ref, let value): notes.append("read \(ref) = \(value)")
                case .pagemap(let ref, let d): notes.append("pagemap \(ref): \(d.summary)")
                case .event(let u, let m): notes.append("\(u): \(m)")
                case .scan(let ref, let cats): notes.append("scan \(ref): \(cats.isEmpty ? "(no category)" : cats.joined(separator: " "))")
                case .ksm(let values): notes.append("ksm: \(values.joined(separator: " "))")
                case .memmap(let name, let bytes): notes.append("memmap \(name): \(bytes) bytes")
                }
            }
            columns.append(TimelineColumn(line: e.statement.location.line, text: e.statement.text, process: e.process,
                                          thread: e.thread, result: e.result.description, notes: notes,
                                          expectations: e.expectations, pages: e.pages ?? []))
        }
        var footer = ["\(report.met + report.failed) expectations: \(report.met) met, \(report.failed) failed"]
        for c in report.checks { footer.append("check \(c.name): " + (c.problem.map { "FAILS: \($0)" } ?? "holds")) }
        for t in report.sleeping { footer.append("note: \(t)") }
        if let f = report.fatal { footer.append("stopped: \(f)") }
        for p in report.problems { footer.append("problem: \(p)") }
        footer += leftOut
        self.init(name: name, zeroPFN: report.zeroPFN, columns: columns, footer: footer)
    }
}
