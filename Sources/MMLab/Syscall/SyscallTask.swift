// SPDX-License-Identifier: Apache-2.0
//
// The one idea of "a kernel operation in progress". Every statement that calls into the kernel
// starts a SyscallTask: a memory access, mmap, munmap, mprotect, madvise (each advice), fork,
// exit, punch, pread, pwrite, every userfaultfd ioctl, PAGEMAP_SCAN, the KSM knobs, poison. One
// function steps it (`Kernel.step`): it runs to the next lock boundary and says whether it is
// still running (another thread may run before its next step), asleep on a wait queue, or
// finished with its result. `run` steps a task to its end (`Kernel.run`), `explore` one step
// at a time; the plain Swift APIs of the model (`Kernel.munmap`, `Kernel.uffdMfill`…) are
// that same loop. Each mechanism owns its step, its footprint and its lock mode, in its own
// folder; this file only dispatches.

/// A system call, ioctl or memory access the model is executing.
public struct SyscallTask: Hashable, Sendable {
    /// What the task does.
    public let call: SystemCall
    /// Where it stands (each mechanism keeps its own state here).
    var progress: Progress = .start
    /// The wait queue entry it sleeps on, from the step that blocked to the next step.
    public internal(set) var sleepsOn: WaitID? = nil

    public init(_ call: SystemCall) { self.call = call }

    /// An access that Kernel.runAccess() left asleep on `wait`: the task a scheduler resumes.
    public init(sleepingAccess call: SystemCall, on wait: WaitID) {
        self.call = call
        progress = .access
        sleepsOn = wait
    }

    /// Whether the task took its first step.
    public var started: Bool { progress != .start }
}

/// Where an operation in progress stands.
enum Progress: Hashable, Sendable {
    /// Not started.
    case start
    /// An access that faulted (or slept in handle_userfault()) and retries.
    case access
    /// fallocate(PUNCH_HOLE) between two steps (Shmem/Punch.swift).
    indirect case punch(PunchWalk)
    /// UFFDIO_WRITEPROTECT: where the walk goes on (Userfaultfd/WriteProtect.swift).
    case writeProtect(next: UInt64)
    /// UFFDIO_COPY/ZEROPAGE/CONTINUE/POISON: pages filled so far (Userfaultfd/UffdIoctls.swift).
    case mfill(done: Int)
    /// PAGEMAP_SCAN (Proc/PagemapScan.swift).
    indirect case scan(PagemapScanState)
    /// madvise() over its VMAs (Madvise/Madvise.swift).
    indirect case madvise(MadviseWalk)
    /// munmap() or fork() done, waiting until the userfaultfd events it raised are read
    /// (userfaultfd_unmap_complete(), dup_userfaultfd_complete()); then it returns `result`.
    indirect case events(pending: [WaitID], result: CallResult)
}

/// What one step of a task did.
public enum StepResult: Hashable, Sendable {
    /// The task reached a lock boundary and goes on at its next step.
    case running
    /// The task sleeps until `WaitID` is woken; its next step retries or resumes.
    case blocked(WaitID, BlockReason)
    /// The task finished with this result.
    case finished(CallResult)
}

extension Kernel {
    /// Runs one step of `task`.
    public mutating func step(_ task: inout SyscallTask) -> StepResult {
        task.sleepsOn = nil
        if callerIsGone(task.call) { return .finished(.errno(.ESRCH)) }
        let r = stepCall(&task)
        if case .blocked(let w, _) = r { task.sleepsOn = w }
        return r
    }

    /// Runs `task` step after step until it finishes or sleeps, as `run` does (no other
    /// thread in between). An access that still faults after 8 attempts is a model bug.
    public mutating func run(_ task: inout SyscallTask) -> StepResult {
        if callerIsGone(task.call) { return .finished(.errno(.ESRCH)) }
        if case .access(let mm, let address, let store) = task.call {
            let r = runAccess(mm, address, store: store)
            task.progress = .access
            task.sleepsOn = nil
            if case .blocked(let w, _) = r { task.sleepsOn = w }
            return r
        }
        for _ in 0..<(1 << 22) {   // more steps than any range has PTE tables or pages: a model bug
            let r = step(&task)
            if case .running = r { continue }
            return r
        }
        invariantViolations.append("\(stepName(of: task) ?? "a system call") did not finish (a model bug)")
        return .finished(.errno(.EIO))
    }

    /// Runs the steps of a memory access (Fault/Access.swift) until it finishes or sleeps: the
    /// loop `run` makes for an access task, without the task. An access that still faults
    /// after 8 attempts is a model bug.
    public mutating func runAccess(_ mm: MMID, _ address: UInt64, store: UInt64?) -> StepResult {
        if let r = accessFast(mm, address, store: store) { return r }   // Fault/FastAccess.swift
        if callerIsGone(.access(mm, address: address, store: store)) { return .finished(.errno(.ESRCH)) }
        for _ in 0..<8 {
            let r = accessStep(mm, address, store: store)
            if case .running = r { continue }
            check()
            return r
        }
        return .finished(.backendError("access to 0x\(String(address, radix: 16)) still faults after 8 retries"))
    }

    /// Runs `call` to its end and returns its result: the plain API, for callers without a
    /// userfaultfd reader. A call that would sleep returns what it has: munmap and fork, whose
    /// work is done, their result (their events stay queued); a call asleep on a userfault
    /// withdraws it and returns EAGAIN (as GUP does without FOLL_UNLOCKABLE); one asleep on
    /// its own REMOVE event EINTR.
    public mutating func perform(_ call: SystemCall) -> CallResult {
        var task = SyscallTask(call)
        switch run(&task) {
        case .finished(let r): return r
        case .running: return .errno(.EIO)
        case .blocked(let w, let why):
            if case .events(_, let r) = task.progress { return r }
            if case .userfault = why {
                cancelUserfault(w)
                return .errno(.EAGAIN)
            }
            return .errno(.EINTR)
        }
    }

    /// Runs `call` to its end: its error (nil: success).
    mutating func performForError(_ call: SystemCall) -> Errno? {
        switch perform(call) {
        case .errno(let e): return e
        case .backendError: return .EIO
        default: return nil
        }
    }

    /// Whether the process making `call` has exited: it makes no more calls (exit_group()
    /// ended its threads); the model answers as /proc/PID and pidfd calls do for a task that
    /// is gone (ESRCH) instead of working on a torn-down address space.
    func callerIsGone(_ call: SystemCall) -> Bool {
        guard let mm = callingProcess(call) else { return false }
        return !(Int(mm) >= 0 && Int(mm) < mms.count && mms[Int(mm)].alive)
    }

    /// The process a call runs in, for the calls a process makes on its own memory (nil for
    /// files, userfaultfd ioctls, which find their mm themselves, and the KSM knobs).
    func callingProcess(_ call: SystemCall) -> MMID? {
        switch call {
        case .mmap(let p, _, _, _, _, _, _), .munmap(let p, _, _), .mprotect(let p, _, _, _), .madvise(let p, _, _, _),
             .madviseHWPoison(let p, _, _), .fork(let p, _), .exit(let p), .access(let p, _, _), .pagemapRead(let p, _),
             .clearRefs(let p, _), .prctlSetMemoryMerge(let p, _), .uffdCreate(let p, _), .pagemapScan(let p, _),
             .pin(let p, _, _, _), .unpin(let p, _):
            return p
        case .swapon, .memfdCreate, .guestMemfdCreate, .daxCreate, .punchHole, .pread, .pwrite, .uffdRegister, .uffdUnregister,
             .uffdWriteProtect, .uffdMfill, .uffdWake, .uffdRead, .ksmRun, .ksmScan, .ksmSetUseZeroPages,
             .ksmSetMaxPageSharing, .ksmCounters, .gmemConvert:
            return nil
        }
    }

    /// One step of a task: the dispatch to the mechanism that owns the call.
    mutating func stepCall(_ task: inout SyscallTask) -> StepResult {
        switch task.call {
        // Memory accesses: Fault/Access.swift.
        case .access(let mm, let address, let store):
            return accessTaskStep(&task, mm, address, store: store)
        // Calls that take more than one step, each in its own mechanism's file.
        case .punchHole(let ino, let offset, let length):
            return punchHoleStep(&task, ino, offset: offset, length: length)
        case .madvise(let mm, let address, let length, let advice):
            return madviseStep(&task, mm, start: address, length: length, advice: advice)
        case .munmap(let mm, let address, let length):
            return munmapStep(&task, mm, start: address, length: length)
        case .fork(let mm, let childName):
            return forkStep(&task, mm, childName: childName)
        case .uffdWriteProtect(let u, let address, let length, let protect, let dontwake):
            return writeProtectStep(&task, u, start: address, end: address &+ length, protect: protect, dontwake: dontwake)
        case .uffdMfill(let u, let address, let length, let mode, let wp, let dontwake):
            return mfillStep(&task, u, start: address, end: address &+ length, mode: mode, wp: wp, dontwake: dontwake)
        case .pagemapScan(let mm, let args):
            return pagemapScanStep(&task, mm, args)
        // Calls that run in one step under their locks.
        default:
            return .finished(oneStepCall(task.call))
        }
    }

    /// The calls that run as one step (their locks are held for the whole call, nothing can
    /// interleave with them), dispatched to their mechanisms.
    mutating func oneStepCall(_ call: SystemCall) -> CallResult {
        func result(_ e: Errno?) -> CallResult { e.map { .errno($0) } ?? .ok }
        switch call {
        case .swapon(let bytes):                                   // Swap/SwapDevice.swift
            return result(swapon(bytes: bytes))
        case .memfdCreate(let name, let bytes):                    // Shmem/Shmem.swift
            switch memfdCreate(name: name, bytes: bytes) {
            case .success(let h): return .handle(h)
            case .failure(let e): return .errno(e)
            }
        case .guestMemfdCreate(let name, let bytes, let flags):    // GuestMemfd/GuestMemfd.swift
            switch kvmGmemCreate(name: name, size: bytes, flags: flags) {
            case .success(let h): return .handle(h)
            case .failure(let e): return .errno(e)
            }
        case .daxCreate(let name, let bytes, let align):           // DAX/DeviceDax.swift
            switch daxCreate(name: name, bytes: bytes, align: align) {
            case .success(let h): return .handle(h)
            case .failure(let e): return .errno(e)
            }
        case .mmap(let mm, let length, let prot, let shared, let object, let offset, let align):   // VMA/Mmap.swift
            switch mmap(mm, length: length, prot: prot, shared: shared, target: object.map { .file($0) } ?? .anon,
                        offset: offset, align: align) {
            case .success(let a): return .value(a)
            case .failure(let e): return .errno(e)
            }
        case .mprotect(let mm, let address, let length, let prot):  // VMA/Mmap.swift
            return result(mprotect(mm, start: address, length: length, prot: prot))
        case .madviseHWPoison(let mm, let address, let length):    // MemoryFailure/MemoryFailure.swift
            return .hwpoison(madviseHWPoison(mm, start: address, length: length))
        case .pread(let ino, let offset):                          // Shmem/ShmemRead.swift
            switch pread(ino, offset: offset) {
            case .success(let t): return .value(t)
            case .failure(let e): return .errno(e)
            }
        case .pwrite(let ino, let offset, let token):              // Shmem/ShmemWrite.swift
            switch pwrite(ino, offset: offset, token: token) {
            case .success(let n): return .value(n)
            case .failure(let e): return .errno(e)
            }
        case .exit(let mm):                                        // Fork/Fork.swift
            exitMM(mm)
            return .ok
        case .pagemapRead(let mm, let address):                    // Proc/Pagemap.swift
            return .value(pagemapReadCounted(mm, address))
        case .clearRefs(let mm, let value):                        // Proc/Pagemap.swift
            return result(clearRefs(mm, value))
        case .prctlSetMemoryMerge(let mm, let on):                 // KSM/KSM.swift
            return result(prctlSetMemoryMerge(mm, on))
        case .uffdCreate(let mm, let features):                    // Userfaultfd/Userfaultfd.swift
            let u = userfaultfdCreate(mm)
            if let e = uffdAPI(u, features: features) { return .errno(e) }
            return .handle(u)
        case .uffdRegister(let u, let address, let length, let mode):   // Userfaultfd/UffdIoctls.swift
            return result(uffdRegister(u, start: address, length: length, mode: mode))
        case .uffdUnregister(let u, let address, let length):
            return result(uffdUnregister(u, start: address, length: length))
        case .uffdWake(let u, let address, let length):
            return result(uffdWake(u, start: address, length: length))
        case .uffdRead(let u):                                     // Userfaultfd/Userfaultfd.swift
            return .message(uffdRead(u))
        case .ksmRun:                                              // KSM/KSM.swift
            ksmSetRun(true)
            return .ok
        case .ksmScan(let n):
            ksmScan(n)
            return .ok
        case .ksmSetUseZeroPages(let on):
            ksmSetUseZeroPages(on)
            return .ok
        case .ksmSetMaxPageSharing(let n):
            return result(ksmSetMaxPageSharing(n))
        case .ksmCounters:
            return .counters(ksmCounters.map { KSMCounterValue($0.0, $0.1) })
        case .pin(let mm, let address, let length, let exclusive):   // GUP/Pin.swift
            switch pinUserPages(mm, start: address, length: length, exclusive: exclusive) {
            case .success(let h): return .handle(h)
            case .failure(let e): return .errno(e)
            }
        case .unpin(_, let handle):
            return result(unpinUserPages(handle))
        case .gmemConvert(let ino, let offset, let length, let toPrivate):   // GuestMemfd/GuestMemfd.swift
            return kvmGmemConvert(ino, offset: offset, length: length, toPrivate: toPrivate)
        case .access, .punchHole, .madvise, .munmap, .fork, .uffdWriteProtect, .uffdMfill, .pagemapScan:
            return .backendError("\(call) is a stepped call, not a one-step one (a model bug)")
        }
    }

    /// A name for the next step of a task, in kernel terms, for the calls that take several
    /// steps (nil: the call runs as one step).
    public func stepName(of task: SyscallTask) -> String? {
        switch task.call {
        case .access: return "access"
        case .punchHole(let ino, _, _): return punchStepName(task, ino)
        case .uffdWriteProtect: return "userfaultfd_writeprotect"
        case .uffdMfill(_, _, _, let mode, _, _):
            switch mode {
            case .copy: return "userfaultfd_copy"
            case .zeropage: return "userfaultfd_zeropage"
            case .continue: return "userfaultfd_continue"
            case .poison: return "userfaultfd_poison"
            }
        case .pagemapScan: return "do_pagemap_scan"
        case .madvise(_, _, _, .dontneed): return "madvise(MADV_DONTNEED)"
        default: return nil
        }
    }
}
