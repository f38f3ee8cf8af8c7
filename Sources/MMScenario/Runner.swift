// SPDX-License-Identifier: Apache-2.0
//
// Runs a checked scenario on a backend, statement by statement, recording what each one
// observed and whether each expectation was met.

import MMLab
import MMSyntax

/// A mapping a scenario created.
struct MappingState {
    var address: UInt64
    var pages: Int
    var object: String?
    var offsetPages: UInt64
}

/// Runs scenarios.
public struct ScenarioRunner<Backend: ScenarioBackend> {
    public var backend: Backend
    let scenario: Scenario
    /// The design the scenario's `design` lines chose (what `when design …` blocks test).
    let design: Design
    var mappings: [String: MappingState] = [:]
    var files: [String: (handle: ObjectHandle, pages: Int)] = [:]
    var processes: [String: ProcessHandle] = [:]
    var current: [String] = ["main"]
    var identities = Identities()
    var report: RunReport
    /// A runtime error that ends the run (exit status 2).
    public internal(set) var fatal: Diagnostic?
    /// userfaultfds by name, with the process that created them.
    var uffds: [String: UffdHandle] = [:]
    /// Pins by name: the process that took each and the backend's handle.
    var pins: [String: (process: ProcessHandle, handle: Int32)] = [:]
    var uffdProcess: [String: String] = [:]
    var uffdForksEvents: [String: Bool] = [:]
    /// Children whose FORK event has not been read yet, per parent userfaultfd name.
    var pendingForkNames: [String: [String]] = [:]
    /// Threads, in creation order.
    var threads: [ThreadState<Backend.PendingCall>] = []
    /// The thread whose statement runs now (nil: the main flow).
    var currentThread: String?
    /// Processes whose `exit` ran, with its line: they run nothing more.
    var exitedProcesses: [ProcessHandle: Int] = [:]
    /// Whether each statement's report carries the pagemap words of every named page after
    /// it (`--html`; Timeline.swift).
    public var recordsPages = false

    public init(scenario: Scenario, backend: Backend) {
        self.scenario = scenario
        self.backend = backend
        var design = Design()
        for s in scenario.statements { if case .design(let key, let value) = s.kind { _ = design.set(key, value) } }
        self.design = design
        processes["main"] = backend.mainProcess
        report = RunReport(file: scenario.file, title: scenario.title, backend: backend.name)
        identities.zeroPFN = backend.zeroPFN
    }

    /// "model", or "backend" for any other backend, in messages about errors inside it.
    var backendKind: String { backend.name == "model" ? "model" : "backend" }

    var process: ProcessHandle { processes[current.last ?? "main"] ?? backend.mainProcess }
    var processName: String { current.last ?? "main" }

    /// Runs every statement, then ends every process and checks for leaks.
    public mutating func run(wantsConsistencyCheck: Bool = false, checks: [String] = []) -> RunReport {
        runBlock(scenario.statements, depth: 0)
        report.sleeping = blockedThreads
        report.metadata = backend.metadataBytes
        // The checks of `explore`, on the one execution of the default schedule.
        for c in checks where backend.evaluatesChecks {
            let problem = backend.checkProblem(c)
            report.checks.append(CheckReport(name: c, problem: c == "consistent" ? problem : problem.map(namePages)))
        }
        let problems = backend.finish()
        if !problems.isEmpty {
            report.problems = problems
        }
        report.costs = backend.costs
        report.fatal = fatal
        report.zeroPFN = backend.zeroPFN
        return report
    }

    mutating func runBlock(_ statements: [Statement], depth: Int) {
        for s in statements {
            if fatal != nil { return }
            runStatement(s, depth: depth)
        }
    }

    mutating func runStatement(_ s: Statement, depth: Int) {
        let entry = StatementReport(statement: s, process: processName, depth: depth)
        switch s.kind {
        case .inProcess(let name, let body):
            appendEntry(entry)
            current.append(name)
            runBlock(body, depth: depth + 1)
            current.removeLast()
            return
        case .when(let key, let values, let body):
            appendEntry(entry)
            if let v = design.value(of: key), values.contains(v) {
                runBlock(body, depth: depth + 1)
            } else {
                // Not run under this design; listed, so that every design's report has the
                // same statements (compare lines them up).
                for b in body {
                    var skipped = StatementReport(statement: b, process: processName, depth: depth + 1)
                    skipped.note = "not run: design \(key) = \(design.value(of: key) ?? "?")"
                    appendEntry(skipped)
                }
            }
            return
        case .thread(let name, let body):
            appendEntry(entry)
            startThread(name, body: body, depth: depth)
            return
        case .join(let name):
            join(name, entry)
            return
        default:
            break
        }
        var task = Task(statement: s, entry: entry, process: process)
        while true {
            switch advance(&task) {
            case .done(let outcome):
                complete(&task, outcome)
                runThreads()
                return
            case .blocked(let why):
                noteBlocked(&task, why)
                if fatal != nil { return }
                runThreads()
                if let p = task.pending, !backend.isWoken(p) {
                    fatal = Diagnostic(s.location, "the main flow blocked forever: \(why), and no thread is left that could resolve it (put the statement in a `thread` block)")
                    return
                }
            }
        }
    }

    /// Records a finished statement with its outcome and expectation verdicts.
    mutating func complete(_ task: inout Task, _ outcome: OpOutcome) {
        let s = task.statement
        var entry = task.entry
        entry.observations += Observation.tokens(task.tokensRef, task.tokens)
        task.tokens = []
        if fatal != nil {
            appendEntry(entry)
            return
        }
        entry.result = outcome
        // The stated outcome (`-> EINVAL`) is an expectation; an unstated failure is a failed one.
        if let want = s.outcome {
            let ok = outcome.matches(want)
            entry.expectations.append(ExpectationResult(
                met: ok, message: ok ? "\(want.description) as expected"
                    : "expected \(want.description), found \(outcome.description)"))
        } else if !outcome.isOK {
            entry.expectations.append(ExpectationResult(met: false, message: "unexpected \(outcome.description)"))
        }
        appendEntry(entry)
    }

    /// Address and length of a page reference into a mapping.
    func span(_ ref: PageRef) -> (address: UInt64, pages: Range<Int>)? {
        guard let m = mappings[ref.name] else { return nil }
        let first = ref.first ?? 0, last = ref.last ?? (m.pages - 1)
        return (m.address + UInt64(first) * pageSize, first..<(last + 1))
    }

    mutating func mappingSpan(_ ref: PageRef) -> (address: UInt64, pages: Range<Int>)? {
        guard let sp = span(ref) else {
            fatal = Diagnostic(ref.location, "expected a mapping, found '\(ref.name)', which was never mapped (its mmap failed)")
            return nil
        }
        return sp
    }

    func pageAddress(_ name: String, _ page: Int) -> UInt64 {
        (mappings[name]?.address ?? 0) + UInt64(page) * pageSize
    }

    /// Runs a call that does not sleep to its end (the statements that run whole).
    mutating func perform(_ call: SystemCall) -> CallResult {
        var progress = backend.start(call)
        while true {
            switch progress {
            case .finished(let r): return r
            case .preempted(let p): progress = backend.resume(p)
            case .blocked: return .backendError("\(call) slept in the kernel")
            }
        }
    }

    /// Executes a statement that is not one call (Runner+Tasks.swift has those); returns its
    /// result.
    mutating func execute(_ s: Statement, _ entry: inout StatementReport) -> OpOutcome {
        switch s.kind {
        case .scenarioTitle, .design, .kconfig, .check:
            return .ok
        case .pread(let ref):
            guard let f = files[ref.name] else {
                fatal = Diagnostic(ref.location, "expected a file, found '\(ref.name)', which was never created")
                return .ok
            }
            var tokens: [(Int, UInt64)] = []
            defer { entry.observations += Observation.tokens(ref.name, tokens) }
            for page in (ref.first ?? 0)...(ref.last ?? max(f.pages - 1, 0)) {
                switch perform(.pread(f.handle, offset: UInt64(page) * pageSize)) {
                case .value(let t): tokens.append((page, t))
                case let r: return OpOutcome(r.errno ?? .EIO)
                }
            }
            return .ok
        case .expectMemmap(let name, let bytes):
            guard let f = files[name], let found = backend.memmapBytes(of: f.handle) else {
                fatal = Diagnostic(s.location, "expected the struct page bytes of '\(name)', which the \(backendKind) does not report")
                return .ok
            }
            entry.observations.append(.memmap(name: name, bytes: found))
            entry.expectations.append(found == Int(clamping: bytes)
                ? ExpectationResult(met: true, message: "ok")
                : ExpectationResult(met: false, message: "memmap \(name): expected \(bytes) bytes, found \(found)"))
            return .ok
        case .expectGuestMemfd(let ref, let wantPrivate):
            guard let f = files[ref.name] else {
                fatal = Diagnostic(ref.location, "expected a file, found '\(ref.name)', which was never created")
                return .ok
            }
            let pages = (ref.first ?? 0)...(ref.last ?? max(f.pages - 1, 0))
            var wrong: [String] = []
            for page in pages {
                guard let isPrivate = backend.gmemIsPrivate(f.handle, page: UInt64(page)) else {
                    fatal = Diagnostic(s.location, "expected the attributes of a guest_memfd, found '\(ref.name)', "
                                       + "which is not one (or the \(backendKind) does not report them)")
                    return .ok
                }
                if isPrivate != wantPrivate { wrong.append("\(ref.name)[\(page)] is \(isPrivate ? "private" : "shared")") }
            }
            entry.expectations.append(wrong.isEmpty
                ? ExpectationResult(met: true, message: "ok")
                : ExpectationResult(met: false, message: "expected \(ref) \(wantPrivate ? "private" : "shared"), found "
                                    + wrong.joined(separator: ", ")))
            return .ok
        case .pagemap(let ref):
            guard let sp = mappingSpan(ref) else { return .ok }
            var reader = PagemapReader(pageAddress(ref.name, sp.pages.lowerBound), sp.pages.count)
            defer { finish(&reader) }
            for page in sp.pages {
                let word = nextWord(&reader)
                entry.observations.append(.pagemap(ref: "\(ref.name)[\(page)]", identities.describe(word)))
                identities.note(word)
            }
            return .ok
        case .expectPagemapWord(let ref, let expected):
            guard let sp = mappingSpan(ref) else { return .ok }
            var reader = PagemapReader(pageAddress(ref.name, sp.pages.lowerBound), sp.pages.count)
            defer { finish(&reader) }
            for page in sp.pages {
                let word = nextWord(&reader)
                // The description (for the message) names the word as before it is noted.
                let matched = PagemapWord.matches(observed: word, expected: expected)
                let d = matched ? nil : identities.describe(word)
                identities.note(word)
                if let d {
                    entry.expectations.append(ExpectationResult(met: false, message:
                        "\(ref.name)[\(page)]: expected \(hex(expected)) (\(PagemapWord.bitNames(expected).joined(separator: " "))), found \(d.summary)"))
                    return .ok
                }
            }
            entry.expectations.append(ExpectationResult(met: true, message: "ok"))
            return .ok
        case .expectPagemapFields(let ref, let fields):
            guard let sp = mappingSpan(ref) else { return .ok }
            var reader = PagemapReader(pageAddress(ref.name, sp.pages.lowerBound), sp.pages.count)
            defer { finish(&reader) }
            // Fields that are all known bits are one mask test per word; a word that fails it
            // (or any other field) goes through checkFields(), which words the message.
            let bits = Self.pagemapBitTest(fields)
            for page in sp.pages {
                let word = nextWord(&reader)
                if let (mask, want) = bits, word & mask == want {
                    identities.note(word)
                    continue
                }
                if let problem = checkFields(fields, word: word, page: "\(ref.name)[\(page)]") {
                    identities.note(word)
                    entry.expectations.append(ExpectationResult(met: false, message: problem))
                    return .ok
                }
                identities.note(word)
            }
            entry.expectations.append(ExpectationResult(met: true, message: "ok"))
            return .ok
        case .inProcess, .when:
            return .ok
        default:
            // The checker refuses everything else before the run starts.
            fatal = Diagnostic(s.location, "not implemented yet")
            return .ok
        }
    }

    /// The words of a statement's pagemap reads, fetched from the backend a range at a time
    /// (ScenarioBackend.pagemapWords) and accounted for as they are used.
    struct PagemapReader {
        /// The address of the next word, and how many words the statement may still read.
        var address: UInt64
        var left: Int
        /// Words fetched and not used yet, from `next`; the fetched words start at `fetchedAt`.
        var words: [UInt64] = []
        var next = 0
        var fetchedAt: UInt64 = 0
        /// The backend reads word by word.
        var byWord = false

        init(_ address: UInt64, _ count: Int) {
            self.address = address
            left = count
        }
    }

    /// `field=value` expectations that are all bits with known names, as one test: the word
    /// meets them when word & mask == want (nil: some field is not a known bit).
    static func pagemapBitTest(_ fields: [PagemapField]) -> (mask: UInt64, want: UInt64)? {
        var mask: UInt64 = 0, want: UInt64 = 0
        for f in fields {
            guard case .bit(let name, let value) = f, let b = PagemapWord.bit(named: name) else { return nil }
            if mask & b != 0 && (want & b != 0) != value { return nil }   // contradictory: checkFields words it
            mask |= b
            if value { want |= b }
        }
        return (mask, want)
    }

    /// Chunk of a range read: 4096 words, the size of a reader's buffer in the benchmarks.
    static var pagemapChunk: Int { 4096 }

    /// The next word of `reader` (the statement reads its pages in order).
    mutating func nextWord(_ reader: inout PagemapReader) -> UInt64 {
        if reader.next == reader.words.count && !reader.byWord {
            finish(&reader)
            let n = min(reader.left, Self.pagemapChunk)
            if let w = backend.pagemapWords(process, address: reader.address, count: max(n, 1)) {
                reader.words = w
                reader.fetchedAt = reader.address
            } else {
                reader.byWord = true
            }
        }
        let a = reader.address
        reader.address &+= pageSize
        reader.left -= 1
        if reader.byWord { return pagemapWord(process, a) }
        defer { reader.next += 1 }
        return reader.words[reader.next]
    }

    /// Accounts for the words of `reader` used since its last fetch.
    mutating func finish(_ reader: inout PagemapReader) {
        guard reader.next > 0 else { return }
        backend.accountPagemapWords(process, address: reader.fetchedAt, count: reader.next)
        reader.words = []
        reader.next = 0
    }

    /// One raw pagemap word, read as root (0 when the backend could not read it).
    mutating func pagemapWord(_ p: ProcessHandle, _ address: UInt64) -> UInt64 {
        if case .value(let w) = perform(.pagemapRead(p, address: address)) { return w }
        return 0
    }

    /// Evaluates `field=value` expectations on one pagemap word; nil when all hold. The word's
    /// description (only messages use it) is made when needed, as the word stood before this
    /// check noted any other word.
    mutating func checkFields(_ fields: [PagemapField], word: UInt64, page pageName: @autoclosure () -> String) -> String? {
        var described: WordDescription? = nil
        func d() -> WordDescription { described ?? identities.describe(word) }
        var page: String { pageName() }
        for f in fields {
            switch f {
            case .bit(let name, let value):
                guard let bit = PagemapWord.bit(named: name) else { return "\(page): unknown pagemap bit \(name)" }
                let actual = word & bit != 0
                if actual != value {
                    return "\(page): expected \(name)=\(value ? 1 : 0), found \(name)=\(actual ? 1 : 0) (\(d().summary))"
                }
            case .frameZero:
                if !(PagemapWord.isPresent(word) && identities.isZero(word)) {
                    return "\(page): expected frame=zero, found \(d().summary)"
                }
            case .frameNew:
                guard PagemapWord.isPresent(word) || PagemapWord.isRealSwap(word) else {
                    return "\(page): expected frame=new, found no frame (\(d().summary))"
                }
                if identities.seen(word) {
                    return "\(page): expected frame=new, found \(d().identity), seen before"
                }
            case .frameID(let n):
                // A frame first seen by this expectation gets the next number, as printed.
                guard identities.identityNumberOrNext(word) == n else {
                    return "\(page): expected frame=id(\(n)), found \(d().identity.isEmpty ? d().summary : d().identity)"
                }
            case .frameSame(let other):
                guard let sp = span(other), let otherPage = sp.pages.first else {
                    return "\(page): expected frame=same(\(other)), but \(other.name) was never mapped"
                }
                let otherWord = pagemapWord(process, pageAddress(other.name, otherPage))
                let od = identities.describe(otherWord)
                if described == nil { described = identities.describe(word) }
                identities.note(otherWord)
                guard PagemapWord.sameFrame(word, otherWord) else {
                    return "\(page): expected frame=same(\(other)) (\(od.identity.isEmpty ? "no frame" : od.identity)), found \(d().identity.isEmpty ? d().summary : d().identity)"
                }
            }
        }
        return nil
    }
}

/// `0x1f` (report text).
public func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

/// The result of an operation.
public enum OpOutcome: Hashable, Sendable, CustomStringConvertible {
    case ok
    case errno(Errno)
    /// A signal raised at `page`; `siAddr` names its si_addr when the backend reports one.
    case signal(SignalInfo, page: String, siAddr: String? = nil)

    init(_ e: Errno?) { self = e.map { .errno($0) } ?? .ok }

    var isOK: Bool { self == .ok }

    func matches(_ o: Outcome) -> Bool {
        switch (self, o) {
        case (.errno(let e), .errno(let name)): return e.description == name
        case (.signal(let s, _, _), .signal(let name)): return s.signal.rawValue == name
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .ok: "success"
        case .errno(let e): e.description
        case .signal(let s, let page, let siAddr): "\(s.text(addressName: siAddr ?? s.address.map(hex))) at \(page)"
        }
    }
}
