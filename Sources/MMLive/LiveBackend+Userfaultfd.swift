// SPDX-License-Identifier: Apache-2.0
//
// The blocking and userfaultfd part of the live backend. Once a scenario creates a
// userfaultfd, every access and every madvise/munmap/fork runs as a job on a real thread of
// the worker that owns the memory (see CMMLinux/jobs.c): an access that traps
// really sleeps in handle_userfault(), and an event really holds its system call in
// userfaultfd_event_wait_completion(). A job that sleeps is handed to the runner as a
// LivePendingCall; `isWoken` asks the worker whether the thread finished since, and `resume`
// collects its result. The uffd ioctls and
// read(2) run in the worker whose fd table holds the userfaultfd (a FORK message installs the
// child's userfaultfd in the reader's table; its ioctls act on the child's mm from there).

import CMMLinux
import MMLab
import MMScenario

/// A job asleep in the kernel, as the runner waits for it.
struct LiveWait {
    enum Kind {
        case access(store: UInt64?)
        case madvise, munmap
        case fork(childName: String)
    }
    var process: ProcessHandle
    var job: UInt64
    var kind: Kind
    /// Why it sleeps, as the runner was told.
    var reason: BlockReason
    /// The job's result, once it finished.
    var result: CallResult?
}

/// A call of the live backend asleep in the kernel: the job the runner resumes.
public struct LivePendingCall: Hashable, Sendable {
    let wait: Int32
}

extension LiveBackend {
    /// How long `isWoken` waits for a woken job to finish. A job still asleep in userfaultfd
    /// answers at once; this bounds a job that runs (or sleeps elsewhere) for longer.
    static let pollMilliseconds = 3_000

    public var supportsUserfaultfd: Bool { true }

    // MARK: jobs

    /// A job that sleeps, as the pending call the runner holds.
    func newWait(_ p: ProcessHandle, job: UInt64, _ kind: LiveWait.Kind, _ reason: BlockReason) -> CallProgress<LivePendingCall> {
        let w = nextWait
        nextWait += 1
        waits[w] = LiveWait(process: p, job: job, kind: kind, reason: reason)
        return .blocked(LivePendingCall(wait: w), reason)
    }

    func accessResult(_ r: mml_reply, store: UInt64?) -> CallResult {
        if r.sig == 0 { return .value(store ?? r.value) }
        guard let info = LiveBackend.signal(r.sig, code: r.code) else {
            return .backendError("the access raised signal \(r.sig) (si_code \(r.code))")
        }
        return .signal(info)
    }

    /// A load or store as a job on the worker's job thread (it may sleep in handle_userfault()).
    func accessJob(_ w: LiveWorker, _ p: ProcessHandle, address: UInt64, store: UInt64?) -> CallProgress<LivePendingCall> {
        do {
            let j: LiveJob
            if let token = store {
                j = try w.startJob(MML_JOB_STORE, [address, token])
            } else {
                j = try w.startJob(MML_JOB_LOAD, [address])
            }
            switch j {
            case .done(let r, _): return .finished(accessResult(r, store: store))
            case .asleep(let id): return newWait(p, job: id, .access(store: store), .userfault(address: address))
            }
        } catch {
            problems.append(error.message)
            return .finished(.backendError(error.message))
        }
    }

    /// A finished madvise, munmap or fork job as the system call's result.
    func syscallResult(_ r: mml_reply, fd: Int32, _ kind: LiveWait.Kind, parent: ProcessHandle) -> CallResult {
        if r.ret < 0 {
            if fd >= 0 { mml_close(fd) }
            return .errno(errno(SyscallError(errno: r.err)))
        }
        guard case .fork(let childName) = kind else { return .ok }
        guard fd >= 0, let w = worker(parent) else {
            problems.append("the worker for process \(parent) forked pid \(r.ret) but passed no channel for it")
            return .errno(.EIO)
        }
        workers.append(w.adoptChild(pid: Int32(r.ret), socket: fd, name: childName))
        return .handle(ProcessHandle(workers.count - 1))
    }

    /// madvise, munmap or fork as a job on the worker's job thread (it may sleep until a
    /// userfaultfd reader reads its event, or on a userfault for MADV_POPULATE_*).
    func syscallJob(_ call: SystemCall) -> CallProgress<LivePendingCall> {
        let p: ProcessHandle, kind: LiveWait.Kind, job: mml_job_kind, args: [UInt64]
        var reason = BlockReason.event
        switch call {
        case .madvise(let mm, let a, let l, let advice):
            (p, kind, job, args) = (mm, .madvise, MML_JOB_MADVISE, [a, l, UInt64(UInt32(bitPattern: advice.value))])
            if advice == .populate_read || advice == .populate_write { reason = .userfault(address: nil) }
        case .munmap(let mm, let a, let l):
            (p, kind, job, args) = (mm, .munmap, MML_JOB_MUNMAP, [a, l])
        case .fork(let mm, let name):
            (p, kind, job, args) = (mm, .fork(childName: name), MML_JOB_FORK, [])
        default:
            return .finished(.backendError("\(call) is not a job"))
        }
        guard let w = worker(p) else { return .finished(.errno(.ESRCH)) }
        do {
            switch try w.startJob(job, args) {
            case .done(let r, let fd):
                return .finished(syscallResult(r, fd: fd, kind, parent: p))
            case .asleep(let id):
                return newWait(p, job: id, kind, reason)
            }
        } catch {
            return .finished(.errno(broken(error)))
        }
    }

    public func resume(_ call: LivePendingCall) -> CallProgress<LivePendingCall> {
        guard let wait = waits[call.wait] else {
            problems.append("resume of a call the live backend did not start")
            return .finished(.errno(.EIO))
        }
        guard poll(call.wait), let r = waits[call.wait]?.result else { return .blocked(call, wait.reason) }
        waits[call.wait] = nil
        return .finished(r)
    }

    public func isWoken(_ call: LivePendingCall) -> Bool { poll(call.wait) }

    /// Whether the job behind `w` finished; collects its result when it just did.
    @discardableResult
    func poll(_ w: Int32) -> Bool {
        guard var wait = waits[w] else { return false }
        if wait.result != nil { return true }
        guard let worker = worker(wait.process), worker.alive else { return false }
        do {
            switch try worker.pollJob(wait.job, waitMilliseconds: LiveBackend.pollMilliseconds) {
            case .asleep:
                return false
            case .done(let r, let fd):
                switch wait.kind {
                case .access(let store):
                    wait.result = accessResult(r, store: store)
                    if fd >= 0 { mml_close(fd) }
                case .madvise, .munmap, .fork:
                    wait.result = syscallResult(r, fd: fd, wait.kind, parent: wait.process)
                }
                waits[w] = wait   // done: later questions about `w` answer true
                return true
            }
        } catch {
            problems.append(error.message)
            return false
        }
    }

    // MARK: userfaultfd

    func uffdCreate(_ p: ProcessHandle, features: UffdFeatures) -> Result<UffdHandle, Errno> {
        guard let w = worker(p) else { return .failure(.ESRCH) }
        do {
            switch try w.uffdCreate(features: features.rawValue) {
            case .success(let fd):
                jobs = true
                uffdTable.append((p, fd))
                return .success(UffdHandle(uffdTable.count - 1))
            case .failure(let e):
                return .failure(errno(e))
            }
        } catch {
            return .failure(broken(error))
        }
    }

    /// The worker holding userfaultfd `u`, and its fd there.
    func uffd(_ u: UffdHandle) -> (LiveWorker, Int32)? {
        guard u >= 0, Int(u) < uffdTable.count, let w = worker(uffdTable[Int(u)].worker), w.alive else { return nil }
        return (w, uffdTable[Int(u)].fd)
    }

    func uffdIoctl(_ u: UffdHandle, _ kind: mml_uffd_ioctl, _ start: UInt64, _ length: UInt64,
                   flags: UInt64 = 0, token: UInt64 = 0) -> Errno? {
        guard let (w, fd) = uffd(u) else { return .EBADF }
        do { return outcome(try w.uffdIoctl(fd: fd, kind, start: start, length: length, flags: flags, token: token)) }
        catch { return broken(error) }
    }

    static func flags(wp: Bool = false, dontwake: Bool = false, seq: Bool = false) -> UInt64 {
        (wp ? UInt64(MML_UFFD_F_WP.rawValue) : 0) | (dontwake ? UInt64(MML_UFFD_F_DONTWAKE.rawValue) : 0)
            | (seq ? UInt64(MML_UFFD_F_SEQ.rawValue) : 0)
    }

    func uffdRegister(_ u: UffdHandle, address: UInt64, length: UInt64, mode: UffdRegisterMode) -> Errno? {
        uffdIoctl(u, MML_UFFD_REGISTER, address, length, flags: mode.rawValue)
    }

    func uffdUnregister(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno? {
        uffdIoctl(u, MML_UFFD_UNREGISTER, address, length)
    }

    func uffdWriteProtect(_ u: UffdHandle, address: UInt64, length: UInt64, protect: Bool, dontwake: Bool) -> Errno? {
        uffdIoctl(u, MML_UFFD_WRITEPROTECT, address, length, flags: LiveBackend.flags(wp: protect, dontwake: dontwake))
    }

    func uffdMfill(_ u: UffdHandle, address: UInt64, length: UInt64, mode: MfillMode, wp: Bool, dontwake: Bool) -> Errno? {
        switch mode {
        case .copy(let base, let seq):
            return uffdIoctl(u, MML_UFFD_COPY, address, length, flags: LiveBackend.flags(wp: wp, dontwake: dontwake, seq: seq), token: base)
        case .zeropage:
            return uffdIoctl(u, MML_UFFD_ZEROPAGE, address, length, flags: LiveBackend.flags(dontwake: dontwake))
        case .continue:
            return uffdIoctl(u, MML_UFFD_CONTINUE, address, length, flags: LiveBackend.flags(wp: wp, dontwake: dontwake))
        case .poison:
            return uffdIoctl(u, MML_UFFD_POISON, address, length, flags: LiveBackend.flags(dontwake: dontwake))
        }
    }

    func uffdWake(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno? {
        uffdIoctl(u, MML_UFFD_WAKE, address, length)
    }

    /// struct uffd_msg (32 bytes, little-endian) as the model's UffdMessage. A FORK message's
    /// new fd stays in the reading worker and gets a handle.
    func uffdRead(_ u: UffdHandle) -> UffdMessage? {
        guard let (w, fd) = uffd(u) else { return nil }
        let bytes: [UInt8]
        do {
            switch try w.uffdRead(fd: fd) {
            case .success(let b): bytes = b
            case .failure(let e):
                if e.errno != EAGAIN_ { problems.append("read(2) of a userfaultfd failed: \(errnoName(e.errno))") }
                return nil
            }
        } catch {
            problems.append(error.message)
            return nil
        }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        guard let event = UffdEvent(rawValue: bytes[0]) else {
            problems.append("a userfaultfd message with event 0x\(String(bytes[0], radix: 16)) the backend cannot translate")
            return nil
        }
        var m = UffdMessage(event: event)
        switch event {
        case .pagefault:
            m.flags = u64(8)
            m.address = u64(16) & ~UInt64(4095)
        case .fork:
            let childFD = Int32(bitPattern: UInt32(truncatingIfNeeded: u64(8)))
            uffdTable.append((uffdTable[Int(u)].worker, childFD))
            m.forkChild = UffdHandle(uffdTable.count - 1)
        case .remove, .unmap:
            m.start = u64(8)
            m.end = u64(16)
        case .remap:
            m.start = u64(8)
            m.end = u64(16)
        }
        return m
    }

    // MARK: exit, PAGEMAP_SCAN

    /// exit(2): the worker exits (its job threads with it); the controller reaps it.
    func exitProcess(_ p: ProcessHandle) -> Errno? {
        guard let w = worker(p), w.alive else { return .ESRCH }
        if let problem = w.end() { problems.append(problem) }
        return nil
    }

    func pagemapScan(_ p: ProcessHandle, _ args: PagemapScanArgs) -> Result<[PageRegion], Errno> {
        guard let w = worker(p) else { return .failure(.ESRCH) }
        let flags: UInt64 = (args.wpMatching ? 1 : 0) | (args.checkWPAsync ? 2 : 0)
        do {
            switch try w.pagemapScan(start: args.start, end: args.end, flags: flags, inverted: args.categoryInverted,
                                     mask: args.categoryMask, anyof: args.categoryAnyofMask,
                                     returnMask: args.returnMask, maxPages: args.maxPages) {
            case .success(let regions):
                return .success(regions.map { PageRegion(start: $0.0, end: $0.1, categories: $0.2) })
            case .failure(let e):
                return .failure(errno(e))
            }
        } catch {
            return .failure(broken(error))
        }
    }
}

#if canImport(Glibc)
import Glibc
let EAGAIN_: Int32 = EAGAIN
#elseif canImport(Darwin)
import Darwin
let EAGAIN_: Int32 = EAGAIN
#endif
