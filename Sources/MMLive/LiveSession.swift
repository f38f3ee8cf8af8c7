// SPDX-License-Identifier: Apache-2.0
//
// `mmlab live`: parse and check a scenario exactly as `mmlab run` does, refuse honestly what
// the host cannot run (exit status 3), set the host up, run the scenario on the kernel
// through the same ScenarioRunner as the model, restore the host on every path.

import CMMLinux
import Foundation
import MMLab
import MMScenario
import MMSyntax

/// Options of `mmlab live`.
public struct LiveOptions: Sendable {
    public var json = false
    /// Record the pages after every statement for `--html` (CommandOutcome.timeline).
    public var timeline = false
    public init(json: Bool = false, timeline: Bool = false) {
        self.json = json
        self.timeline = timeline
    }
}

/// A live run as the session builds it: the notes stay bare (the diff prefixes them with the
/// file) until `run` renders them for standard error.
struct LiveRun: Sendable {
    /// The report (standard output), in `mmlab run`'s format.
    var output: String
    /// Notes about the host for people; one that starts with "error: " is an error.
    var notes: [String] = []
    /// 0 all met, 1 an expectation failed, 2 an error, 3 skipped.
    var status: Int32
    var report: RunReport?
    /// Why the scenario was not run, when it was not.
    var skipped: String?
    /// The parse or check error, when there was one.
    var error: Diagnostic?
    /// The pages named mappings leave out of a timeline (when one was recorded).
    var pagesLeftOut: [String] = []

    /// What `mmlab live` prints: notes become `note: …`, errors `mmlab: error: …`.
    var outcome: CommandOutcome {
        CommandOutcome(output: output, standardError: notes.map { $0.hasPrefix("error: ") ? "mmlab: \($0)" : "note: \($0)" },
                       status: status, report: report, skipped: skipped, error: error)
    }

    /// The timeline of the run (`live --html`): the kernel's grid, or for a run that did not
    /// happen a page that says why.
    func timeline(file: String, title: String?) -> Timeline {
        guard let report else {
            return Timeline(kind: .live, file: file, title: title, panels: [],
                            summary: [skipped.map { "skipped: \($0)" } ?? "not run: \(output.split(separator: "\n").first ?? "")"])
        }
        return Timeline(kind: .live, file: file, title: title ?? report.title,
                        panels: [TimelinePanel(name: report.backend, report: report, leftOut: pagesLeftOut)])
    }
}

/// Exit status of a scenario the host cannot run.
public let skippedStatus: Int32 = 3

public enum LiveSession {
    /// Why this host cannot run anything live (not Linux, not root), or nil.
    public static func hostRefusal() -> String? {
        if mml_is_linux() == 0 { return "not Linux: the live backend runs scenarios on a Linux kernel" }
        if mml_geteuid() != 0 {
            return "not root: the live backend needs root (PFNs in /proc/self/pagemap, swapon, vm.page-cluster)"
        }
        return nil
    }

    /// Why this scenario cannot run on the kernel as it is, before anything starts: a
    /// design switch that is not Linux 6.18's.
    static func designRefusal(_ scenario: Scenario, _ checked: CheckedScenario) -> String? {
        guard !checked.design.isLinux618 else { return nil }
        for s in allStatements(scenario.statements) {
            if case .design(let key, let value) = s.kind,
               let sw = Design.switches.first(where: { $0.key == key }), sw.values.first != value {
                return "design \(key) = \(value) (line \(s.location.line)) is not Linux 6.18's "
                    + "(\(sw.values.first ?? "?")); the live backend runs only the kernel's own design"
            }
        }
        return "the scenario's design is not Linux 6.18's; the live backend runs only the kernel's own design"
    }

    /// Why the live backend cannot run a statement the checker accepted: what it has no
    /// opcode for yet (dax, checks other than `consistent`) is refused here, rather than run
    /// and reported as ENOSYS. `poison` runs (madvise(MADV_HWPOISON)); poisonRefusal()
    /// refuses it where it could reach host RAM.
    static func statementRefusal(_ scenario: Scenario) -> String? {
        for s in statementsRunUnder618(scenario.statements) {
            switch s.kind {
            case .scenarioTitle, .design, .kconfig, .swap, .memfd, .guestMemfd, .pread, .pwrite, .mmap, .read, .write, .munmap, .mprotect,
                 .madvise, .punch, .poison, .fork, .inProcess, .when, .clearRefs, .pin, .unpin, .convert, .prctlMemoryMerge, .pagemap, .expectPagemapWord,
                 .expectPagemapFields, .expectRead,
                 .exitProcess, .thread, .join,
                 .uffdCreate, .uffdRegister, .uffdUnregister, .uffdWriteProtect, .uffdCopy, .uffdZeropage,
                 .uffdContinue, .uffdPoison, .uffdWake, .expectEvent, .expectNoEvent,
                 .pagemapScan, .expectPagemapScan, .ksmRun, .ksmScan, .ksmUseZeroPages, .ksmMaxPageSharing, .expectKSM:
                continue
            case .check(let name) where name == "consistent":
                continue   // the model's own invariants: nothing to check on the kernel
            default:
                let word = s.text.split(separator: " ").first.map(String.init) ?? s.text
                return "'\(word)' (line \(s.location.line)) is not implemented in the live backend yet"
            }
        }
        return nil
    }

    /// Why a scenario with `poison` must not run on this kernel: under `kconfig
    /// MEMORY_FAILURE = y` the statement is madvise(MADV_HWPOISON) on a kernel that honours
    /// it, which would poison a frame of host RAM (irreversible: the page is lost until
    /// reboot). Without it, the kernel refuses the advice with EINVAL, which is harmless and
    /// is what the live backend runs. (A kernel built with CONFIG_MEMORY_FAILURE also refuses
    /// scenarios without that line, through kernelRefusal(); LiveBackend.madviseHWPoison()
    /// checks again before the call.)
    static func poisonRefusal(_ scenario: Scenario, _ checked: CheckedScenario) -> String? {
        guard checked.config.memoryFailure,
              let s = allStatements(scenario.statements).first(where: { if case .poison = $0.kind { true } else { false } })
        else { return nil }
        return "'poison' (line \(s.location.line)) under kconfig MEMORY_FAILURE = y would inject a memory failure "
            + "into host RAM, which cannot be undone; the live backend runs poison only as the EINVAL of a kernel "
            + "without CONFIG_MEMORY_FAILURE"
    }

    /// The first statement that uses KSM: `ksm`, `expect ksm`, `madvise mergeable/unmergeable`.
    static func firstKSMStatement(_ scenario: Scenario) -> Statement? {
        allStatements(scenario.statements).first {
            switch $0.kind {
            case .ksmRun, .ksmScan, .ksmUseZeroPages, .ksmMaxPageSharing, .prctlMemoryMerge, .expectKSM: return true
            case .madvise(_, let advice): return advice == "mergeable" || advice == "unmergeable"
            default: return false
            }
        }
    }

    /// A `# live: skip: REASON` line among the scenario's leading comments: the scenario
    /// changes host state that nothing can restore (a kernel counter it leaks), so the live
    /// backend does not run it unless that line is removed.
    static func headerRefusal(_ source: String) -> String? {
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("#") else { break }
            let prefix = "# live: skip:"
            if t.hasPrefix(prefix) {
                let why = t.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
                return "the scenario says not to run it live: \(why) (remove its `# live: skip:` line to run it anyway)"
            }
        }
        return nil
    }

    /// Why the kernel found at start-up cannot run the scenario: a kconfig it does not match.
    static func kernelRefusal(_ scenario: Scenario, _ checked: CheckedScenario, softDirty: Bool) -> String? {
        if let s = firstKSMStatement(scenario), !LiveBackend.kernelHasKSM {
            return "KSM (line \(s.location.line)) needs CONFIG_KSM, and this kernel has no \(LiveBackend.ksmDirectory)"
        }
        if let s = allStatements(scenario.statements).first(where: { if case .guestMemfd = $0.kind { true } else { false } }),
           !FileManager.default.fileExists(atPath: "/dev/kvm") {
            return "guest_memfd (line \(s.location.line)) needs KVM, and this host has no /dev/kvm"
        }
        if checked.config.memSoftDirty != softDirty {
            let line = allStatements(scenario.statements).first {
                if case .kconfig(let key, _) = $0.kind { return key == "MEM_SOFT_DIRTY" }
                return false
            }.map { " (line \($0.location.line))" } ?? ""
            return checked.config.memSoftDirty
                ? "kconfig MEM_SOFT_DIRTY = y\(line), but this kernel is built without CONFIG_MEM_SOFT_DIRTY "
                    + "(a page written in a new mapping does not read soft-dirty)"
                : "this kernel is built with CONFIG_MEM_SOFT_DIRTY but the scenario assumes it is not\(line) "
                    + "(add kconfig MEM_SOFT_DIRTY = y)"
        }
        if checked.config.memoryFailure != kernelHasMemoryFailure() {
            return checked.config.memoryFailure
                ? "kconfig MEMORY_FAILURE = y, but this kernel is built without CONFIG_MEMORY_FAILURE"
                : "this kernel is built with CONFIG_MEMORY_FAILURE but the scenario assumes it is not (add kconfig MEMORY_FAILURE = y)"
        }
        return nil
    }

    /// Whether the running kernel has CONFIG_MEMORY_FAILURE: /sys/kernel/mm/... has no switch
    /// for it, but memory_failure() exposes vm.memory_failure_early_kill only when built in.
    static func kernelHasMemoryFailure() -> Bool {
        FileManager.default.fileExists(atPath: "/proc/sys/vm/memory_failure_early_kill")
    }

    /// Why the host's swap state cannot run the scenario: swap is active, the scenario has
    /// none and pages anonymous memory out (which would then swap).
    static func swapRefusal(_ scenario: Scenario, activeSwaps: Int) -> String? {
        guard activeSwaps > 0 else { return nil }
        let all = allStatements(scenario.statements)
        let wantsSwap = all.contains { if case .swap = $0.kind { return true } else { return false } }
        let pagesOut = all.first { if case .madvise(_, "pageout") = $0.kind { return true } else { return false } }
        if !wantsSwap, let s = pagesOut {
            return "the host has \(activeSwaps) active swap device(s) but the scenario runs without swap and pages out "
                + "(line \(s.location.line)); swapoff first to run it live"
        }
        return nil
    }

    /// The statements a run under Linux 6.18's design can reach: a `when design` body whose
    /// values do not include 6.18's is never run by the live backend, so it is not refused.
    static func statementsRunUnder618(_ list: [Statement]) -> [Statement] {
        list.flatMap { s -> [Statement] in
            switch s.kind {
            case .inProcess(_, let body), .thread(_, let body): return [s] + statementsRunUnder618(body)
            case .when(let key, let values, let body):
                let first = Design.switches.first { $0.key == key }?.values.first
                return [s] + (first.map(values.contains) == true ? statementsRunUnder618(body) : [])
            default: return [s]
            }
        }
    }

    static func allStatements(_ list: [Statement]) -> [Statement] {
        list.flatMap { s -> [Statement] in
            if case .inProcess(_, let body) = s.kind { return [s] + allStatements(body) }
            if case .when(_, _, let body) = s.kind { return [s] + allStatements(body) }
            if case .thread(_, let body) = s.kind { return [s] + allStatements(body) }
            return [s]
        }
    }

    static func skippedOutcome(_ file: String, _ why: String, json: Bool, notes: [String] = []) -> LiveRun {
        let out = json
            ? JSON.object([("summary", .bool(true)), ("file", .string(file)), ("backend", .string("linux")),
                           ("skipped", .string(why)), ("exit", .int(Int(skippedStatus)))]).rendered + "\n"
            : "\(file): skipped: \(why)\n"
        return LiveRun(output: out, notes: notes, status: skippedStatus, report: nil, skipped: why)
    }

    /// Runs a scenario's text on the running kernel: `mmlab live`.
    public static func run(source: String, file: String, options: LiveOptions = LiveOptions()) -> CommandOutcome {
        let r = execute(source: source, file: file, options: options)
        var outcome = r.outcome
        if options.timeline && r.error == nil { outcome.timeline = r.timeline(file: file, title: nil) }
        return outcome
    }

    /// Runs a scenario's text on the running kernel, its notes kept bare.
    static func execute(source: String, file: String, options: LiveOptions = LiveOptions()) -> LiveRun {
        let scenario: Scenario, checked: CheckedScenario
        switch MMLabSession.prepare(source, file: file) {
        case .failure(let d):
            let o = CommandOutcome.diagnostic(d, file: file, json: options.json)
            return LiveRun(output: o.output, status: 2, report: nil, error: d)
        case .success(let (s, c)):
            scenario = s
            checked = c
        }
        if let why = hostRefusal() ?? designRefusal(scenario, checked) ?? poisonRefusal(scenario, checked)
            ?? statementRefusal(scenario) ?? headerRefusal(source) {
            return skippedOutcome(file, why, json: options.json)
        }

        let host: HostSetup
        do {
            host = try HostSetup()
        } catch {
            return skippedOutcome(file, error.message, json: options.json)
        }
        var notes = host.notes
        func finishHost(_ outcome: inout LiveRun) {
            let problems = host.restore()
            if !problems.isEmpty {
                outcome.report?.problems += problems
                outcome.notes += problems.map { "error: \($0)" }
                outcome.status = max(outcome.status, 2)
            }
            outcome.notes = notes + host.notes.filter { !notes.contains($0) } + outcome.notes
        }
        if let why = swapRefusal(scenario, activeSwaps: host.swapsAtStart) {
            var o = skippedOutcome(file, why, json: options.json)
            finishHost(&o)
            return o
        }
        let backend: LiveBackend
        do {
            backend = try LiveBackend(host: host)
        } catch {
            var o = LiveRun(output: "\(file): error: \(error.message)\n", status: 2, report: nil)
            finishHost(&o)
            return o
        }
        if let why = kernelRefusal(scenario, checked, softDirty: backend.softDirty) {
            var o = skippedOutcome(file, why, json: options.json)
            let problems = backend.finish()
            notes += problems.map { "error: \($0)" }
            finishHost(&o)
            return o
        }
        if backend.zeroPFN == nil {
            notes.append("the zero page's PFN could not be read; frame=zero cannot match")
        }
        do {
            // vm.page-cluster only matters where pages are swapped: with the host's own swap it
            // is set now, for a `swap` statement's swap file when that file is made.
            if host.swapsAtStart > 0 { try host.setPageClusterZero() }
            // ksmd stopped and set up before the scenario maps anything (LiveBackend+KSM.swift).
            if firstKSMStatement(scenario) != nil { try backend.ksmPrepare() }
        } catch {
            _ = backend.finish()
            var o = LiveRun(output: "\(file): error: \(error.message)\n", status: 2, report: nil)
            finishHost(&o)
            return o
        }
        var runner = ScenarioRunner(scenario: scenario, backend: backend)
        runner.recordsPages = options.timeline
        let report = runner.run(wantsConsistencyCheck: false)
        var outcome = LiveRun(output: "", status: report.exitStatus, report: report)
        outcome.pagesLeftOut = runner.pagesLeftOut
        finishHost(&outcome)
        let final = outcome.report ?? report
        outcome.output = options.json ? final.jsonLines() : final.text()
        outcome.status = max(outcome.status, final.exitStatus)
        return outcome
    }
}
