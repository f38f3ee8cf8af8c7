// SPDX-License-Identifier: Apache-2.0
//
// A statement as calls into the kernel: each statement that is one system call (or a run of
// memory accesses, one per page) names its SystemCall here, and what it does with the call's
// result. `run` hands the call to the backend and resumes it when it sleeps; `explore` steps
// the model's task of the same call (Runner+Stepping.swift). Statements that are several reads
// of pagemap words (`pagemap`, `expect pagemap`) and `pread` run whole in Runner.swift.

import MMLab
import MMSyntax

/// A statement being executed; it may sleep and be resumed where it stopped.
struct StatementTask<Pending> {
    var statement: Statement
    var entry: StatementReport
    var process: ProcessHandle
    /// Page loops (read, write, expect read): the next page index within the reference.
    var nextIndex = 0
    /// Page loops: the reference resolved once, at the first page.
    var loop: PageLoop?
    var tokens: [(Int, UInt64)] = []
    var tokensRef = ""
    /// The backend's call in progress (asleep, or between two steps).
    var pending: Pending?
    /// Whether the statement already slept once (its completion is then marked resumed).
    var resumed = false
}

/// A page loop's reference, resolved when its first page's call is made: the loop's later
/// pages neither look the mapping up again nor re-read the statement.
struct PageLoop {
    /// The mapping's name, the address of the reference's first page, its first page index
    /// and its page count.
    var name: String
    var address: UInt64
    var first: Int
    var count: Int
    /// The token a `write` stores (nil: a load).
    var store: TokenValue?
    /// The tokens an `expect read` wants.
    var expect: TokenValue?

    /// The access of page `i` of the loop.
    func call(_ p: ProcessHandle, _ i: Int) -> SystemCall {
        let i = min(i, count - 1)
        return .access(p, address: address + UInt64(i) * pageSize, store: store?.token(at: i))
    }
}

/// The result of advancing a task.
enum TaskStep {
    case done(OpOutcome)
    case blocked(String)
}

/// The call a statement makes next.
enum StatementCall {
    case call(SystemCall)
    /// Not one call: runs whole (`execute`).
    case whole
    /// Finished before any call, with this outcome (arguments the kernel would refuse
    /// before any work, such as an unknown feature).
    case outcome(OpOutcome)
    /// A name that does not resolve (its creation failed): the run ends with this error.
    case unresolved(Diagnostic)
}

extension ScenarioRunner {
    typealias Task = StatementTask<Backend.PendingCall>

    /// The call statement `s` of process `p` makes next (page `index` of a page loop).
    func statementCall(_ s: Statement, process p: ProcessHandle, index: Int = 0) -> StatementCall {
        func mapped(_ ref: PageRef) -> (address: UInt64, length: UInt64)? {
            span(ref).map { ($0.address, UInt64($0.pages.count) * pageSize) }
        }
        func noMapping(_ ref: PageRef) -> StatementCall {
            .unresolved(Diagnostic(ref.location, "expected a mapping, found '\(ref.name)', which was never mapped (its mmap failed)"))
        }
        func uffd(_ name: String, _ ref: PageRef, _ make: (UffdHandle, UInt64, UInt64) -> SystemCall) -> StatementCall {
            guard let u = uffds[name] else {
                return .unresolved(Diagnostic(s.location, "expected a userfaultfd, found '\(name)', which was never created (its creation failed)"))
            }
            guard let (a, l) = mapped(ref) else { return noMapping(ref) }
            return .call(make(u, a, l))
        }
        // A process that exited runs nothing more (its threads ended with it).
        if let line = exitedProcesses[p] {
            switch s.kind {
            case .scenarioTitle, .design, .kconfig, .check, .inProcess, .thread, .join, .when: break
            default:
                let name = processes.first { $0.value == p }?.key ?? "the process"
                return .unresolved(Diagnostic(s.location, "expected a statement of a process that has not exited, found one of '\(name)', which exited at line \(line)"))
            }
        }
        switch s.kind {
        case .read(let ref), .write(let ref, _), .expectRead(let ref, _):
            guard let loop = pageLoop(s) else { return noMapping(ref) }
            return .call(loop.call(p, index))
        case .swap(let bytes):
            return .call(.swapon(bytes: bytes))
        case .memfd(let name, let bytes):
            return .call(.memfdCreate(name: name, bytes: bytes))
        case .dax(let name, let bytes, let align):
            return .call(.daxCreate(name: name, bytes: bytes, align: align))
        case .guestMemfd(let name, let bytes, let flagNames, _):
            return .call(.guestMemfdCreate(name: name, bytes: bytes, flags: GuestMemfdFlags(names: flagNames) ?? []))
        case .mmap(_, let backing, let shared, let prot, let bytes, let offset, let align):
            var object: ObjectHandle? = nil
            var length = bytes ?? 0
            if case .object(let obj) = backing {
                guard let f = files[obj] else {
                    return .unresolved(Diagnostic(s.location, "expected a file to map, found '\(obj)', which was never created"))
                }
                object = f.handle
                if bytes == nil {
                    let fileBytes = UInt64(f.pages) * pageSize
                    length = fileBytes > (offset ?? 0) ? fileBytes - (offset ?? 0) : 0
                }
            }
            return .call(.mmap(p, length: length, prot: Prot(rawValue: prot.rawValue) ?? .none, shared: shared,
                               object: object, offset: offset ?? 0, align: align ?? pmdSize))
        case .mprotect(let ref, let prot):
            guard let (a, l) = mapped(ref) else { return noMapping(ref) }
            return .call(.mprotect(p, address: a, length: l, prot: Prot(rawValue: prot.rawValue) ?? .none))
        case .madvise(let ref, let adviceName):
            guard let (a, l) = mapped(ref) else { return noMapping(ref) }
            guard let advice = Advice(rawValue: adviceName) else { return .outcome(.ok) }
            return .call(.madvise(p, address: a, length: l, advice: advice))
        case .munmap(let ref):
            guard let (a, l) = mapped(ref) else { return noMapping(ref) }
            return .call(.munmap(p, address: a, length: l))
        case .poison(let ref):
            guard let (a, l) = mapped(ref) else { return noMapping(ref) }
            return .call(.madviseHWPoison(p, address: a, length: l))
        case .punch(let ref):
            guard let f = files[ref.name] else {
                return .unresolved(Diagnostic(ref.location, "expected a file, found '\(ref.name)', which was never created"))
            }
            let first = UInt64(ref.first ?? 0), last = UInt64(ref.last ?? max(f.pages - 1, 0))
            return .call(.punchHole(f.handle, offset: first * pageSize, length: (last - first + 1) * pageSize))
        case .pwrite(let ref, let value):
            // One pwrite(2) of a page per call, in page order (`index`: pages written so far).
            guard let f = files[ref.name] else {
                return .unresolved(Diagnostic(ref.location, "expected a file, found '\(ref.name)', which was never created"))
            }
            let first = ref.first ?? 0
            return .call(.pwrite(f.handle, offset: UInt64(first + index) * pageSize, token: value.token(at: index)))
        case .fork(let child):
            return .call(.fork(p, childName: child))
        case .exitProcess:
            return .call(.exit(p))
        case .clearRefs(let v):
            return .call(.clearRefs(p, value: v))
        case .prctlMemoryMerge(let on):
            return .call(.prctlSetMemoryMerge(p, on: on))
        case .pin(_, let ref, let exclusive):
            guard let (a, l) = mapped(ref) else { return noMapping(ref) }
            return .call(.pin(p, address: a, length: l, exclusive: exclusive))
        case .convert(let ref, let toPrivate):
            guard let f = files[ref.name] else {
                return .unresolved(Diagnostic(ref.location, "expected a file, found '\(ref.name)', which was never created"))
            }
            let first = UInt64(ref.first ?? 0), last = UInt64(ref.last ?? max(f.pages - 1, 0))
            return .call(.gmemConvert(f.handle, offset: first * pageSize, length: (last - first + 1) * pageSize,
                                      toPrivate: toPrivate))
        case .unpin(let name):
            // A pin that failed holds nothing: unregistering buffers a ring does not have is
            // ENXIO (io_sqe_buffers_unregister()).
            guard let pin = pins[name] else { return .outcome(.errno(.ENXIO)) }
            return .call(.unpin(pin.process, pin: pin.handle))
        case .uffdCreate(_, let featureNames):
            guard let features = UffdFeatures(names: featureNames) else { return .outcome(.errno(.EINVAL)) }
            return .call(.uffdCreate(p, features: features))
        case .uffdRegister(let name, let ref, let modes):
            let mode = UffdRegisterMode(names: modes)
            let c = uffd(name, ref) { .uffdRegister($0, address: $1, length: $2, mode: mode ?? []) }
            if case .call = c, mode == nil { return .outcome(.errno(.EINVAL)) }
            return c
        case .uffdUnregister(let name, let ref):
            return uffd(name, ref) { .uffdUnregister($0, address: $1, length: $2) }
        case .uffdWriteProtect(let name, let ref, let protect, let dontwake):
            return uffd(name, ref) { .uffdWriteProtect($0, address: $1, length: $2, protect: protect, dontwake: dontwake) }
        case .uffdCopy(let name, let ref, let value, let wp, let dontwake):
            let mode: MfillMode
            switch value {
            case .literal(let v): mode = .copy(base: v, seq: false)
            case .seq(let v): mode = .copy(base: v, seq: true)
            }
            return uffd(name, ref) { .uffdMfill($0, address: $1, length: $2, mode: mode, wp: wp, dontwake: dontwake) }
        case .uffdZeropage(let name, let ref, let dontwake):
            return uffd(name, ref) { .uffdMfill($0, address: $1, length: $2, mode: .zeropage, wp: false, dontwake: dontwake) }
        case .uffdContinue(let name, let ref, let wp, let dontwake):
            return uffd(name, ref) { .uffdMfill($0, address: $1, length: $2, mode: .continue, wp: wp, dontwake: dontwake) }
        case .uffdPoison(let name, let ref, let dontwake):
            return uffd(name, ref) { .uffdMfill($0, address: $1, length: $2, mode: .poison, wp: false, dontwake: dontwake) }
        case .uffdWake(let name, let ref):
            return uffd(name, ref) { .uffdWake($0, address: $1, length: $2) }
        case .expectEvent(let name, _), .expectNoEvent(let name):
            guard let u = uffds[name] else {
                return .unresolved(Diagnostic(s.location, "expected a userfaultfd, found '\(name)', which was never created (its creation failed)"))
            }
            return .call(.uffdRead(u))
        case .ksmRun:
            return .call(.ksmRun)
        case .ksmScan(let n):
            return .call(.ksmScan(n))
        case .ksmUseZeroPages(let on):
            return .call(.ksmSetUseZeroPages(on))
        case .ksmMaxPageSharing(let n):
            return .call(.ksmSetMaxPageSharing(n))
        case .expectKSM:
            return .call(.ksmCounters)
        case .pagemapScan(let ref, let flags):
            guard span(ref) != nil, let args = pagemapScanArgs(ref, flags) else { return noMapping(ref) }
            return .call(.pagemapScan(p, args))
        case .expectPagemapScan(let ref, _):
            guard let (a, l) = mapped(ref) else { return noMapping(ref) }
            return .call(.pagemapScan(p, PagemapScanArgs(start: a, end: a + l)))
        // What the runner does itself (declarations, blocks, pagemap and pread page by page,
        // checks): Runner.swift. No default: a new statement must say which it is.
        case .scenarioTitle, .design, .kconfig, .inProcess, .when, .thread, .join, .pagemap, .pread, .expectMemmap, .expectGuestMemfd, .expectPagemapWord,
             .expectPagemapFields, .check:
            return .whole
        }
    }

    /// The page loop of a read, write or expect read (nil: another statement, or a name that
    /// does not resolve).
    func pageLoop(_ s: Statement) -> PageLoop? {
        var store: TokenValue? = nil, expect: TokenValue? = nil
        let ref: PageRef
        switch s.kind {
        case .read(let r): ref = r
        case .expectRead(let r, let v): ref = r; expect = v
        case .write(let r, let v): ref = r; store = v
        default: return nil
        }
        guard let sp = span(ref) else { return nil }
        return PageLoop(name: ref.name, address: sp.address, first: sp.pages.lowerBound, count: sp.pages.count,
                        store: store, expect: expect)
    }

    /// Runs `task` until it finishes or sleeps (the default schedule of `run`).
    mutating func advance(_ task: inout Task) -> TaskStep {
        while true {
            if task.pending == nil, let loop = task.loop { return advancePages(&task, loop) }
            let progress: CallProgress<Backend.PendingCall>
            if let pending = task.pending {
                progress = backend.resume(pending)
            } else {
                switch statementCall(task.statement, process: task.process, index: task.nextIndex) {
                case .whole:
                    var entry = task.entry
                    let outcome = execute(task.statement, &entry)
                    task.entry = entry
                    return .done(outcome)
                case .outcome(let o):
                    return .done(o)
                case .unresolved(let d):
                    fatal = d
                    return .done(.ok)
                case .call(let call):
                    willStart(task.statement)
                    task.loop = pageLoop(task.statement)
                    if let loop = task.loop { task.tokensRef = loop.name }
                    progress = backend.start(call)
                }
            }
            switch progress {
            case .finished(let r):
                task.pending = nil
                if let step = absorb(r, &task) { return step }
            case .blocked(let p, let why):
                task.pending = p
                return .blocked(blockedText(task, why))
            case .preempted(let p):   // only a stepping backend stops here; run it on
                task.pending = p
            }
        }
    }

    /// The pages of a page loop after its first, one access each, until the loop ends or an
    /// access sleeps: `advance` for reads and writes, without looking at the statement again.
    mutating func advancePages(_ task: inout Task, _ loop: PageLoop) -> TaskStep {
        while true {
            let i = min(task.nextIndex, loop.count - 1)
            switch backend.access(task.process, address: loop.address + UInt64(i) * pageSize, store: loop.store?.token(at: i)) {
            case .finished(.backendError(let msg)):
                fatal = Diagnostic(task.statement.location, "internal \(backendKind) error: \(msg)")
                return .done(.ok)
            case .finished(let r):
                if let step = absorbPage(r, &task, loop) { return step }
            case .blocked(let p, let why):
                task.pending = p
                return .blocked(blockedText(task, why))
            case .preempted(let p):   // a stepping backend: the generic loop runs it on
                task.pending = p
                return advance(&task)
            }
        }
    }

    /// Bookkeeping before a statement's call starts: the FORK events a fork will raise, one
    /// per userfaultfd with EVENT_FORK, name the child's userfaultfds.
    mutating func willStart(_ s: Statement) {
        guard case .fork(let child) = s.kind else { return }
        for (u, p) in uffdProcess.sorted(by: { $0.key < $1.key }) where p == processName && uffdForksEvents[u] == true {
            pendingForkNames[u, default: []].append(child)
        }
    }

    /// Why a task sleeps, in the scenario's words.
    func blockedText(_ task: Task, _ why: BlockReason) -> String {
        switch (task.statement.kind, why) {
        case (.read(let ref), _), (.write(let ref, _), _), (.expectRead(let ref, _), _):
            let page = span(ref).map { $0.pages.lowerBound + min(task.nextIndex, $0.pages.count - 1) } ?? 0
            return "userfault at \(ref.name)[\(page)]"
        case (_, .userfault(let a?)): return "userfault at \(pageName(a))"
        case (_, .userfault(nil)): return "userfault (at an address the backend does not report)"
        case (_, .event): return "waiting for a userfaultfd reader to read its event"
        }
    }

    /// What a statement does with its finished call's result: its outcome (nil: a page loop
    /// goes on with its next page).
    mutating func absorb(_ r: CallResult, _ task: inout Task) -> TaskStep? {
        let s = task.statement
        if case .backendError(let msg) = r {
            fatal = Diagnostic(s.location, "internal \(backendKind) error: \(msg)")
            return .done(.ok)
        }
        switch s.kind {
        case .read, .write, .expectRead:
            guard let loop = task.loop ?? pageLoop(s) else { return .done(.ok) }
            task.tokensRef = loop.name
            return absorbPage(r, &task, loop)
        case .exitProcess:
            if case .ok = r { exitedProcesses[task.process] = s.location.line }
            return .done(OpOutcome(r.errno))
        case .memfd(let name, let bytes), .dax(let name, let bytes, _), .guestMemfd(let name, let bytes, _, _):
            guard case .handle(let h) = r else { return .done(OpOutcome(r.errno)) }
            files[name] = (h, pagesOf(bytes))
            return .done(.ok)
        case .mmap(let name, let backing, _, _, _, let offset, _):
            guard case .value(let address) = r, case .call(.mmap(_, let length, _, _, _, _, _)) = statementCall(s, process: task.process) else {
                return .done(OpOutcome(r.errno))
            }
            mappings[name] = MappingState(address: address, pages: pagesOf(length),
                                          object: { if case .object(let o) = backing { return o } else { return nil } }(),
                                          offsetPages: (offset ?? 0) / pageSize)
            return .done(.ok)
        case .pwrite(let ref, _):
            // A page written: on to the next (nil), or the statement is done; the first
            // error ends it.
            guard case .value = r, let f = files[ref.name] else { return .done(OpOutcome(r.errno)) }
            task.nextIndex += 1
            let count = (ref.last ?? max(f.pages - 1, 0)) - (ref.first ?? 0) + 1
            return task.nextIndex < count ? nil : .done(.ok)
        case .fork(let name):
            // fork returns once its FORK events were read: a userfaultfd whose event for this
            // child was not read raised none (it had no VMA fork copies), so the child's name
            // is not the next FORK event's.
            for u in pendingForkNames.keys.sorted() { pendingForkNames[u]?.removeAll { $0 == name } }
            guard case .handle(let child) = r else { return .done(OpOutcome(r.errno)) }
            processes[name] = child
            return .done(.ok)
        case .pin(let name, _, _):
            guard case .handle(let h) = r else { return .done(OpOutcome(r.errno)) }
            pins[name] = (task.process, h)
            return .done(.ok)
        case .unpin(let name):
            pins[name] = nil
            return .done(OpOutcome(r.errno))
        case .convert(let ref, _):
            // The ioctl's error_offset, as the page of the file it names.
            if case .conversionFailed(let e, let offset) = r {
                task.entry.note = "error offset \(ref.name)[\(offset / pageSize)]"
                return .done(OpOutcome(e))
            }
            return .done(OpOutcome(r.errno))
        case .uffdCreate(let name, let featureNames):
            guard case .handle(let u) = r else { return .done(OpOutcome(r.errno)) }
            uffds[name] = u
            uffdProcess[name] = processName
            uffdForksEvents[name] = UffdFeatures(names: featureNames)?.contains(.eventFork) ?? false
            return .done(.ok)
        case .poison(let ref):
            guard case .hwpoison(let h) = r, let sp = span(ref) else { return .done(OpOutcome(r.errno)) }
            if let why = h.notModelled {
                fatal = Diagnostic(s.location, "internal \(backendKind) error: \(why)")
                return .done(.ok)
            }
            if let sig = h.signal {
                let length = UInt64(sp.pages.count) * pageSize
                let at = h.signalAt >= sp.address && h.signalAt < sp.address + length
                    ? "\(ref.name)[\(sp.pages.lowerBound + Int((h.signalAt - sp.address) / pageSize))]" : pageName(h.signalAt)
                return .done(signalOutcome(sig, page: at))
            }
            return .done(OpOutcome(h.error))
        case .expectEvent(let name, let pattern):
            guard case .message(let m) = r, let msg = m else {
                task.entry.expectations.append(ExpectationResult(met: false, message: "expected \(describe(pattern)) on \(name), found no message"))
                return .done(.ok)
            }
            let seen = describe(msg)
            task.entry.observations.append(.event(uffd: name, seen))
            if let problem = matchEvent(pattern, msg, uffdName: name) {
                task.entry.expectations.append(ExpectationResult(met: false, message: "expected \(describe(pattern)) on \(name), found \(seen)\(problem)"))
            } else {
                task.entry.expectations.append(ExpectationResult(met: true, message: "ok"))
            }
            return .done(.ok)
        case .expectNoEvent(let name):
            if case .message(let m?) = r {
                task.entry.expectations.append(ExpectationResult(met: false, message: "expected no message on \(name), found \(describe(m))"))
            } else {
                task.entry.expectations.append(ExpectationResult(met: true, message: "ok"))
            }
            return .done(.ok)
        case .expectKSM(let wanted):
            guard case .counters(let counters) = r else { return .done(OpOutcome(r.errno)) }
            var problems: [String] = []
            for w in wanted {
                guard let have = counters.first(where: { $0.name == w.name })?.value else {
                    problems.append("\(w.name): not reported by this backend")
                    continue
                }
                if have != Int64(bitPattern: w.value) { problems.append("\(w.name)=\(w.value) expected, found \(have)") }
            }
            task.entry.observations.append(.ksm(counters.filter { c in wanted.contains { $0.name == c.name } }.map { "\($0.name)=\($0.value)" }))
            task.entry.expectations.append(ExpectationResult(met: problems.isEmpty, message: problems.isEmpty ? "ok" : problems.joined(separator: "; ")))
            return .done(.ok)
        case .pagemapScan(let ref, _):
            switch r {
            case .regions(let regions): return .done(recordScan(ref, .success(regions), &task.entry))
            default: return .done(OpOutcome(r.errno))
            }
        case .expectPagemapScan(let ref, let expectations):
            guard case .regions(let regions) = r else {
                task.entry.expectations.append(ExpectationResult(met: false, message: "PAGEMAP_SCAN failed"))
                return .done(.ok)
            }
            let base = mappings[ref.name]?.address ?? 0
            for ex in expectations {
                guard let bit = PageCategory.names.first(where: { $0.0 == ex.category })?.1 else { continue }
                // Compared as ranges of page indices (a range of a large mapping is one entry).
                let pages = mergedRanges(regions.filter { $0.categories & bit != 0 }.map {
                    Int(($0.start - base) / pageSize)...Int(($0.end - base) / pageSize) - 1
                })
                let want = mergedRanges(ex.ranges)
                if pages != want {
                    task.entry.expectations.append(ExpectationResult(met: false, message:
                        "\(ex.category): expected \(rangesText(want)), found \(rangesText(pages))"))
                    return .done(.ok)
                }
            }
            task.entry.expectations.append(ExpectationResult(met: true, message: "ok"))
            return .done(.ok)
        default:
            return .done(OpOutcome(r.errno))
        }
    }

    /// One page of a page loop done: record what a load read, compare it with what an
    /// `expect read` wants, go on with the next page (nil) or end the statement.
    mutating func absorbPage(_ r: CallResult, _ task: inout Task, _ loop: PageLoop) -> TaskStep? {
        let i = task.nextIndex, page = loop.first + i
        let expect = loop.expect?.token(at: i)
        switch r {
        case .value(let t):
            if loop.store == nil { task.tokens.append((page, t)) }
            if let want = expect, t != want {
                task.entry.expectations.append(ExpectationResult(met: false, message:
                    "\(loop.name)[\(page)]: expected \(hex(want)), found \(hex(t))"))
                return .done(.ok)
            }
            task.nextIndex += 1
            if task.nextIndex < loop.count { return nil }
            if expect != nil { task.entry.expectations.append(ExpectationResult(met: true, message: "ok")) }
            return .done(.ok)
        case .signal(let sig):
            if let want = expect {
                task.entry.expectations.append(ExpectationResult(met: false, message:
                    "\(loop.name)[\(page)]: expected \(hex(want)), found \(sig)"))
                return .done(.ok)
            }
            return .done(signalOutcome(sig, page: "\(loop.name)[\(page)]"))
        default:
            return .done(OpOutcome(r.errno))
        }
    }

    /// Records that a statement went to sleep (a line of the trace).
    mutating func noteBlocked(_ task: inout Task, _ why: String) {
        if !task.resumed {
            var e = task.entry
            e.note = "blocked: \(why)"
            e.observations = Observation.tokens(task.tokensRef, task.tokens)
            appendEntry(e)
            task.tokens = []
        }
        task.resumed = true
        task.entry.note = "resumed"
    }

    // MARK: userfaultfd, events, PAGEMAP_SCAN

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

/// Page-index ranges sorted and merged where they overlap or touch: the set of pages they
/// cover, one entry per run.
func mergedRanges(_ ranges: [ClosedRange<Int>]) -> [ClosedRange<Int>] {
    var out: [ClosedRange<Int>] = []
    for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
        if let last = out.last, r.lowerBound <= last.upperBound + 1 {
            out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
        } else {
            out.append(r)
        }
    }
    return out
}

/// `0..3,8` for merged page-index ranges; `none` when empty.
func rangesText(_ ranges: [ClosedRange<Int>]) -> String {
    guard !ranges.isEmpty else { return "none" }
    return ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)..\($0.upperBound)" }.joined(separator: ",")
}

/// `0..3,8` for a sorted list of page indices (runs of consecutive ones joined); `none`
/// when empty. The form of PAGEMAP_SCAN categories in `expect pagemap_scan` and of page
/// lists in notes (the generator's, the import's).
public func pageIndicesText(_ pages: [Int]) -> String {
    var runs: [ClosedRange<Int>] = []
    for p in pages {
        if let last = runs.last, p == last.upperBound + 1 { runs[runs.count - 1] = last.lowerBound...p } else { runs.append(p...p) }
    }
    return rangesText(runs)
}
