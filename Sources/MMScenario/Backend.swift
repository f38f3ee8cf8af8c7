// SPDX-License-Identifier: Apache-2.0
//
// What a scenario runs on: the model (ModelBackend, here) or the running kernel (the live
// backend, a separate target). Both take the same SystemCall values (MMUAPI) and answer with
// CallResults; a call that sleeps in the kernel comes back as the backend's own pending call,
// which the runner resumes once it was woken. The runner normalises frames and swap slots
// into identities.

import MMLab

/// The operations a scenario performs, as system calls and memory accesses.
public protocol ScenarioBackend {
    /// A call in progress that sleeps in the kernel or stopped at a lock boundary: the model's
    /// SyscallTask, the live backend's job.
    associatedtype PendingCall

    /// A short name for reports ("model", "linux 6.18.x").
    var name: String { get }
    /// The initial process.
    var mainProcess: ProcessHandle { get }
    /// The PFN pagemap shows for the shared zero page, if known.
    var zeroPFN: UInt64? { get }

    /// Starts a call; it runs until it finishes or sleeps.
    mutating func start(_ call: SystemCall) -> CallProgress<PendingCall>
    /// A memory access: `start(.access(…))`, which a backend may run on a shorter path (the
    /// model runs the same access steps without wrapping them in a task unless the access
    /// sleeps).
    mutating func access(_ p: ProcessHandle, address: UInt64, store: UInt64?) -> CallProgress<PendingCall>
    /// The raw pagemap words of `count` pages from `address`, read as root in one range
    /// read that counts no costs (nil: the backend reads word by word, `.pagemapRead`). The
    /// reader then calls `accountPagemapWords` for the words it used.
    mutating func pagemapWords(_ p: ProcessHandle, address: UInt64, count: Int) -> [UInt64]?
    /// Counts the costs of `count` pagemap words from `address` read by `pagemapWords`, as the
    /// same words read one by one would.
    mutating func accountPagemapWords(_ p: ProcessHandle, address: UInt64, count: Int)
    /// Continues a call that slept, once it was woken.
    mutating func resume(_ call: PendingCall) -> CallProgress<PendingCall>
    /// Whether a sleeping call was woken.
    func isWoken(_ call: PendingCall) -> Bool

    /// The bytes of struct page the memory costs, per kind (for `--stats`).
    var metadataBytes: [(String, Int)] { get }
    /// The struct page bytes of one device-dax instance (`expect memmap`), when known.
    func memmapBytes(of object: ObjectHandle) -> Int?
    /// Whether a guest_memfd page is private (`expect guest_memfd`), when known (nil: not a
    /// guest_memfd, or a backend that does not report it).
    func gmemIsPrivate(_ object: ObjectHandle, page: UInt64) -> Bool?
    /// Ends every process and closes every file; returns what leaked or broke, if anything.
    mutating func finish() -> [String]
    /// Problems found so far by the backend's own checks (the model's invariants).
    var violations: [String] { get }
    /// Deterministic cost counters, when the backend has them.
    var costs: Costs? { get }
    /// Whether the backend evaluates the checks of `explore` (only the model can).
    var evaluatesChecks: Bool { get }
    /// The first problem an `explore` check (`no_silent_write`, `no_lost_write`,
    /// `consistent`) finds in this run; nil when it holds.
    func checkProblem(_ check: String) -> String?
    /// The pagemap words of `count` pages from `address` for a timeline (`--html`), outside
    /// the cost counters (Timeline.swift).
    mutating func samplePagemap(_ p: ProcessHandle, address: UInt64, count: Int) -> [UInt64]
    /// Whether the frame at `pfn` is a KSM page, when the backend can tell (false otherwise).
    func frameIsKSM(_ pfn: UInt64) -> Bool
}

extension ScenarioBackend {
    public mutating func access(_ p: ProcessHandle, address: UInt64, store: UInt64?) -> CallProgress<PendingCall> {
        start(.access(p, address: address, store: store))
    }
    public var metadataBytes: [(String, Int)] { [] }
    public mutating func pagemapWords(_ p: ProcessHandle, address: UInt64, count: Int) -> [UInt64]? { nil }
    public mutating func accountPagemapWords(_ p: ProcessHandle, address: UInt64, count: Int) {}
    public func memmapBytes(of object: ObjectHandle) -> Int? { nil }
    public func gmemIsPrivate(_ object: ObjectHandle, page: UInt64) -> Bool? { nil }
    public var evaluatesChecks: Bool { false }
    public func checkProblem(_ check: String) -> String? { nil }
    public func frameIsKSM(_ pfn: UInt64) -> Bool { false }
}

/// The model as a backend.
public struct ModelBackend: ScenarioBackend {
    public typealias PendingCall = SyscallTask

    public var kernel: Kernel
    public let mainProcess: ProcessHandle
    /// Files created, closed at the end.
    var files: [ObjectHandle] = []

    public init(design: Design = Design(), config: KernelConfig = KernelConfig(), internalChecks: Bool = false) {
        kernel = Kernel(design: design, config: config)
        kernel.internalChecks = internalChecks
        mainProcess = kernel.createProcess(name: "main")
    }

    public var name: String { "model" }
    public var zeroPFN: UInt64? { UInt64(FrameTable.zeroPFN) }
    public var violations: [String] { kernel.invariantViolations }
    public var costs: Costs? { kernel.costs }
    public var metadataBytes: [(String, Int)] { kernel.metadataBytes }
    public func memmapBytes(of object: ObjectHandle) -> Int? { kernel.memmapBytes(InodeID(object)) }
    public func gmemIsPrivate(_ object: ObjectHandle, page: UInt64) -> Bool? {
        let ino = InodeID(object)
        guard object >= 0, kernel.isGuestMemfd(ino), page < kernel.inodes[Int(ino)].sizeInPages else { return nil }
        return kernel.kvmGmemIsPrivate(ino, page)
    }

    public mutating func start(_ call: SystemCall) -> CallProgress<SyscallTask> {
        resume(SyscallTask(call))
    }

    /// Kernel.runAccess(): the access steps to their end, or a task asleep in handle_userfault().
    public mutating func access(_ p: ProcessHandle, address: UInt64, store: UInt64?) -> CallProgress<SyscallTask> {
        switch kernel.runAccess(p, address, store: store) {
        case .finished(let r): return .finished(r)
        case .blocked(let w, let why): return .blocked(SyscallTask(sleepingAccess: .access(p, address: address, store: store), on: w), why)
        case .running: return .finished(.backendError("an access did not finish"))
        }
    }

    /// Kernel.pagemapRead(_:start:count:) for a process that is alive (an exited one's reads
    /// go word by word, each failing with ESRCH).
    public mutating func pagemapWords(_ p: ProcessHandle, address: UInt64, count: Int) -> [UInt64]? {
        guard p >= 0, Int(p) < kernel.mms.count, kernel.mms[Int(p)].alive else { return nil }
        return kernel.pagemapRead(p, start: address, count: count)
    }

    public mutating func accountPagemapWords(_ p: ProcessHandle, address: UInt64, count: Int) {
        kernel.countPagemapReads(p, start: address, count: count)
    }

    /// Runs the task on (Kernel.run): to its end, or until it sleeps.
    public mutating func resume(_ call: SyscallTask) -> CallProgress<SyscallTask> {
        var task = call
        switch kernel.run(&task) {
        case .finished(let r):
            switch (task.call, r) {
            case (.memfdCreate, .handle(let h)), (.guestMemfdCreate, .handle(let h)), (.daxCreate, .handle(let h)):
                files.append(h)
            default: break
            }
            return .finished(r)
        case .blocked(_, let why): return .blocked(task, why)
        case .running: return .preempted(task)
        }
    }

    public func isWoken(_ call: SyscallTask) -> Bool { call.sleepsOn.map { kernel.isWoken($0) } ?? true }

    public var evaluatesChecks: Bool { true }

    public func checkProblem(_ check: String) -> String? {
        switch check {
        case "no_silent_write": return kernel.silentWrites.first
        case "no_lost_write": return kernel.lostWrites().first
        default: return kernel.invariantViolations.first ?? kernel.verifyInvariants().first
        }
    }

    public mutating func finish() -> [String] {
        for m in kernel.mms.indices where kernel.mms[m].alive { kernel.exitMM(MMID(m)) }
        for f in files { kernel.closeFile(f) }
        var problems = kernel.invariantViolations
        if kernel.internalChecks { problems += kernel.verifyInvariants() }
        problems += kernel.leakReport()
        return problems
    }
}
