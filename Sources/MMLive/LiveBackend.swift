// SPDX-License-Identifier: Apache-2.0
//
// The running kernel as a ScenarioBackend. The controller (this process) never touches the
// scenario's memory: `main` is a forked worker pinned to CPU 0, and each scenario `fork`
// makes a worker fork. memfds are created by the controller (file operations only) and
// passed to workers as file descriptors. Pagemap words are each worker's own
// /proc/self/pagemap, read as root (with PFNs); the runner turns them into identities.

import CMMLinux
import MMLab
import MMScenario
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The running kernel, driven through worker processes.
public final class LiveBackend: ScenarioBackend {
    public let name: String
    public let mainProcess: ProcessHandle = 0
    public let zeroPFN: UInt64?
    /// Whether the kernel reports soft-dirty (CONFIG_MEM_SOFT_DIRTY), found by probing.
    public let softDirty: Bool
    /// Workers by process handle.
    var workers: [LiveWorker]
    /// memfd file descriptors by object handle (held by the controller).
    var files: [Int32] = []
    /// The KVM VM (type 0) guest_memfds are created on, opened by the first one; -1: none.
    var vmFd: Int32 = -1
    let host: HostSetup?
    /// What went wrong with the workers or the host (not with the scenario).
    public internal(set) var problems: [String] = []
    private var finished = false

    /// Once a userfaultfd exists, accesses and the system calls that may wait for a
    /// userfaultfd reader run as jobs on the workers' job threads (they may sleep).
    var jobs = false
    /// userfaultfds by handle: the worker (process handle) whose fd table holds it, and the fd.
    var uffdTable: [(worker: ProcessHandle, fd: Int32)] = []
    /// Jobs asleep in the kernel, by the number of the pending call the runner holds.
    var waits: [Int32: LiveWait] = [:]
    var nextWait: Int32 = 1
    /// ksmd as the run drives it (LiveBackend+KSM.swift).
    var ksm = LiveKSM()

    /// The CPU every worker runs on: MADV_PAGEOUT skips folios still in another CPU's LRU
    /// batch, so all faults and all madvise calls happen on one CPU.
    public static let cpu: Int32 = 0

    /// Starts `main` and probes the kernel (zero page, soft-dirty). `host` receives `swap`
    /// statements; without one (unit tests) `swap` fails with EPERM.
    public init(host: HostSetup?, pinned: Bool = true) throws(LiveError) {
        self.host = host
        var release = [CChar](repeating: 0, count: 128)
        mml_kernel_release(&release, Int32(release.count))
        name = "linux " + String(decoding: release.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let main = try LiveWorker.spawn(name: "main", cpu: pinned ? LiveBackend.cpu : nil)
        workers = [main]
        switch try main.probe() {
        case .success(let (zeroWord, writtenWord)):
            // Unprivileged readers see PFN 0; then the zero page cannot be told apart.
            let pfn = zeroWord & PM.pframeMask
            zeroPFN = zeroWord & PM.present != 0 && pfn != 0 ? pfn : nil
            softDirty = writtenWord & PM.softDirty != 0
        case .failure(let e):
            _ = main.end()
            throw LiveError("the start-up probe (zero page, soft-dirty) failed: \(errnoName(e.errno))")
        }
    }

    public var violations: [String] { problems }
    public var costs: Costs? { nil }

    /// The kernel's errno as the model's Errno; one the model does not name is a problem.
    func errno(_ e: SyscallError) -> Errno {
        if let known = Errno(rawValue: e.errno) { return known }
        problems.append("the kernel returned \(errnoName(e.errno)), which the model's Errno does not name (shown as EIO)")
        return .EIO
    }

    func outcome(_ r: Result<Void, SyscallError>) -> Errno? {
        if case .failure(let e) = r { return errno(e) }
        return nil
    }

    /// A failure of the machinery (not of the scenario): recorded as a problem; the
    /// operation reports EIO so that the run shows it failed.
    func broken(_ e: LiveError) -> Errno {
        problems.append(e.message)
        return .EIO
    }

    func worker(_ p: ProcessHandle) -> LiveWorker? {
        Int(p) < workers.count && p >= 0 ? workers[Int(p)] : nil
    }

    func swapon(bytes: UInt64) -> Errno? {
        guard let host else { return .EPERM }
        guard let e = host.swapon(bytes: bytes) else { return nil }
        return errno(SyscallError(errno: e))
    }

    func memfdCreate(name: String, bytes: UInt64) -> Result<ObjectHandle, Errno> {
        let fd = mml_memfd("mmlab:" + name, bytes)
        if fd < 0 { return .failure(errno(SyscallError(errno: -fd))) }
        files.append(fd)
        return .success(ObjectHandle(files.count - 1))
    }

    static func prot(_ p: Prot) -> LiveProt {
        switch p {
        case .none: .none
        case .r: .r
        case .rw: .rw
        }
    }

    func mmap(_ p: ProcessHandle, length: UInt64, prot: Prot, shared: Bool,
                     object: ObjectHandle?, offset: UInt64, align: UInt64) -> Result<UInt64, Errno> {
        guard let w = worker(p) else { return .failure(.ESRCH) }
        var fd: Int32? = nil
        if let object {
            guard Int(object) < files.count, object >= 0 else { return .failure(.EBADF) }
            fd = files[Int(object)]
        }
        do {
            return try w.mmap(length: length, prot: LiveBackend.prot(prot), shared: shared, fd: fd,
                              offset: offset, align: align).mapError { errno($0) }
        } catch {
            return .failure(broken(error))
        }
    }

    func munmap(_ p: ProcessHandle, address: UInt64, length: UInt64) -> Errno? {
        guard let w = worker(p) else { return .ESRCH }
        do { return outcome(try w.munmap(address: address, length: length)) } catch { return broken(error) }
    }

    func mprotect(_ p: ProcessHandle, address: UInt64, length: UInt64, prot: Prot) -> Errno? {
        guard let w = worker(p) else { return .ESRCH }
        do { return outcome(try w.mprotect(address: address, length: length, prot: LiveBackend.prot(prot))) }
        catch { return broken(error) }
    }

    func madvise(_ p: ProcessHandle, address: UInt64, length: UInt64, advice: Advice) -> Errno? {
        guard let w = worker(p) else { return .ESRCH }
        do { return outcome(try w.madvise(address: address, length: length, advice: advice.value)) }
        catch { return broken(error) }
    }

    /// madvise(MADV_HWPOISON) in the worker. The session runs `poison` only for scenarios
    /// without `kconfig MEMORY_FAILURE = y` on a kernel without CONFIG_MEMORY_FAILURE, where the
    /// kernel refuses the advice (EINVAL); a kernel that has it is checked for again here, so
    /// that no host frame is ever poisoned.
    func madviseHWPoison(_ p: ProcessHandle, address: UInt64, length: UInt64) -> HWPoisonResult {
        if LiveSession.kernelHasMemoryFailure() {
            problems.append("refused to call madvise(MADV_HWPOISON): this kernel has CONFIG_MEMORY_FAILURE and would poison host RAM")
            return HWPoisonResult(error: .EIO)
        }
        guard let w = worker(p) else { return HWPoisonResult(error: .ESRCH) }
        do { return HWPoisonResult(error: outcome(try w.madvise(address: address, length: length, advice: Kernel.madvHWPoison))) }
        catch { return HWPoisonResult(error: broken(error)) }
    }

    /// Punches from `main` (a file operation; it runs on the pinned CPU like everything else).
    func punchHole(_ object: ObjectHandle, offset: UInt64, length: UInt64) -> Errno? {
        guard Int(object) < files.count, object >= 0 else { return .EBADF }
        guard let w = workers.first(where: { $0.alive }) else { return .ESRCH }
        do { return outcome(try w.punchHole(fd: files[Int(object)], offset: offset, length: length)) }
        catch { return broken(error) }
    }

    /// pwrite(2) of one page from a worker (a file operation: any process's fd would do).
    func filePwrite(_ object: ObjectHandle, offset: UInt64, token: UInt64) -> Result<UInt64, Errno> {
        guard Int(object) < files.count, object >= 0 else { return .failure(.EBADF) }
        guard let w = workers.first(where: { $0.alive }) else { return .failure(.ESRCH) }
        do {
            switch try w.pwrite(fd: files[Int(object)], offset: offset, token: token) {
            case .success(let n): return .success(n)
            case .failure(let e): return .failure(errno(e))
            }
        } catch {
            return .failure(broken(error))
        }
    }

    func fork(_ p: ProcessHandle, childName: String) -> Result<ProcessHandle, Errno> {
        guard let w = worker(p) else { return .failure(.ESRCH) }
        do {
            switch try w.fork(childName: childName) {
            case .success(let child):
                workers.append(child)
                return .success(ProcessHandle(workers.count - 1))
            case .failure(let e):
                return .failure(errno(e))
            }
        } catch {
            return .failure(broken(error))
        }
    }

    /// The model's SignalInfo for a signal and si_code a worker observed.
    static func signal(_ sig: Int32, code: Int32) -> SignalInfo? {
        var info: SignalInfo
        switch sig {
        case SIGSEGV: info = .segvMapErr
        case SIGBUS: info = .busAdrErr
        default: return nil
        }
        info.code = code
        return info
    }

    /// A load or store in the worker; once a userfaultfd exists, as a job that may sleep.
    public func access(_ p: ProcessHandle, address: UInt64, store: UInt64?) -> CallProgress<LivePendingCall> {
        guard let w = worker(p) else { return .finished(.backendError("no process \(p)")) }
        if jobs { return accessJob(w, p, address: address, store: store) }
        do throws(LiveError) {
            let r: LiveAccess
            if let store { r = try w.store(address, token: store) } else { r = try w.load(address) }
            switch r {
            case .ok(let v): return .finished(.value(v))
            case .signal(let sig, let code):
                guard let info = LiveBackend.signal(sig, code: code) else {
                    return .finished(.backendError("the access raised signal \(sig) (si_code \(code))"))
                }
                return .finished(.signal(info))
            }
        } catch {
            problems.append(error.message)
            return .finished(.backendError(error.message))
        }
    }

    func pagemap(_ p: ProcessHandle, address: UInt64) -> UInt64 {
        guard let w = worker(p) else { return 0 }
        do {
            switch try w.pagemap(address) {
            case .success(let word): return word
            case .failure(let e):
                problems.append("reading /proc/\(w.pid)/pagemap failed: \(errnoName(e.errno))")
                return 0
            }
        } catch {
            problems.append(error.message)
            return 0
        }
    }

    /// A long-term pin in the worker (io_uring fixed buffers): the ring's fd is the handle.
    func pin(_ p: ProcessHandle, address: UInt64, length: UInt64) -> Result<Int32, Errno> {
        guard let w = worker(p) else { return .failure(.ESRCH) }
        do {
            switch try w.pin(address: address, length: length) {
            case .success(let ring): return .success(ring)
            case .failure(let e): return .failure(errno(e))
            }
        } catch {
            return .failure(broken(error))
        }
    }

    func unpin(_ p: ProcessHandle, ring: Int32) -> Errno? {
        guard let w = worker(p) else { return .ESRCH }
        do { return outcome(try w.unpin(ring: ring)) } catch { return broken(error) }
    }

    func clearRefs(_ p: ProcessHandle, value: Int) -> Errno? {
        guard let w = worker(p) else { return .ESRCH }
        do { return outcome(try w.clearRefs(value)) } catch { return broken(error) }
    }

    /// prctl(PR_SET_MEMORY_MERGE) in the worker. It registers the mm with ksmd, so the KSM
    /// knobs are set for the run first, as for `madvise mergeable`.
    func prctlSetMemoryMerge(_ p: ProcessHandle, _ on: Bool) -> Errno? {
        guard let w = worker(p) else { return .ESRCH }
        do {
            try ksmPrepare()
            return outcome(try w.prctl(LiveWorker.prSetMemoryMerge, on ? 1 : 0))
        } catch { return broken(error) }
    }

    /// Ends every worker (children first, bounded waits) and closes every memfd. The host
    /// settings are restored by the session, which owns them.
    public func finish() -> [String] {
        if !finished {
            finished = true
            for w in workers.reversed() {
                if let p = w.end() { problems.append(p) }
            }
            for fd in files { mml_close(fd) }
            files = []
            mml_close(vmFd)   // after the guest_memfds: each pins the VM anyway
            vmFd = -1
        }
        return problems
    }

    deinit { _ = finish() }
}
