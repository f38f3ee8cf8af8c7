// SPDX-License-Identifier: Apache-2.0
//
// The blocking and userfaultfd part of the live backend. Once a scenario creates a
// userfaultfd, every access and every madvise/munmap/fork runs as a job on a real thread of
// the worker that owns the memory (see the jobs section of cmmlinux.c): an access that traps
// really sleeps in handle_userfault(), and an event really holds its system call in
// userfaultfd_event_wait_completion(). A job that sleeps is handed to the runner as a
// WaitID; `isWoken` asks the worker whether the thread finished since. The uffd ioctls and
// read(2) run in the worker whose fd table holds the userfaultfd (a FORK message installs the
// child's userfaultfd in the reader's table; its ioctls act on the child's mm from there).

import CMMLinux
import MMLab
import MMScenario

/// One access, as the runner retries it after a sleep.
struct LiveAccessKey: Hashable {
    var process: ProcessHandle
    var address: UInt64
    var store: UInt64?
}

/// A job asleep in the kernel, as the runner waits for it.
struct LiveWait {
    enum Kind {
        case access(LiveAccessKey)
        case madvise, munmap
        case fork(childName: String)
    }
    var process: ProcessHandle
    var job: UInt64
    var kind: Kind
    /// Set once the job finished: the access's result went to `finishedAccesses`; a
    /// system call's result is here.
    var done = false
    var result: SyscallResult?
}

extension LiveBackend {
    /// How long `isWoken` waits for a woken job to finish. A job still asleep in userfaultfd
    /// answers at once; this bounds a job that runs (or sleeps elsewhere) for longer.
    static let pollMilliseconds = 3_000
    /// The prefix of the placeholder names that tie a SyscallState to its WaitID.
    static let waitTag = "mmlab-live-wait-"

    public var supportsUserfaultfd: Bool { true }

    // MARK: jobs

    func newWait(_ p: ProcessHandle, job: UInt64, _ kind: LiveWait.Kind) -> WaitID {
        let w = nextWait
        nextWait += 1
        waits[w] = LiveWait(process: p, job: job, kind: kind)
        return w
    }

    func accessResult(_ r: mml_reply, store: UInt64?) -> AccessResult {
        if r.sig == 0 { return .ok(store ?? r.value) }
        guard let info = LiveBackend.signal(r.sig, code: r.code) else {
            return .modelError("the access raised signal \(r.sig) (si_code \(r.code))")
        }
        return .signal(info)
    }

    func accessJob(_ w: LiveWorker, _ p: ProcessHandle, _ key: LiveAccessKey) -> AccessResult {
        do {
            let j: LiveJob
            if let token = key.store {
                j = try w.startJob(MML_JOB_STORE, [key.address, token])
            } else {
                j = try w.startJob(MML_JOB_LOAD, [key.address])
            }
            switch j {
            case .done(let r, _): return accessResult(r, store: key.store)
            case .asleep(let id): return .blocked(newWait(p, job: id, .access(key)))
            }
        } catch {
            problems.append(error.message)
            return .modelError(error.message)
        }
    }

    /// A finished madvise, munmap or fork job as the system call's result.
    func syscallResult(_ r: mml_reply, fd: Int32, _ kind: LiveWait.Kind, parent: ProcessHandle) -> SyscallResult {
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
        return .forked(ProcessHandle(workers.count - 1))
    }

    public func start(_ call: Syscall) -> SyscallProgress {
        let p: ProcessHandle, kind: LiveWait.Kind, job: mml_job_kind, args: [UInt64]
        switch call {
        case .madvise(let mm, let a, let l, let advice):
            guard jobs else { return .finished(madvise(mm, address: a, length: l, advice: advice).map { .errno($0) } ?? .ok) }
            (p, kind, job, args) = (mm, .madvise, MML_JOB_MADVISE, [a, l, UInt64(UInt32(bitPattern: advice.value))])
        case .munmap(let mm, let a, let l):
            guard jobs else { return .finished(munmap(mm, address: a, length: l).map { .errno($0) } ?? .ok) }
            (p, kind, job, args) = (mm, .munmap, MML_JOB_MUNMAP, [a, l])
        case .fork(let mm, let name):
            guard jobs else {
                switch fork(mm, childName: name) {
                case .success(let c): return .finished(.forked(c))
                case .failure(let e): return .finished(.errno(e))
                }
            }
            (p, kind, job, args) = (mm, .fork(childName: name), MML_JOB_FORK, [])
        }
        guard let w = worker(p) else { return .finished(.errno(.ESRCH)) }
        do {
            switch try w.startJob(job, args) {
            case .done(let r, let fd):
                return .finished(syscallResult(r, fd: fd, kind, parent: p))
            case .asleep(let id):
                let wait = newWait(p, job: id, kind)
                guard let st = ModelTemplates.syscallState(tag: LiveBackend.waitTag + String(wait)) else {
                    problems.append("cannot make a SyscallState for a sleeping system call (the model's template failed)")
                    return .finished(.errno(.EIO))
                }
                return .blocked(wait, st)
            }
        } catch {
            return .finished(.errno(broken(error)))
        }
    }

    public func resume(_ state: SyscallState) -> SyscallProgress {
        guard case .fork(_, let tag) = state.call, tag.hasPrefix(LiveBackend.waitTag),
              let w = WaitID(tag.dropFirst(LiveBackend.waitTag.count)), waits[w] != nil else {
            problems.append("resume of a system call the live backend did not start")
            return .finished(.errno(.EIO))
        }
        guard poll(w), let r = waits[w]?.result else { return .blocked(w, state) }
        waits[w] = nil
        return .finished(r)
    }

    public func isWoken(_ w: WaitID) -> Bool { poll(w) }

    /// Whether the job behind `w` finished; collects its result when it just did.
    @discardableResult
    func poll(_ w: WaitID) -> Bool {
        guard var wait = waits[w] else { return false }
        if wait.done { return true }
        guard let worker = worker(wait.process), worker.alive else { return false }
        do {
            switch try worker.pollJob(wait.job, waitMilliseconds: LiveBackend.pollMilliseconds) {
            case .asleep:
                return false
            case .done(let r, let fd):
                wait.done = true
                switch wait.kind {
                case .access(let key):
                    finishedAccesses[key, default: []].append(accessResult(r, store: key.store))
                    if fd >= 0 { mml_close(fd) }
                    waits[w] = wait   // done: later questions about `w` answer true
                case .madvise, .munmap, .fork:
                    wait.result = syscallResult(r, fd: fd, wait.kind, parent: wait.process)
                    waits[w] = wait
                }
                return true
            }
        } catch {
            problems.append(error.message)
            return false
        }
    }

    // MARK: userfaultfd

    public func uffdCreate(_ p: ProcessHandle, features: UffdFeatures) -> Result<UffdHandle, Errno> {
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

    public func uffdRegister(_ u: UffdHandle, address: UInt64, length: UInt64, mode: UffdRegisterMode) -> Errno? {
        uffdIoctl(u, MML_UFFD_REGISTER, address, length, flags: mode.rawValue)
    }

    public func uffdUnregister(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno? {
        uffdIoctl(u, MML_UFFD_UNREGISTER, address, length)
    }

    public func uffdWriteProtect(_ u: UffdHandle, address: UInt64, length: UInt64, protect: Bool, dontwake: Bool) -> Errno? {
        uffdIoctl(u, MML_UFFD_WRITEPROTECT, address, length, flags: LiveBackend.flags(wp: protect, dontwake: dontwake))
    }

    public func uffdMfill(_ u: UffdHandle, address: UInt64, length: UInt64, mode: MfillMode, wp: Bool, dontwake: Bool) -> Errno? {
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

    public func uffdWake(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno? {
        uffdIoctl(u, MML_UFFD_WAKE, address, length)
    }

    /// struct uffd_msg (32 bytes, little-endian) as the model's UffdMessage. A FORK message's
    /// new fd stays in the reading worker and gets a handle.
    public func uffdRead(_ u: UffdHandle) -> UffdMessage? {
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
        guard let event = UffdEvent(rawValue: bytes[0]), var m = ModelTemplates.message else {
            problems.append("a userfaultfd message with event 0x\(String(bytes[0], radix: 16)) the backend cannot translate")
            return nil
        }
        m.event = event
        m.flags = 0
        m.address = 0
        m.start = 0
        m.end = 0
        m.forkChild = nil
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
    public func exitProcess(_ p: ProcessHandle) -> Errno? {
        guard let w = worker(p), w.alive else { return .ESRCH }
        if let problem = w.end() { problems.append(problem) }
        return nil
    }

    public func pagemapScan(_ p: ProcessHandle, _ args: PagemapScanArgs) -> Result<[PageRegion], Errno> {
        guard let w = worker(p) else { return .failure(.ESRCH) }
        let flags: UInt64 = (args.wpMatching ? 1 : 0) | (args.checkWPAsync ? 2 : 0)
        do {
            switch try w.pagemapScan(start: args.start, end: args.end, flags: flags, inverted: args.categoryInverted,
                                     mask: args.categoryMask, anyof: args.categoryAnyofMask,
                                     returnMask: args.returnMask, maxPages: args.maxPages) {
            case .success(let regions):
                guard let template = ModelTemplates.region else {
                    problems.append("cannot make a PageRegion (the model's template failed)")
                    return .failure(.EIO)
                }
                return .success(regions.map { r in
                    var out = template
                    (out.start, out.end, out.categories) = r
                    return out
                })
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
