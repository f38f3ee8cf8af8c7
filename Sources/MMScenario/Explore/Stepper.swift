// SPDX-License-Identifier: Apache-2.0
//
// Threads stepped one kernel step at a time, for `explore` and `replay`: an access is an MMU
// attempt or one handle_mm_fault(); a hole punch is unmap_mapping_range() then
// shmem_truncate_range(); every other statement is one step that conflicts with everything.

import MMLab
import MMSyntax

/// One step a thread took, for traces.
public struct StepRecord: Hashable, Sendable {
    public var thread: String
    public var statement: String
    public var line: Int
    /// What the step did, in kernel function names.
    public var action: String
    /// PTEs that changed: "A[9]: 0x0 → 0x8000…".
    public var pteChanges: [String]
}

/// What one complete execution ended with.
public struct ExecutionOutcome: Sendable {
    /// check name → the first problem found ("" when it holds).
    public var failures: [String: String] = [:]
    public var fingerprint: Int = 0
    public var sleepingThreads: [String] = []
}

extension ScenarioRunner where Backend == ModelBackend {
    /// Runs the main flow up to the first top-level `thread`, then registers every top-level
    /// thread without running it; returns the statements that run once the threads are done.
    mutating func exploreSetUp() -> [Statement] {
        backend.kernel.enableWriteChecks()
        var post: [Statement] = []
        var sawThread = false
        for s in scenario.statements {
            if fatal != nil { break }
            if case .thread(let name, let body) = s.kind {
                sawThread = true
                threads.append(ThreadState(name: name, processName: "main", statements: body, depth: 1))
                continue
            }
            if sawThread { post.append(s) } else { runStatement(s, depth: 0) }
        }
        return post
    }

    /// Threads that can take a step now, by index.
    func enabledThreads() -> [Int] {
        threads.indices.filter { i in
            !threads[i].finished && (threads[i].waiting.map { backend.isWoken($0) } ?? true)
        }
    }

    /// The statement thread `i` is in, or would start next.
    func currentStatement(_ i: Int) -> Statement? {
        threads[i].task?.statement ?? (threads[i].pc < threads[i].statements.count ? threads[i].statements[threads[i].pc] : nil)
    }

    /// What the next step of thread `i` reads and writes.
    func nextFootprint(_ i: Int) -> Footprint {
        guard let s = currentStatement(i) else { return Footprint() }
        let p = processes[threads[i].processName] ?? backend.mainProcess
        switch s.kind {
        case .read(let ref), .write(let ref, _), .expectRead(let ref, _):
            guard let sp = span(ref) else { return Footprint(writes: [.global]) }
            let idx = min(threads[i].task?.nextIndex ?? 0, sp.pages.count - 1)
            let page = Array(sp.pages)[idx]
            var store: UInt64? = nil
            if case .write(_, let v) = s.kind { store = v.token(at: idx) }
            return backend.kernel.footprint(of: .access(mm: p, address: pageAddress(ref.name, page), store: store))
        case .punch:
            if let kt = threads[i].kernelTask { return backend.kernel.footprint(of: kt) }
            if let kt = punchTask(s) { return backend.kernel.footprint(of: kt) }
            return Footprint(writes: [.global])
        default:
            return Footprint(writes: [.global])
        }
    }

    func punchTask(_ s: Statement) -> KernelTask? {
        guard case .punch(let ref) = s.kind, let f = files[ref.name] else { return nil }
        let first = UInt64(ref.first ?? 0), last = UInt64(ref.last ?? max(f.pages - 1, 0))
        return .punchHole(inode: f.handle, first: first, last: last, phase: 0)
    }

    /// The PTEs of every named mapping in every live process, for trace diffs.
    func pteSnapshot() -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for (pname, p) in processes.sorted(by: { $0.key < $1.key }) where backend.kernel.mms[Int(p)].alive {
            for (name, m) in mappings.sorted(by: { $0.key < $1.key }) {
                for page in 0..<m.pages {
                    let pte = backend.kernel.mms[Int(p)].pageTables.pte(m.address + UInt64(page) * pageSize)
                    if !pte.isNone { out[(pname == "main" ? "" : pname + ":") + "\(name)[\(page)]"] = pte.raw }
                }
            }
        }
        return out
    }

    /// Thread `i` takes one step.
    mutating func stepThread(_ i: Int, tracing: Bool) -> StepRecord {
        let savedStack = current, savedThread = currentThread
        current = [threads[i].processName]
        currentThread = threads[i].name
        defer {
            current = savedStack
            currentThread = savedThread
        }
        let before = tracing ? pteSnapshot() : [:]
        if tracing { backend.kernel.trace = [] }
        guard var task = takeTask(i) else { preconditionFailure("a thread without a statement was scheduled") }
        threads[i].waiting = nil
        var action = ""
        var result: TaskStep? = nil
        switch task.statement.kind {
        case .read(let ref), .write(let ref, _), .expectRead(let ref, _):
            result = accessOneStep(&task, ref, &action)
        case .punch:
            var kt = threads[i].kernelTask ?? punchTask(task.statement)!
            action = backend.kernel.stepName(of: kt)
            switch backend.kernel.step(&kt) {
            case .finished, .finishedAccess: result = .done(.ok); threads[i].kernelTask = nil
            case .running: threads[i].kernelTask = kt
            }
        default:
            action = "whole statement"
            result = advance(&task)
        }
        switch result {
        case .done(let outcome)?:
            complete(&task, outcome)
            threads[i].task = nil
        case .blocked(let w, let why)?:
            threads[i].task = task
            threads[i].waiting = w
            threads[i].blockedOn = why
            action += " → sleeps (\(why))"
        case nil:
            threads[i].task = task
        }
        var record = StepRecord(thread: threads[i].name, statement: task.statement.text,
                                line: task.statement.location.line, action: action, pteChanges: [])
        if tracing {
            if let notes = backend.kernel.trace, !notes.isEmpty {
                var collapsed: [(String, Int)] = []
                for n in notes {
                    if let last = collapsed.last, last.0 == n { collapsed[collapsed.count - 1].1 += 1 } else { collapsed.append((n, 1)) }
                }
                record.action += ": " + collapsed.map { $0.1 > 1 ? "\($0.0) ×\($0.1)" : $0.0 }.joined(separator: "; ")
            }
            backend.kernel.trace = nil
            let after = pteSnapshot()
            func order(_ k: String) -> (String, Int) {
                guard let open = k.lastIndex(of: "["), let n = Int(k[k.index(after: open)...].dropLast()) else { return (k, 0) }
                return (String(k[..<open]), n)
            }
            for key in Set(before.keys).union(after.keys).sorted(by: { order($0) < order($1) }) where before[key] != after[key] {
                record.pteChanges.append("\(key): \(hex(before[key] ?? 0)) → \(hex(after[key] ?? 0))")
            }
        }
        return record
    }

    /// One MMU attempt or one fault of an access statement; nil while it goes on.
    mutating func accessOneStep(_ task: inout StatementTask, _ ref: PageRef, _ action: inout String) -> TaskStep? {
        guard let sp = mappingSpan(ref) else { return .done(.ok) }
        task.tokensRef = ref.name
        let pages = Array(sp.pages)
        guard task.nextIndex < pages.count else { return .done(.ok) }
        let i = task.nextIndex, page = pages[i]
        var store: UInt64? = nil
        var expect: UInt64? = nil
        switch task.statement.kind {
        case .write(_, let v): store = v.token(at: i)
        case .expectRead(_, let v): expect = v.token(at: i)
        default: break
        }
        let verb = store == nil ? "load" : "store"
        switch backend.kernel.accessStep(task.process, pageAddress(ref.name, page), store: store) {
        case .faulted:
            action = "\(verb) \(ref.name)[\(page)] faults"
            return nil
        case .completed(let r):
            switch r {
            case .ok(let t):
                action = store == nil ? "load \(ref.name)[\(page)] reads \(hex(t))" : "store \(hex(store!)) to \(ref.name)[\(page)] lands"
                if store == nil { task.tokens.append((page, t)) }
                if let want = expect, t != want {
                    task.entry.expectations.append(ExpectationResult(met: false, message: "\(ref.name)[\(page)]: expected \(hex(want)), found \(hex(t))"))
                    return .done(.ok)
                }
                task.nextIndex += 1
                if task.nextIndex == pages.count {
                    if expect != nil { task.entry.expectations.append(ExpectationResult(met: true, message: "ok")) }
                    return .done(.ok)
                }
                return nil
            case .signal(let sig):
                action = "\(verb) \(ref.name)[\(page)]: \(sig)"
                return .done(signalOutcome(sig, page: "\(ref.name)[\(page)]"))
            case .blocked(let w):
                action = "\(verb) \(ref.name)[\(page)] faults"
                return .blocked(w, "userfault at \(ref.name)[\(page)]")
            case .modelError(let m):
                fatal = Diagnostic(task.statement.location, "internal model error: \(m)")
                return .done(.ok)
            }
        }
    }

    /// Runs the statements after the threads and evaluates every check on the final state.
    mutating func finishExecution(post: [Statement], checks: [String]) -> ExecutionOutcome {
        for s in post where fatal == nil { runStatement(s, depth: 0) }
        var out = ExecutionOutcome()
        out.sleepingThreads = blockedThreads
        let failedExpectations = report.entries.flatMap { e in e.expectations.filter { !$0.met }.map { "\(e.statement.location): \($0.message)" } }
        out.failures["expectations"] = failedExpectations.first ?? (fatal.map { $0.description } ?? "")
        for c in checks {
            switch c {
            case "no_silent_write": out.failures[c] = (backend.kernel.silentWrites.first).map(namePages) ?? ""
            case "no_lost_write": out.failures[c] = (backend.kernel.lostWrites().first).map(namePages) ?? ""
            case "consistent":
                out.failures[c] = backend.kernel.invariantViolations.first ?? backend.kernel.verifyInvariants().first ?? ""
            default: break
            }
        }
        var h = Hasher()
        for (k, v) in pteSnapshot().sorted(by: { $0.key < $1.key }) { h.combine(k); h.combine(v & ~PTE.pfnMask) }
        for (pname, p) in processes.sorted(by: { $0.key < $1.key }) where backend.kernel.mms[Int(p)].alive {
            for (name, m) in mappings.sorted(by: { $0.key < $1.key }) {
                for page in 0..<m.pages {
                    h.combine(pname); h.combine(name)
                    h.combine(backend.kernel.peekToken(p, m.address + UInt64(page) * pageSize))
                }
            }
        }
        for t in threads { h.combine(t.pc); h.combine(t.finished) }
        out.fingerprint = h.finalize()
        return out
    }
}

extension ScenarioRunner {
    /// Replaces the addresses in a message by the scenario's page names (0x7f0000009000 → A[9]).
    func namePages(_ message: String) -> String {
        message.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            guard word.hasPrefix("0x"), let a = UInt64(word.dropFirst(2), radix: 16) else { return String(word) }
            let name = pageName(a)
            return name.hasPrefix("0x") ? String(word) : name
        }.joined(separator: " ")
    }
}
