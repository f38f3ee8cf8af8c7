// SPDX-License-Identifier: Apache-2.0
//
// Threads stepped one kernel step at a time, for `explore` and `replay`: an access is an MMU
// attempt or one handle_mm_fault(); a hole punch is unmap_mapping_range() one mapping's
// piece within one PTE table per step, then shmem_truncate_range(); UFFDIO_WRITEPROTECT,
// MADV_DONTNEED and PAGEMAP_SCAN are one VMA piece per PTE table; UFFDIO_COPY, ZEROPAGE,
// CONTINUE and POISON one page per step; every other statement is one step that conflicts
// with everything. A task between its steps holds its sleeping locks (mmap_lock,
// i_mmap_rwsem) for read, so a statement that takes one of them for write (mmap, munmap,
// mprotect, fork…) waits until the task ends.

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
    /// thread (of main, or of a child in an `in P { thread … }` block) without running it;
    /// returns the statements that run once the threads are done.
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

    /// Threads that can take a step now, by index: not finished, not asleep, and not about
    /// to take a lock for write that another thread's task holds.
    func enabledThreads() -> [Int] {
        let held = threads.indices.map { heldLocks($0) }
        let anyHeld = held.contains { !$0.isEmpty }
        return threads.indices.filter { i in
            guard !threads[i].finished && (threads[i].waiting.map { backend.isWoken($0) } ?? true) else { return false }
            guard anyHeld, threads[i].task == nil else { return true }
            let wants = writeLocks(i)
            return !threads.indices.contains { j in j != i && held[j].contains { wants.contains($0) } }
        }
    }

    /// The locks thread `i` holds between two steps of its statement: those of its kernel
    /// task, or mmap_lock (read) of a stepwise MADV_DONTNEED between two PTE tables. A thread
    /// asleep on a userfaultfd holds none (handle_userfault() and userfaultfd_remove() drop
    /// mmap_lock before sleeping).
    func heldLocks(_ i: Int) -> [KernelLock] {
        if let kt = threads[i].kernelTask { return backend.kernel.heldLocks(of: kt) }
        if threads[i].waiting == nil, let st = threads[i].task?.syscall, st.stepwise,
           case .madvise(let mm, _, _, .dontneed) = st.call {
            return [.mmapLock(mm)]
        }
        return []
    }

    /// Why thread `i` cannot take a step now, in words (for replay errors).
    func whyNotEnabled(_ i: Int) -> String {
        let t = threads[i]
        if t.finished { return "\(t.name) has finished" }
        if let w = t.waiting, !backend.isWoken(w) { return "\(t.name) sleeps (\(t.blockedOn))" }
        let wants = writeLocks(i)
        for j in threads.indices where j != i {
            if let l = heldLocks(j).first(where: { wants.contains($0) }) {
                return "\(t.name) takes \(l) for write, which \(threads[j].name) holds for read"
            }
        }
        return "\(t.name) cannot run"
    }

    /// The sleeping locks the next statement of thread `i` takes for write (nothing for a
    /// statement in progress): mmap_lock of its mm for the calls that change the VMA tree or
    /// VMA flags (mmap, munmap, mprotect, fork, exit, uffd register/unregister, prctl, the
    /// madvise advice madvise_need_mmap_write() names, clear_refs 4), and with it the
    /// i_mmap_rwsem of every file that mm maps (linking or unlinking a file VMA takes it for
    /// write), plus that of the file an mmap maps.
    func writeLocks(_ i: Int) -> [KernelLock] {
        guard let s = currentStatement(i) else { return [] }
        let p = processes[threads[i].processName] ?? backend.mainProcess
        var mm: ProcessHandle? = nil
        var extra: [KernelLock] = []
        switch s.kind {
        case .mmap(_, let backing, _, _, _, _, _):
            mm = p
            if case .object(let obj) = backing, let f = files[obj] { extra.append(.iMmapRwsem(f.handle)) }
        case .munmap, .mprotect, .fork, .exitProcess, .prctlMemoryMerge:
            mm = p
        case .uffdRegister(let u, _, _), .uffdUnregister(let u, _):
            if let h = uffds[u], Int(h) < backend.kernel.uffds.count { mm = backend.kernel.uffds[Int(h)].mm } else { mm = p }
        case .madvise(_, let advice):
            if ["mergeable", "unmergeable", "dontfork", "dofork", "wipeonfork", "keeponfork"].contains(advice) { mm = p }
        case .clearRefs(let v):
            if v == 4 { mm = p }
        default:
            break
        }
        guard let mm, Int(mm) < backend.kernel.mms.count else { return extra }
        var out: [KernelLock] = [.mmapLock(mm)] + extra
        for vma in backend.kernel.mms[Int(mm)].vmas {
            if let ino = vma.inode, !out.contains(.iMmapRwsem(ino)) { out.append(.iMmapRwsem(ino)) }
        }
        return out
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
        case .punch, .uffdWriteProtect, .uffdCopy, .uffdZeropage, .uffdContinue, .uffdPoison, .pagemapScan:
            if let kt = threads[i].kernelTask ?? steppedTask(s, process: p) { return backend.kernel.footprint(of: kt) }
            return Footprint(writes: [.global])
        case .madvise(let ref, "dontneed"):
            // One PTE table's zap under mmap_lock (read): its PTEs, and the anonymous folios it
            // unmaps; a step that first queues a REMOVE event conflicts with everything.
            guard let call = dontneedCall(ref, p) else { return Footprint(writes: [.global]) }
            guard let next = backend.kernel.madviseDontneedNextStep(call, threads[i].task?.syscall) else {
                return Footprint(reads: [.vmas(mm: p)])
            }
            if next.announces { return Footprint(writes: [.global]) }
            var f = Footprint(reads: [.vmas(mm: next.mm)], writes: [.anonMemory])
            var a = next.start
            while a < next.end { f.writes.append(.pte(mm: next.mm, page: a >> pageShift)); a += pageSize }
            return f
        default:
            return Footprint(writes: [.global])
        }
    }

    /// The madvise(MADV_DONTNEED) call of a statement.
    func dontneedCall(_ ref: PageRef, _ p: ProcessHandle) -> Syscall? {
        guard let sp = span(ref) else { return nil }
        return .madvise(mm: p, start: sp.address, length: UInt64(sp.pages.count) * pageSize, advice: .dontneed)
    }

    /// The kernel task a statement that runs in several steps starts with (nil: it runs as
    /// one step, or its names do not resolve; the whole-statement path then reports why).
    func steppedTask(_ s: Statement, process p: ProcessHandle) -> KernelTask? {
        switch s.kind {
        case .punch(let ref):
            guard let f = files[ref.name] else { return nil }
            let first = UInt64(ref.first ?? 0), last = UInt64(ref.last ?? max(f.pages - 1, 0))
            return .punchHole(inode: f.handle, first: first, last: last, phase: 0)
        case .uffdWriteProtect(let name, let ref, let protect, let dontwake):
            guard let u = uffds[name], let sp = span(ref) else { return nil }
            return .writeProtect(uffd: u, start: sp.address, end: sp.address + UInt64(sp.pages.count) * pageSize,
                                 protect: protect, dontwake: dontwake)
        case .uffdCopy(let name, let ref, let value, let wp, let dontwake):
            let mode: MfillMode
            switch value {
            case .literal(let v): mode = .copy(base: v, seq: false)
            case .seq(let v): mode = .copy(base: v, seq: true)
            }
            return mfillTask(name, ref, mode, wp: wp, dontwake: dontwake)
        case .uffdZeropage(let name, let ref, let dontwake):
            return mfillTask(name, ref, .zeropage, wp: false, dontwake: dontwake)
        case .uffdContinue(let name, let ref, let wp, let dontwake):
            return mfillTask(name, ref, .continue, wp: wp, dontwake: dontwake)
        case .uffdPoison(let name, let ref, let dontwake):
            return mfillTask(name, ref, .poison, wp: false, dontwake: dontwake)
        case .pagemapScan(let ref, let flags):
            guard let args = pagemapScanArgs(ref, flags) else { return nil }
            return .pagemapScan(mm: p, args: args, state: PagemapScanState())
        default:
            return nil
        }
    }

    func mfillTask(_ name: String, _ ref: PageRef, _ mode: MfillMode, wp: Bool, dontwake: Bool) -> KernelTask? {
        guard let u = uffds[name], let sp = span(ref) else { return nil }
        return .mfill(uffd: u, start: sp.address, end: sp.address + UInt64(sp.pages.count) * pageSize,
                      mode: mode, wp: wp, dontwake: dontwake)
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
        case .punch, .uffdWriteProtect, .uffdCopy, .uffdZeropage, .uffdContinue, .uffdPoison, .pagemapScan:
            guard var kt = threads[i].kernelTask ?? steppedTask(task.statement, process: task.process) else {
                action = "whole statement"
                result = advance(&task)
                break
            }
            action = backend.kernel.stepName(of: kt)
            switch backend.kernel.step(&kt) {
            case .finished, .finishedAccess: result = .done(.ok); threads[i].kernelTask = nil
            case .finishedCall(let e): result = .done(OpOutcome(e)); threads[i].kernelTask = nil
            case .finishedScan(let r):
                guard case .pagemapScan(let ref, _) = task.statement.kind else { break }
                var entry = task.entry
                result = .done(recordScan(ref, r, &entry))
                task.entry = entry
                threads[i].kernelTask = nil
            case .running: threads[i].kernelTask = kt
            }
        case .madvise(let ref, "dontneed"):
            guard let call = dontneedCall(ref, task.process) else {
                action = "whole statement"
                result = advance(&task)
                break
            }
            action = "madvise(MADV_DONTNEED)"
            let progress = task.syscall.map { backend.kernel.resume($0) } ?? backend.kernel.start(call, stepwise: true)
            switch progress {
            case .finished(let r):
                task.syscall = nil
                switch r {
                case .ok, .forked: result = .done(.ok)
                case .errno(let e): result = .done(.errno(e))
                }
            case .blocked(let w, let st):
                task.syscall = st
                result = .blocked(w, "waiting for a userfaultfd reader to read its event")
            case .preempted(let st):
                task.syscall = st
                result = nil
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
            // Runs of more than 8 neighbouring PTEs that changed the same way (the same bits
            // before and after, frames aside) print as one line, so a step over a whole table
            // stays readable; shorter runs are listed one by one.
            var run: (name: String, first: Int, last: Int, b: UInt64, a: UInt64, key: String)? = nil
            var pending: [String] = []
            func flush() {
                guard let r = run else { return }
                if r.last - r.first < 8 {
                    record.pteChanges += pending
                } else {
                    record.pteChanges.append("\(r.name)[\(r.first)..\(r.last)]: \(hex(r.b)) → \(hex(r.a)) "
                        + "(shown for \(r.key); \(r.last - r.first + 1) PTEs, the same bits each)")
                }
                run = nil
                pending = []
            }
            for key in Set(before.keys).union(after.keys).sorted(by: { order($0) < order($1) }) where before[key] != after[key] {
                let (name, n) = order(key)
                let b = before[key] ?? 0, a = after[key] ?? 0
                let line = "\(key): \(hex(b)) → \(hex(a))"
                if let r = run, r.name == name, r.last + 1 == n,
                   (r.b & ~PTE.pfnMask, r.a & ~PTE.pfnMask) == (b & ~PTE.pfnMask, a & ~PTE.pfnMask) {
                    run!.last = n
                    pending.append(line)
                    continue
                }
                flush()
                run = (name, n, n, b, a, key)
                pending = [line]
            }
            flush()
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

extension Statement {
    var isThread: Bool { if case .thread = kind { return true } else { return false } }
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
