// SPDX-License-Identifier: Apache-2.0
//
// The controller's handle on one worker process: a forked process that performs a scenario's
// system calls and memory accesses on its own address space (the C loop in CMMLinux). Every
// request waits a bounded time for its reply.

import CMMLinux

/// Something went wrong with a worker or the host, not with the scenario.
public struct LiveError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A failed system call in a worker: the kernel's errno.
public struct SyscallError: Error, Hashable, Sendable {
    public var errno: Int32
}

/// What a worker's load or store observed.
public enum LiveAccess: Hashable, Sendable {
    /// Completed; for a load, the first word of the page.
    case ok(UInt64)
    /// Raised a signal (SIGSEGV 11, SIGBUS 7) with its si_code.
    case signal(Int32, code: Int32)
}

/// A job's state: finished (with the reply the plain opcode would give, and the child's
/// channel for a fork), or asleep in the kernel with its id.
public enum LiveJob {
    case done(mml_reply, fd: Int32)
    case asleep(UInt64)
}

/// PROT_* as the protocol sends them.
public enum LiveProt: UInt64, Sendable {
    case none = 0, r = 1, rw = 3
}

/// One worker process: the `main` of a scenario or a child it forked.
public final class LiveWorker {
    /// The process id (in the host's pid namespace).
    public let pid: Int32
    /// The scenario's name for the process.
    public let name: String
    let socket: Int32
    /// Whether the controller forked it itself (else a worker did).
    let isDirectChild: Bool
    public private(set) var alive = true
    /// How long a request may take before the worker counts as hung.
    nonisolated(unsafe) public static var timeoutMilliseconds: Int32 = 30_000

    init(pid: Int32, name: String, socket: Int32, isDirectChild: Bool) {
        self.pid = pid
        self.name = name
        self.socket = socket
        self.isDirectChild = isDirectChild
        mml_host_note_worker(pid)
    }

    /// Forks a new worker from the controller, pinned to `cpu` (nil: not pinned).
    public static func spawn(name: String, cpu: Int32?) throws(LiveError) -> LiveWorker {
        var sock: Int32 = -1
        let pid = mml_spawn_worker(cpu ?? -1, &sock)
        guard pid > 0 else { throw LiveError("cannot fork the worker for \(name): \(errnoName(-pid))") }
        let w = LiveWorker(pid: pid, name: name, socket: sock, isDirectChild: true)
        // The first request shows the worker is up (for example, that pinning worked).
        do throws(LiveError) {
            let r = try w.call(MML_OP_PING)
            guard r.reply.ret == Int64(pid) else { throw LiveError("worker for \(name) answered as pid \(r.reply.ret)") }
        } catch {
            _ = w.end()
            throw LiveError("the worker for \(name) did not start\(cpu.map { " (pinned to CPU \($0))" } ?? ""): \(error.message)")
        }
        return w
    }

    /// One request and its reply; a file descriptor to pass and one passed back.
    func call(_ op: mml_op, _ args: [UInt64] = [], fd: Int32 = -1) throws(LiveError) -> (reply: mml_reply, fd: Int32) {
        let r = try callData(op, args, fd: fd, capacity: 0)
        return (r.reply, r.fd)
    }

    /// A request whose reply may carry a payload of up to `capacity` bytes after the reply.
    func callData(_ op: mml_op, _ args: [UInt64] = [], fd: Int32 = -1, capacity: Int)
        throws(LiveError) -> (reply: mml_reply, fd: Int32, data: [UInt8]) {
        guard alive else { throw LiveError("the worker for \(name) (pid \(pid)) has ended") }
        var rq = mml_request()
        rq.op = op.rawValue
        withUnsafeMutableBytes(of: &rq.arg) { buf in
            let a = buf.bindMemory(to: UInt64.self)
            for (i, v) in args.prefix(6).enumerated() { a[i] = v }
        }
        var rp = mml_reply()
        var received: Int32 = -1
        var data = [UInt8](repeating: 0, count: max(capacity, 1))
        var got: Int32 = 0
        let r = data.withUnsafeMutableBytes { buf in
            mml_call_data(socket, &rq, fd, &rp, &received, capacity > 0 ? buf.baseAddress : nil, Int32(capacity),
                          &got, LiveWorker.timeoutMilliseconds)
        }
        if r != 0 {
            alive = false
            let why = r == -ETIMEDOUT_ ? "did not answer within \(LiveWorker.timeoutMilliseconds / 1000) s"
                : "is gone (\(errnoName(-r)))"
            throw LiveError("the worker for \(name) (pid \(pid)) \(why) during request \(op.rawValue)")
        }
        return (rp, received, Array(data.prefix(Int(got))))
    }

    func check(_ rp: mml_reply) -> Result<Void, SyscallError> {
        rp.ret < 0 ? .failure(SyscallError(errno: rp.err)) : .success(())
    }

    /// A mapping placed by the model's rule (see `mml_do_mmap`); its address.
    public func mmap(length: UInt64, prot: LiveProt, shared: Bool, fd: Int32?, offset: UInt64,
                     align: UInt64) throws(LiveError) -> Result<UInt64, SyscallError> {
        let r = try call(MML_OP_MMAP, [length, prot.rawValue, shared ? 1 : 0, offset, align], fd: fd ?? -1)
        return check(r.reply).map { r.reply.value }
    }

    public func munmap(address: UInt64, length: UInt64) throws(LiveError) -> Result<Void, SyscallError> {
        try check(call(MML_OP_MUNMAP, [address, length]).reply)
    }

    public func mprotect(address: UInt64, length: UInt64, prot: LiveProt) throws(LiveError) -> Result<Void, SyscallError> {
        try check(call(MML_OP_MPROTECT, [address, length, prot.rawValue]).reply)
    }

    public func madvise(address: UInt64, length: UInt64, advice: Int32) throws(LiveError) -> Result<Void, SyscallError> {
        try check(call(MML_OP_MADVISE, [address, length, UInt64(UInt32(bitPattern: advice))]).reply)
    }

    /// fallocate(PUNCH_HOLE | KEEP_SIZE) on `fd`, from this worker.
    public func punchHole(fd: Int32, offset: UInt64, length: UInt64) throws(LiveError) -> Result<Void, SyscallError> {
        try check(call(MML_OP_PUNCH, [offset, length], fd: fd).reply)
    }

    /// pwrite(2) of one page filled with `token` at `offset` on `fd`, from this worker: the
    /// bytes written.
    public func pwrite(fd: Int32, offset: UInt64, token: UInt64) throws(LiveError) -> Result<UInt64, SyscallError> {
        let r = try call(MML_OP_PWRITE, [offset, token], fd: fd).reply
        return check(r).map { UInt64(r.ret) }
    }

    /// A load of the page's first word.
    public func load(_ address: UInt64) throws(LiveError) -> LiveAccess {
        let r = try call(MML_OP_LOAD, [address]).reply
        return r.sig != 0 ? .signal(r.sig, code: r.code) : .ok(r.value)
    }

    /// A store of `token` into every word of the page.
    public func store(_ address: UInt64, token: UInt64) throws(LiveError) -> LiveAccess {
        let r = try call(MML_OP_STORE, [address, token]).reply
        return r.sig != 0 ? .signal(r.sig, code: r.code) : .ok(token)
    }

    /// The worker's own /proc/self/pagemap word for the page at `address`.
    public func pagemap(_ address: UInt64) throws(LiveError) -> Result<UInt64, SyscallError> {
        let r = try call(MML_OP_PAGEMAP, [address]).reply
        return check(r).map { r.value }
    }

    /// A write of `value` to /proc/self/clear_refs.
    public func clearRefs(_ value: Int) throws(LiveError) -> Result<Void, SyscallError> {
        try check(call(MML_OP_CLEAR_REFS, [UInt64(bitPattern: Int64(value))]).reply)
    }

    /// PR_SET_MEMORY_MERGE from include/uapi/linux/prctl.h.
    static let prSetMemoryMerge: UInt64 = 67

    /// prctl(option, arg2, 0, 0, 0) in the worker.
    public func prctl(_ option: UInt64, _ arg2: UInt64) throws(LiveError) -> Result<Void, SyscallError> {
        try check(call(MML_OP_PRCTL, [option, arg2]).reply)
    }

    /// The zero page's pagemap word, and the word of a page just written in a new VMA
    /// (soft-dirty set exactly when the kernel has CONFIG_MEM_SOFT_DIRTY).
    public func probe() throws(LiveError) -> Result<(zeroWord: UInt64, writtenWord: UInt64), SyscallError> {
        let r = try call(MML_OP_PROBE).reply
        return check(r).map { (r.value, r.value2) }
    }

    /// fork(2) in this worker: the child becomes a worker with its own channel.
    public func fork(childName: String) throws(LiveError) -> Result<LiveWorker, SyscallError> {
        let r = try call(MML_OP_FORK)
        if r.reply.ret < 0 { return .failure(SyscallError(errno: r.reply.err)) }
        guard r.fd >= 0 else {
            throw LiveError("the worker for \(name) forked pid \(r.reply.ret) but passed no channel for it")
        }
        return .success(LiveWorker(pid: Int32(r.reply.ret), name: childName, socket: r.fd, isDirectChild: false))
    }

    // MARK: jobs, userfaultfd, PAGEMAP_SCAN

    /// Starts a job on one of the worker's job threads (see CMMLinux/jobs.c).
    public func startJob(_ kind: mml_job_kind, _ args: [UInt64] = []) throws(LiveError) -> LiveJob {
        try job(call(MML_OP_JOB_START, [UInt64(kind.rawValue)] + args), what: "start a job")
    }

    /// Looks at a sleeping job again, waiting at most `waitMilliseconds` for it to finish
    /// (less when it is found asleep in userfaultfd).
    public func pollJob(_ id: UInt64, waitMilliseconds: Int) throws(LiveError) -> LiveJob {
        try job(call(MML_OP_JOB_POLL, [id, UInt64(waitMilliseconds)]), what: "poll job \(id)")
    }

    func job(_ r: (reply: mml_reply, fd: Int32), what: String) throws(LiveError) -> LiveJob {
        switch r.reply.state {
        case Int32(MML_JOB_DONE.rawValue): return .done(r.reply, fd: r.fd)
        case Int32(MML_JOB_ASLEEP.rawValue): return .asleep(r.reply.value2)
        default:
            if r.fd >= 0 { mml_close(r.fd) }
            throw LiveError("the worker for \(name) (pid \(pid)) could not \(what): \(errnoName(r.reply.err))")
        }
    }

    /// userfaultfd() + UFFDIO_API in this worker: the fd (in this worker).
    public func uffdCreate(features: UInt64) throws(LiveError) -> Result<Int32, SyscallError> {
        let r = try call(MML_OP_UFFD_CREATE, [features]).reply
        return check(r).map { Int32(r.ret) }
    }

    /// A long-term pin of [address, address + length) through io_uring fixed buffers
    /// (pin.c): the ring's fd in this worker, the pin's handle.
    public func pin(address: UInt64, length: UInt64) throws(LiveError) -> Result<Int32, SyscallError> {
        let r = try call(MML_OP_PIN, [address, length]).reply
        return check(r).map { Int32(r.ret) }
    }

    /// Releases a pin: IORING_UNREGISTER_BUFFERS and close of the ring `ring`.
    public func unpin(ring: Int32) throws(LiveError) -> Result<Void, SyscallError> {
        try check(call(MML_OP_UNPIN, [UInt64(UInt32(bitPattern: ring))]).reply)
    }

    /// One userfaultfd ioctl on `fd` (a userfaultfd in this worker).
    public func uffdIoctl(fd: Int32, _ kind: mml_uffd_ioctl, start: UInt64, length: UInt64, flags: UInt64 = 0,
                          token: UInt64 = 0) throws(LiveError) -> Result<Void, SyscallError> {
        try check(call(MML_OP_UFFD_IOCTL, [UInt64(UInt32(bitPattern: fd)), UInt64(kind.rawValue), start, length, flags, token]).reply)
    }

    /// A non-blocking read(2) of one struct uffd_msg: its 32 bytes, or the errno (EAGAIN: none).
    public func uffdRead(fd: Int32) throws(LiveError) -> Result<[UInt8], SyscallError> {
        let r = try callData(MML_OP_UFFD_READ, [UInt64(UInt32(bitPattern: fd))], capacity: 32)
        if r.reply.ret < 0 { return .failure(SyscallError(errno: r.reply.err)) }
        guard r.data.count == 32 else { throw LiveError("the worker for \(name) sent a userfaultfd message of \(r.data.count) bytes") }
        return .success(r.data)
    }

    /// PAGEMAP_SCAN on the worker's own pagemap: the page regions (start, end, categories).
    public func pagemapScan(start: UInt64, end: UInt64, flags: UInt64, inverted: UInt64, mask: UInt64, anyof: UInt64,
                            returnMask: UInt64, maxPages: UInt64) throws(LiveError) -> Result<[(UInt64, UInt64, UInt64)], SyscallError> {
        let masks = (inverted & 0xffff) | (mask & 0xffff) << 16 | (anyof & 0xffff) << 32 | (returnMask & 0xffff) << 48
        let r = try callData(MML_OP_PAGEMAP_SCAN, [start, end, flags, masks, maxPages], capacity: Int(MML_SCAN_MAX_REGIONS) * 24)
        if r.reply.ret < 0 { return .failure(SyscallError(errno: r.reply.err)) }
        let n = Int(r.reply.ret)
        guard r.data.count == n * 24 else { throw LiveError("the worker for \(name) sent \(r.data.count) bytes for \(n) page regions") }
        var out: [(UInt64, UInt64, UInt64)] = []
        for i in 0..<n {
            func word(_ k: Int) -> UInt64 {
                var v: UInt64 = 0
                for b in 0..<8 { v |= UInt64(r.data[i * 24 + k * 8 + b]) << (8 * UInt64(b)) }
                return v
            }
            out.append((word(0), word(1), word(2)))
        }
        return .success(out)
    }

    /// A worker forked by a fork job of this one, from its pid and channel.
    func adoptChild(pid: Int32, socket: Int32, name childName: String) -> LiveWorker {
        LiveWorker(pid: pid, name: childName, socket: socket, isDirectChild: false)
    }

    /// Ends the worker: asks it to exit, waits (bounded), kills it if it has to. Returns a
    /// problem for people when it did not end by itself, else nil.
    @discardableResult
    public func end() -> String? {
        var problem: String? = nil
        if alive {
            var rq = mml_request()
            rq.op = MML_OP_EXIT.rawValue
            var rp = mml_reply()
            if mml_call(socket, &rq, -1, &rp, nil, 5_000) != 0 {
                problem = "the worker for \(name) (pid \(pid)) did not acknowledge its exit"
            }
            alive = false
        }
        let gone = mml_wait_gone(pid, 5_000)
        if gone == 1 && problem == nil { problem = "the worker for \(name) (pid \(pid)) had to be killed" }
        if gone < 0 { problem = "the worker for \(name) (pid \(pid)) survived SIGKILL" }
        mml_close(socket)
        mml_host_forget_worker(pid)
        return problem
    }

    deinit {
        if alive { _ = end() }
    }
}

#if canImport(Glibc)
import Glibc
let ETIMEDOUT_: Int32 = ETIMEDOUT
#elseif canImport(Darwin)
import Darwin
let ETIMEDOUT_: Int32 = ETIMEDOUT
#endif

/// "EINVAL (22)" for an errno value.
func errnoName(_ e: Int32) -> String {
    let name = String(cString: strerror(e))
    return "errno \(e): \(name)"
}
