// SPDX-License-Identifier: Apache-2.0
//
// Threads stepped one kernel step at a time, for `explore` and `replay` (MMExplore). A
// statement's call is the model's SyscallTask, stepped with Kernel.step(): an access is an
// MMU attempt or one handle_mm_fault(), and every other call steps at the lock boundaries its
// mechanism declares (Syscall/ in the model); statements that are not one call run whole in
// one step that conflicts with everything. What a step reads and writes and which sleeping
// locks a task holds come from the model, so this file knows nothing of a call's insides:
// it maps statements to calls and threads to tasks.

import MMLab
import MMSyntax

/// One step a thread took, for traces.
public struct StepRecord: Hashable, Sendable {
    public var thread: String
    public var statement: String
    public var line: Int
    /// What the step did, in kernel function names.
    public var action: String
}

/// What one complete execution ended with.
public struct ExecutionOutcome: Sendable {
    /// check name → the first problem found ("" when it holds).
    public var failures: [String: String] = [:]
    public var sleepingThreads: [String] = []
}

/// A page of a named mapping in a live process, as traces name it (`A[3]`, `child:A[3]`).
public struct NamedPage: Sendable {
    public var label: String
    /// The mapping's name and the page's index in it (for grouping runs of pages).
    public var mapping: String
    public var index: Int
    public var process: ProcessHandle
    public var address: UInt64
}

/// A named mapping as one process sees it (for traces and state fingerprints).
public struct NamedMapping: Sendable {
    public var processName: String
    public var process: ProcessHandle
    public var mapping: String
    public var address: UInt64
    public var pages: Int
}

extension ScenarioRunner where Backend == ModelBackend {
    /// Runs the main flow up to the first top-level `thread`, then registers every top-level
    /// thread (of main, or of a child in an `in P { thread … }` block) without running it;
    /// returns the statements that run once the threads are done.
    public mutating func prepareThreads() -> [Statement] {
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
            // `in P { thread T { … } … }`: threads of another process (a forked child).
            if case .inProcess(let pname, let body) = s.kind, body.contains(where: { $0.isThread }) {
                if let other = body.first(where: { !$0.isThread }) {
                    fatal = Diagnostic(other.location, "expected only threads in a process block that explore interleaves, "
                        + "found '\(other.text)' (put it in a block of its own before the threads)")
                    break
                }
                guard processes[pname] != nil else {
                    fatal = Diagnostic(s.location, "expected a live process, found '\(pname)', which was never forked (its fork failed)")
                    break
                }
                sawThread = true
                for t in body {
                    guard case .thread(let name, let tb) = t.kind else { continue }
                    threads.append(ThreadState(name: name, processName: pname, statements: tb, depth: 2))
                }
                continue
            }
            if sawThread { post.append(s) } else { runStatement(s, depth: 0) }
        }
        return post
    }

    /// The threads' names, by index.
    public var threadNames: [String] { threads.map(\.name) }

    /// Threads that can take a step now, by index: not finished, not asleep, and not about
    /// to take a lock for write that another thread's task holds.
    public func enabledThreads() -> [Int] {
        let held = threads.indices.map { heldLocks($0) }
        let anyHeld = held.contains { !$0.isEmpty }
        return threads.indices.filter { i in
            guard !threads[i].finished && isRunnable(i) else { return false }
            guard anyHeld, threads[i].task == nil else { return true }
            let wants = writeLocks(i)
            return !threads.indices.contains { j in j != i && held[j].contains { wants.contains($0) } }
        }
    }

    /// The sleeping locks thread `i` holds between two steps of its statement (the model's
    /// answer for its task in progress).
    func heldLocks(_ i: Int) -> [KernelLock] {
        guard let kt = threads[i].task?.pending else { return [] }
        return backend.kernel.heldLocks(of: kt)
    }

    /// The sleeping locks the next statement of thread `i` takes for write (nothing for a
    /// statement in progress).
    func writeLocks(_ i: Int) -> [KernelLock] {
        guard threads[i].task == nil, let s = currentStatement(i),
              case .call(let c) = statementCall(s, process: threadProcess(i)) else { return [] }
        return backend.kernel.locksTaken(by: SyscallTask(c))
    }

    /// Why thread `i` cannot take a step now, in words (for replay errors).
    public func whyNotEnabled(_ i: Int) -> String {
        let t = threads[i]
        if t.finished { return "\(t.name) has finished" }
        if !isRunnable(i) { return "\(t.name) sleeps (\(t.blockedOn))" }
        let wants = writeLocks(i)
        for j in threads.indices where j != i {
            if let l = heldLocks(j).first(where: { wants.contains($0) }) {
                return "\(t.name) takes \(l) for write, which \(threads[j].name) holds for read"
            }
        }
        return "\(t.name) cannot run"
    }

    /// The process thread `i` runs in.
    func threadProcess(_ i: Int) -> ProcessHandle { processes[threads[i].processName] ?? backend.mainProcess }

    /// The statement thread `i` is in, or would start next.
    func currentStatement(_ i: Int) -> Statement? {
        threads[i].task?.statement ?? (threads[i].pc < threads[i].statements.count ? threads[i].statements[threads[i].pc] : nil)
    }

    /// The task thread `i`'s next step runs: its call in progress, or the one its statement
    /// starts (nil: the statement runs whole, or its names do not resolve).
    func nextTask(_ i: Int) -> SyscallTask? {
        if let kt = threads[i].task?.pending { return kt }
        guard let s = currentStatement(i),
              case .call(let c) = statementCall(s, process: threadProcess(i), index: threads[i].task?.nextIndex ?? 0) else { return nil }
        return SyscallTask(c)
    }

    /// What the next step of thread `i` reads and writes.
    public func nextFootprint(_ i: Int) -> Footprint {
        guard currentStatement(i) != nil else { return Footprint() }
        guard let kt = nextTask(i) else { return Footprint(writes: [.global]) }
        return backend.kernel.footprint(of: kt)
    }

    /// Thread `i` takes one step.
    public mutating func stepThread(_ i: Int) -> StepRecord {
        let savedStack = current, savedThread = currentThread
        current = [threads[i].processName]
        currentThread = threads[i].name
        defer {
            current = savedStack
            currentThread = savedThread
        }
        guard var task = takeTask(i) else { preconditionFailure("a thread without a statement was scheduled") }
        threads[i].asleep = false
        var action = ""
        var result: TaskStep? = nil
        var kt: SyscallTask? = task.pending
        if kt == nil {
            switch statementCall(task.statement, process: task.process, index: task.nextIndex) {
            case .call(let c):
                willStart(task.statement)
                kt = SyscallTask(c)
            case .whole, .outcome, .unresolved:
                action = "whole statement"
                result = advance(&task)
            }
        }
        if var kt {
            let name = backend.kernel.stepName(of: kt)
            let step = backend.kernel.step(&kt)
            if case .access(_, _, let store) = kt.call {
                action = accessAction(task, store: store, step)
            } else {
                action = name ?? "whole statement"
            }
            switch step {
            case .running:
                task.pending = kt
            case .blocked(_, let why):
                task.pending = kt
                result = .blocked(blockedText(task, why))
            case .finished(let r):
                task.pending = nil
                result = absorb(r, &task)
            }
        }
        switch result {
        case .done(let outcome)?:
            complete(&task, outcome)
            threads[i].task = nil
        case .blocked(let why)?:
            threads[i].task = task
            threads[i].asleep = true
            threads[i].blockedOn = why
            action += " → sleeps (\(why))"
        case nil:
            threads[i].task = task
        }
        return StepRecord(thread: threads[i].name, statement: task.statement.text,
                          line: task.statement.location.line, action: action)
    }

    /// What one step of an access did, in words: `load A[3] faults`, `store 0x5 to A[3] lands`.
    func accessAction(_ task: Task, store: UInt64?, _ step: StepResult) -> String {
        var ref = "?"
        switch task.statement.kind {
        case .read(let r), .write(let r, _), .expectRead(let r, _):
            let page = span(r).map { $0.pages.lowerBound + min(task.nextIndex, $0.pages.count - 1) } ?? 0
            ref = "\(r.name)[\(page)]"
        default: break
        }
        let verb = store == nil ? "load" : "store"
        switch step {
        case .running, .blocked: return "\(verb) \(ref) faults"
        case .finished(.value(let t)):
            return store == nil ? "load \(ref) reads \(hex(t))" : "store \(hex(store!)) to \(ref) lands"
        case .finished(.signal(let sig)): return "\(verb) \(ref): \(sig)"
        case .finished: return "\(verb) \(ref)"
        }
    }

    /// Every named mapping in every live process, in the order traces print them (processes
    /// by name, mappings by name).
    public var namedMappings: [NamedMapping] {
        var out: [NamedMapping] = []
        for (pname, p) in processes.sorted(by: { $0.key < $1.key }) where backend.kernel.mms[Int(p)].alive {
            for (name, m) in mappings.sorted(by: { $0.key < $1.key }) {
                out.append(NamedMapping(processName: pname, process: p, mapping: name, address: m.address, pages: m.pages))
            }
        }
        return out
    }

    /// The pages of every named mapping in every live process, in the order traces print
    /// them (processes by name, mappings by name, pages in order).
    /// The pages of mapping `m` whose state is not the default one: a PTE that is not none,
    /// or an entry in the page cache behind a file VMA (memfd, shared anon); every other page
    /// maps nothing and reads 0. Found by walking the page tables and page caches that exist,
    /// never every page of the mapping; in page order.
    public func touchedPages(of m: NamedMapping) -> [Int] {
        let k = backend.kernel
        var pages: [Int] = []
        let start = m.address, end = m.address + UInt64(m.pages) * pageSize
        var a = start
        while let t = k.mms[Int(m.process)].pageTables.nextTable(a, end) {
            a = t
            let tableEnd = min(end, (a | (pmdSize - 1)) + 1)
            while a < tableEnd {
                if !k.mms[Int(m.process)].pageTables.pte(a).isNone { pages.append(Int((a - start) / pageSize)) }
                a += pageSize
            }
        }
        for vma in k.mms[Int(m.process)].vmas where vma.end > start && vma.start < end {
            guard let ino = vma.inode else { continue }
            let lo = max(start, vma.start), hi = min(end, vma.end)
            var i = vma.pgoff(of: lo)
            let last = vma.pgoff(of: hi - pageSize) + 1
            while let j = k.inodes[Int(ino)].pages.next(from: i, below: last) {
                pages.append(Int((lo - start) / pageSize + (j - vma.pgoff(of: lo))))
                i = j + 1
            }
        }
        return Set(pages).sorted()
    }

    /// `touchedPages(of:)` of every named mapping, as named pages in the order of `namedPages`.
    public var touchedPages: [NamedPage] {
        var out: [NamedPage] = []
        for m in namedMappings {
            let prefix = (m.processName == "main" ? "" : m.processName + ":") + m.mapping
            for page in touchedPages(of: m) {
                out.append(NamedPage(label: "\(prefix)[\(page)]", mapping: m.mapping, index: page, process: m.process,
                                     address: m.address + UInt64(page) * pageSize))
            }
        }
        return out
    }

    public var namedPages: [NamedPage] {
        var out: [NamedPage] = []
        for m in namedMappings {
            let prefix = (m.processName == "main" ? "" : m.processName + ":") + m.mapping
            for page in 0..<m.pages {
                out.append(NamedPage(label: "\(prefix)[\(page)]", mapping: m.mapping, index: page, process: m.process,
                                     address: m.address + UInt64(page) * pageSize))
            }
        }
        return out
    }

    /// The threads' program counters, for telling states apart.
    public var threadPositions: [(pc: Int, finished: Bool)] { threads.map { ($0.pc, $0.finished) } }

    /// The expectations that failed so far ("file:line:col: message"), in the order their
    /// statements ran: what explore's verdict on expectations reads.
    public var failedExpectationMessages: [String] {
        report.entries.flatMap { e in e.expectations.filter { !$0.met }.map { "\(e.statement.location): \($0.message)" } }
    }

    /// Runs the statements after the threads and evaluates every check on the final state.
    public mutating func finishExecution(post: [Statement], checks: [String]) -> ExecutionOutcome {
        for s in post where fatal == nil { runStatement(s, depth: 0) }
        var out = ExecutionOutcome()
        out.sleepingThreads = blockedThreads
        let failedExpectations = failedExpectationMessages
        out.failures["expectations"] = failedExpectations.first ?? (fatal.map { $0.description } ?? "")
        for c in checks {
            switch c {
            case "no_silent_write", "no_lost_write": out.failures[c] = backend.checkProblem(c).map(namePages) ?? ""
            case "consistent": out.failures[c] = backend.checkProblem(c) ?? ""
            default: break
            }
        }
        return out
    }
}

extension Statement {
    var isThread: Bool { if case .thread = kind { return true } else { return false } }
}

extension ScenarioRunner {
    /// Replaces the addresses in a message by the scenario's page names (0x7f0000009000 → A[9]).
    public func namePages(_ message: String) -> String {
        message.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
            guard word.hasPrefix("0x"), let a = UInt64(word.dropFirst(2), radix: 16) else { return String(word) }
            let name = pageName(a)
            return name.hasPrefix("0x") ? String(word) : name
        }.joined(separator: " ")
    }
}
