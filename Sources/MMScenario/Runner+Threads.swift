// SPDX-License-Identifier: Apache-2.0
//
// Threads under the default schedule of `mmlab run`: a new thread runs at once until it
// finishes or sleeps; a thread woken by a statement of another runs right after that
// statement; `join` waits for a thread that can still make progress.

import MMLab
import MMSyntax

/// One `thread NAME { … }` of a scenario.
struct ThreadState<Pending> {
    let name: String
    let processName: String
    let statements: [Statement]
    let depth: Int
    var pc = 0
    /// The statement in progress (asleep, or between two steps), if any; its call in
    /// progress is the task's `pending`.
    var task: StatementTask<Pending>?
    /// Whether the statement sleeps (until the backend says its call was woken).
    var asleep = false
    var blockedOn = ""

    var finished: Bool { pc >= statements.count && task == nil }
}

extension ScenarioRunner {
    /// Thread `i`'s statement in progress, or its next statement started (nil when it has
    /// none left).
    mutating func takeTask(_ i: Int) -> Task? {
        if let t = threads[i].task { return t }
        guard threads[i].pc < threads[i].statements.count else { return nil }
        let s = threads[i].statements[threads[i].pc]
        threads[i].pc += 1
        var entry = StatementReport(statement: s, process: threads[i].processName, depth: threads[i].depth)
        entry.thread = threads[i].name
        return Task(statement: s, entry: entry, process: processes[threads[i].processName] ?? backend.mainProcess)
    }

    /// `thread NAME { … }`: create the thread in the current process and run it at once.
    mutating func startThread(_ name: String, body: [Statement], depth: Int) {
        threads.append(ThreadState(name: name, processName: processName, statements: body, depth: depth + 1))
        runThreads()
    }

    /// Runs every thread that can run (new or woken), in creation order, until none can.
    mutating func runThreads() {
        var progressed = true
        while progressed && fatal == nil {
            progressed = false
            for i in threads.indices {
                if fatal != nil { return }
                if threads[i].finished { continue }
                if !isRunnable(i) { continue }
                if runThread(i) { progressed = true }
            }
        }
    }

    /// Runs thread `i` until it finishes or sleeps; returns whether it made progress.
    mutating func runThread(_ i: Int) -> Bool {
        let savedProcessStack = current
        let savedThread = currentThread
        current = [threads[i].processName]
        currentThread = threads[i].name
        defer {
            current = savedProcessStack
            currentThread = savedThread
        }
        var progressed = false
        while fatal == nil {
            guard var task = takeTask(i) else { break }
            threads[i].asleep = false
            switch advance(&task) {
            case .done(let outcome):
                complete(&task, outcome)
                threads[i].task = nil
                progressed = true
            case .blocked(let why):
                noteBlocked(&task, why)
                threads[i].task = task
                threads[i].asleep = true
                threads[i].blockedOn = why
                return progressed
            }
        }
        return progressed
    }

    /// Whether thread `i` is not asleep, or its call was woken.
    func isRunnable(_ i: Int) -> Bool {
        guard threads[i].asleep else { return true }
        return threads[i].task?.pending.map { backend.isWoken($0) } ?? true
    }

    /// `join NAME`: let threads run; the thread must have finished.
    mutating func join(_ name: String, _ entry: StatementReport) {
        var e = entry
        runThreads()
        if let t = threads.first(where: { $0.name == name }), !t.finished {
            let line = t.task?.statement.location.line ?? 0
            e.expectations.append(ExpectationResult(met: false, message:
                "thread \(name) cannot finish: it sleeps at line \(line) (\(t.blockedOn)) and nothing left can wake it"))
        }
        appendEntry(e)
    }

    /// Threads still asleep when the scenario ends (reported, not an error).
    var blockedThreads: [String] {
        threads.filter { !$0.finished }.map { t in
            "thread \(t.name) still sleeps at line \(t.task?.statement.location.line ?? 0): \(t.blockedOn)"
        }
    }
}
