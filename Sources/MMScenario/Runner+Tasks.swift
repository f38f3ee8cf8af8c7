// SPDX-License-Identifier: Apache-2.0
//
// Statements that may sleep in the kernel (accesses that hit a userfault, system calls that
// wait for a userfaultfd reader) run as resumable tasks; and the userfaultfd, event and
// PAGEMAP_SCAN statements.

import MMLab
import MMSyntax

/// A statement being executed; it may sleep and be resumed where it stopped.
struct StatementTask {
    var statement: Statement
    var entry: StatementReport
    var process: ProcessHandle
    /// Page loops (read, write, expect read): the next page index within the reference.
    var nextIndex = 0
    var tokens: [(Int, UInt64)] = []
    var tokensRef = ""
    /// A system call in progress.
    var syscall: SyscallState?
    /// Whether the statement already slept once (its completion is then marked resumed).
    var resumed = false
}

/// The result of advancing a task.
enum TaskStep {
    case done(OpOutcome)
    case blocked(WaitID, String)
}

extension ScenarioRunner {
    /// Runs `task` until it finishes or sleeps.
    mutating func advance(_ task: inout StatementTask) -> TaskStep {
        let s = task.statement
        switch s.kind {
        case .read(let ref):
            return accessLoop(&task, ref, store: nil, expect: nil)
        case .write(let ref, let value):
            return accessLoop(&task, ref, store: value, expect: nil)
        case .expectRead(let ref, let value):
            return accessLoop(&task, ref, store: nil, expect: value)
        case .madvise(let ref, let adviceName):
            guard let sp = mappingSpan(ref), let advice = Advice(rawValue: adviceName) else { return .done(.ok) }
            return syscallStep(&task, .madvise(mm: task.process, start: sp.address,
                                               length: UInt64(sp.pages.count) * pageSize, advice: advice))
        case .munmap(let ref):
            guard let sp = mappingSpan(ref) else { return .done(.ok) }
            return syscallStep(&task, .munmap(mm: task.process, start: sp.address, length: UInt64(sp.pages.count) * pageSize))
        case .fork(let child):
            if task.syscall == nil {
                // The FORK events this fork will raise, one per userfaultfd with EVENT_FORK.
                for (u, p) in uffdProcess.sorted(by: { $0.key < $1.key }) where p == processName && uffdForksEvents[u] == true {
                    pendingForkNames[u, default: []].append(child)
                }
            }
            let step = syscallStep(&task, .fork(mm: task.process, childName: child))
            return step
        default:
            var entry = task.entry
            let outcome = execute(s, &entry)
            task.entry = entry
            return .done(outcome)
        }
    }

    /// A system call that may sleep until a userfaultfd reader reads its event.
    mutating func syscallStep(_ task: inout StatementTask, _ call: Syscall) -> TaskStep {
        let progress = task.syscall.map { backend.resume($0) } ?? backend.start(call)
        switch progress {
        case .finished(let r):
            task.syscall = nil
            switch r {
            case .ok: return .done(.ok)
            case .errno(let e): return .done(.errno(e))
            case .forked(let child):
                if case .fork(let name) = task.statement.kind { processes[name] = child }
                return .done(.ok)
            }
        case .blocked(let w, let st):
            task.syscall = st
            if case .madvise(_, _, _, let advice) = call, advice == .populate_read || advice == .populate_write {
                return .blocked(w, "userfault at \(pageName(st.position))")
            }
            return .blocked(w, "waiting for a userfaultfd reader to read its event")
        case .preempted(let st):   // only stepwise calls stop here; run it on
            task.syscall = st
            return syscallStep(&task, call)
        }
    }

    /// Loads or stores page by page; a userfault puts the task to sleep at that page.
    mutating func accessLoop(_ task: inout StatementTask, _ ref: PageRef, store: TokenValue?, expect: TokenValue?) -> TaskStep {
        guard let sp = mappingSpan(ref) else { return .done(.ok) }
        task.tokensRef = ref.name
        let pages = Array(sp.pages)
        while task.nextIndex < pages.count {
            let i = task.nextIndex, page = pages[i]
            let r = backend.access(task.process, address: pageAddress(ref.name, page), store: store?.token(at: i))
            switch r {
            case .ok(let t):
                if store == nil { task.tokens.append((page, t)) }
                if let want = expect?.token(at: i), t != want {
                    task.entry.expectations.append(ExpectationResult(met: false, message:
                        "\(ref.name)[\(page)]: expected \(hex(want)), found \(hex(t))"))
                    return .done(.ok)
                }
                task.nextIndex += 1
            case .signal(let sig):
                if let want = expect?.token(at: i) {
                    task.entry.expectations.append(ExpectationResult(met: false, message:
                        "\(ref.name)[\(page)]: expected \(hex(want)), found \(sig)"))
                    return .done(.ok)
                }
                return .done(signalOutcome(sig, page: "\(ref.name)[\(page)]"))
            case .modelError(let msg):
                fatal = Diagnostic(task.statement.location, "internal \(backendKind) error: \(msg)")
                return .done(.ok)
            case .blocked(let w):
                return .blocked(w, "userfault at \(ref.name)[\(page)]")
            }
        }
        if expect != nil { task.entry.expectations.append(ExpectationResult(met: true, message: "ok")) }
        return .done(.ok)
    }

    /// Records that a statement went to sleep (a line of the trace).
    mutating func noteBlocked(_ task: inout StatementTask, _ why: String) {
        if !task.resumed {
            var e = task.entry
            e.note = "blocked: \(why)"
            e.observations = Observation.tokens(task.tokensRef, task.tokens)
            report.entries.append(e)
            task.tokens = []
        }
        task.resumed = true
        task.entry.note = "resumed"
    }

    // MARK: userfaultfd, events, PAGEMAP_SCAN

    /// The address and byte length of a page reference into a mapping.
    mutating func byteRange(_ ref: PageRef) -> (UInt64, UInt64)? {
        guard let sp = mappingSpan(ref) else { return nil }
        return (sp.address, UInt64(sp.pages.count) * pageSize)
    }

    mutating func uffdHandle(_ name: String, _ s: Statement) -> UffdHandle? {
        guard let u = uffds[name] else {
            fatal = Diagnostic(s.location, "expected a userfaultfd, found '\(name)', which was never created (its creation failed)")
            return nil
        }
        return u
    }

    /// The arguments of a `pagemap_scan` statement.
    func pagemapScanArgs(_ ref: PageRef, _ flags: [String]) -> PagemapScanArgs? {
        guard let sp = span(ref) else { return nil }
        var args = PagemapScanArgs(start: sp.address, end: sp.address + UInt64(sp.pages.count) * pageSize)
        args.wpMatching = flags.contains("wp_matching")
        args.checkWPAsync = flags.contains("check_wpasync")
        return args
    }

    /// A `pagemap_scan` statement's result: its regions as observations, or its error.
    func recordScan(_ ref: PageRef, _ result: Result<[PageRegion], Errno>, _ entry: inout StatementReport) -> OpOutcome {
        switch result {
        case .success(let regions):
            for r in regions {
                let first = Int((r.start - (mappings[ref.name]?.address ?? 0)) / pageSize)
                let last = Int((r.end - (mappings[ref.name]?.address ?? 0)) / pageSize) - 1
                let pr = first == last ? "\(ref.name)[\(first)]" : "\(ref.name)[\(first)..\(last)]"
                entry.observations.append(.scan(ref: pr, categories: categoryNames(r.categories)))
            }
            return .ok
        case .failure(let e): return .errno(e)
        }
    }

    /// The statements `execute` does not handle itself.
    mutating func executeMore(_ s: Statement, _ entry: inout StatementReport) -> OpOutcome {
        switch s.kind {
        case .uffdCreate(let name, let featureNames):
            guard let features = UffdFeatures(names: featureNames) else { return .errno(.EINVAL) }
            switch backend.uffdCreate(process, features: features) {
            case .success(let u):
                uffds[name] = u
                uffdProcess[name] = processName
                uffdForksEvents[name] = features.contains(.eventFork)
                return .ok
            case .failure(let e): return .errno(e)
            }
        case .uffdRegister(let name, let ref, let modes):
            guard let u = uffdHandle(name, s), let (a, l) = byteRange(ref) else { return .ok }
            guard let mode = UffdRegisterMode(names: modes) else { return .errno(.EINVAL) }
            return OpOutcome(backend.uffdRegister(u, address: a, length: l, mode: mode))
        case .uffdUnregister(let name, let ref):
            guard let u = uffdHandle(name, s), let (a, l) = byteRange(ref) else { return .ok }
            return OpOutcome(backend.uffdUnregister(u, address: a, length: l))
        case .uffdWriteProtect(let name, let ref, let protect, let dontwake):
            guard let u = uffdHandle(name, s), let (a, l) = byteRange(ref) else { return .ok }
            return OpOutcome(backend.uffdWriteProtect(u, address: a, length: l, protect: protect, dontwake: dontwake))
        case .uffdCopy(let name, let ref, let value, let wp, let dontwake):
            guard let u = uffdHandle(name, s), let (a, l) = byteRange(ref) else { return .ok }
            let mode: MfillMode
            switch value {
            case .literal(let v): mode = .copy(base: v, seq: false)
            case .seq(let v): mode = .copy(base: v, seq: true)
            }
            return OpOutcome(backend.uffdMfill(u, address: a, length: l, mode: mode, wp: wp, dontwake: dontwake))
        case .uffdZeropage(let name, let ref, let dontwake):
            guard let u = uffdHandle(name, s), let (a, l) = byteRange(ref) else { return .ok }
            return OpOutcome(backend.uffdMfill(u, address: a, length: l, mode: .zeropage, wp: false, dontwake: dontwake))
        case .uffdContinue(let name, let ref, let wp, let dontwake):
            guard let u = uffdHandle(name, s), let (a, l) = byteRange(ref) else { return .ok }
            return OpOutcome(backend.uffdMfill(u, address: a, length: l, mode: .continue, wp: wp, dontwake: dontwake))
        case .uffdPoison(let name, let ref, let dontwake):
            guard let u = uffdHandle(name, s), let (a, l) = byteRange(ref) else { return .ok }
            return OpOutcome(backend.uffdMfill(u, address: a, length: l, mode: .poison, wp: false, dontwake: dontwake))
        case .uffdWake(let name, let ref):
            guard let u = uffdHandle(name, s), let (a, l) = byteRange(ref) else { return .ok }
            return OpOutcome(backend.uffdWake(u, address: a, length: l))
        case .expectEvent(let name, let pattern):
            guard let u = uffdHandle(name, s) else { return .ok }
            guard let msg = backend.uffdRead(u) else {
                entry.expectations.append(ExpectationResult(met: false, message: "expected \(describe(pattern)) on \(name), found no message"))
                return .ok
            }
            let seen = describe(msg)
            entry.observations.append(.event(uffd: name, seen))
            if let problem = matchEvent(pattern, msg, uffdName: name) {
                entry.expectations.append(ExpectationResult(met: false, message: "expected \(describe(pattern)) on \(name), found \(seen)\(problem)"))
            } else {
                entry.expectations.append(ExpectationResult(met: true, message: "ok"))
            }
            return .ok
        case .expectNoEvent(let name):
            guard let u = uffdHandle(name, s) else { return .ok }
            if let msg = backend.uffdRead(u) {
                entry.expectations.append(ExpectationResult(met: false, message: "expected no message on \(name), found \(describe(msg))"))
            } else {
                entry.expectations.append(ExpectationResult(met: true, message: "ok"))
            }
            return .ok
        case .poison(let ref):
            guard let sp = mappingSpan(ref) else { return .ok }
            let r = backend.madviseHWPoison(process, address: sp.address, length: UInt64(sp.pages.count) * pageSize)
            if let why = r.notModelled {
                fatal = Diagnostic(s.location, "internal \(backendKind) error: \(why)")
                return .ok
            }
            if let sig = r.signal {
                let at = r.signalAt >= sp.address && r.signalAt < sp.address + UInt64(sp.pages.count) * pageSize
                    ? "\(ref.name)[\(sp.pages.lowerBound + Int((r.signalAt - sp.address) / pageSize))]" : pageName(r.signalAt)
                return signalOutcome(sig, page: at)
            }
            return OpOutcome(r.error)
        case .exitProcess:
            return OpOutcome(backend.exitProcess(process))
        case .ksmRun:
            return OpOutcome(backend.ksmRun())
        case .ksmScan(let n):
            return OpOutcome(backend.ksmScan(n))
        case .ksmUseZeroPages(let on):
            return OpOutcome(backend.ksmSetUseZeroPages(on))
        case .ksmMaxPageSharing(let n):
            return OpOutcome(backend.ksmSetMaxPageSharing(n))
        case .expectKSM(let wanted):
            let counters = backend.ksmCounters()
            var problems: [String] = []
            for w in wanted {
                guard let have = counters.first(where: { $0.0 == w.name })?.1 else {
                    problems.append("\(w.name): not reported by this backend")
                    continue
                }
                if have != Int64(bitPattern: w.value) { problems.append("\(w.name)=\(w.value) expected, found \(have)") }
            }
            entry.observations.append(.ksm(counters.filter { c in wanted.contains { $0.name == c.0 } }.map { "\($0.0)=\($0.1)" }))
            entry.expectations.append(ExpectationResult(met: problems.isEmpty, message: problems.isEmpty ? "ok" : problems.joined(separator: "; ")))
            return .ok
        case .pagemapScan(let ref, let flags):
            guard mappingSpan(ref) != nil, let args = pagemapScanArgs(ref, flags) else { return .ok }
            return recordScan(ref, backend.pagemapScan(process, args), &entry)
        case .expectPagemapScan(let ref, let expectations):
            guard let sp = mappingSpan(ref) else { return .ok }
            let base = mappings[ref.name]?.address ?? 0
            let args = PagemapScanArgs(start: sp.address, end: sp.address + UInt64(sp.pages.count) * pageSize)
            guard case .success(let regions) = backend.pagemapScan(process, args) else {
                entry.expectations.append(ExpectationResult(met: false, message: "PAGEMAP_SCAN failed"))
                return .ok
            }
            for ex in expectations {
                guard let bit = PageCategory.names.first(where: { $0.0 == ex.category })?.1 else { continue }
                var pages: [Int] = []
                for r in regions where r.categories & bit != 0 {
                    var a = r.start
                    while a < r.end { pages.append(Int((a - base) / pageSize)); a += pageSize }
                }
                let want = ex.ranges.flatMap { Array($0) }.sorted()
                if pages != want {
                    entry.expectations.append(ExpectationResult(met: false, message:
                        "\(ex.category): expected \(rangesText(want)), found \(rangesText(pages))"))
                    return .ok
                }
            }
            entry.expectations.append(ExpectationResult(met: true, message: "ok"))
            return .ok
        default:
            // The checker refuses everything else before the run starts.
            fatal = Diagnostic(s.location, "not implemented yet")
            return .ok
        }
    }

    func categoryNames(_ c: UInt64) -> [String] {
        PageCategory.names.filter { c & $0.1 != 0 }.map(\.0)
    }

    func describe(_ p: EventPattern) -> String {
        switch p {
        case .pagefault(let ref, let flags): return (["pagefault", ref.description] + flags).joined(separator: " ")
        case .fork: return "fork"
        case .remove(let ref): return "remove \(ref)"
        case .unmap(let ref): return "unmap \(ref)"
        case .remap: return "remap"
        }
    }

    /// A message in the language's words: page references instead of addresses.
    func describe(_ m: UffdMessage) -> String {
        switch m.event {
        case .pagefault:
            var parts = ["pagefault", pageName(m.address)]
            parts += UffdMessage.flagNames.filter { m.flags & $0.1 != 0 }.map(\.0)
            return parts.joined(separator: " ")
        case .fork: return "fork"
        case .remap: return "remap"
        case .remove, .unmap:
            return "\(m.event == .remove ? "remove" : "unmap") \(rangeName(m.start, m.end))"
        }
    }

    /// A signal as a statement's outcome, its si_addr (when the backend reports one) named
    /// as a page of the scenario.
    func signalOutcome(_ sig: SignalInfo, page: String) -> OpOutcome {
        .signal(sig, page: page, siAddr: sig.address.map(pageName))
    }

    /// The name of the page at `address` (the first mapping that contains it).
    func pageName(_ address: UInt64) -> String {
        for (name, m) in mappings.sorted(by: { $0.key < $1.key }) where address >= m.address && address < m.address + UInt64(m.pages) * pageSize {
            return "\(name)[\((address - m.address) / pageSize)]"
        }
        return hex(address)
    }

    func rangeName(_ start: UInt64, _ end: UInt64) -> String {
        for (name, m) in mappings.sorted(by: { $0.key < $1.key }) where start >= m.address && end <= m.address + UInt64(m.pages) * pageSize && end > start {
            let a = (start - m.address) / pageSize, b = (end - m.address) / pageSize - 1
            return a == b ? "\(name)[\(a)]" : "\(name)[\(a)..\(b)]"
        }
        return "\(hex(start))..\(hex(end))"
    }

    /// Why a message does not match a pattern ("" when it does not); nil when it matches.
    mutating func matchEvent(_ p: EventPattern, _ m: UffdMessage, uffdName: String) -> String? {
        switch p {
        case .pagefault(let ref, let flags):
            guard m.event == .pagefault, let sp = span(ref) else { return "" }
            let want = UffdMessage.flagNames.filter { flags.contains($0.0) }.reduce(UInt64(0)) { $0 | $1.1 }
            return m.address == sp.address && m.flags == want ? nil : ""
        case .fork:
            guard m.event == .fork else { return "" }
            // The child's new userfaultfd is named <uffd>_<child>.
            if let child = pendingForkNames[uffdName]?.first, let cu = m.forkChild {
                pendingForkNames[uffdName]?.removeFirst()
                let childName = "\(uffdName)_\(child)"
                uffds[childName] = cu
                uffdProcess[childName] = child
                uffdForksEvents[childName] = true
            }
            return nil
        case .remove(let ref), .unmap(let ref):
            let want: UffdEvent
            if case .remove = p { want = .remove } else { want = .unmap }
            guard m.event == want, let sp = span(ref) else { return "" }
            return m.start == sp.address && m.end == sp.address + UInt64(sp.pages.count) * pageSize ? nil : ""
        case .remap:
            return m.event == .remap ? nil : ""
        }
    }
}

/// `0..3,8` for a sorted list of page indices; `none` when empty.
func rangesText(_ pages: [Int]) -> String {
    guard var start = pages.first else { return "none" }
    var parts: [String] = []
    var prev = start
    for p in pages.dropFirst() {
        if p == prev + 1 { prev = p; continue }
        parts.append(start == prev ? "\(start)" : "\(start)..\(prev)")
        start = p
        prev = p
    }
    parts.append(start == prev ? "\(start)" : "\(start)..\(prev)")
    return parts.joined(separator: ",")
}
