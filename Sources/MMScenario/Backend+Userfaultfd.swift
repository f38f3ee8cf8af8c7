// SPDX-License-Identifier: Apache-2.0
//
// The blocking and userfaultfd part of a backend: system calls that may sleep until a
// userfaultfd reader acts, accesses that sleep in handle_userfault(), and the uffd ioctls.
// A backend that does not implement them says so (`supportsUserfaultfd == false`), and the
// defaults below run the plain calls and refuse the rest with ENOSYS.

import MMLab

/// A userfaultfd in a backend.


/// What a backend needs beyond the plain calls to run userfaultfd scenarios. Every
/// `ScenarioBackend` has these (see the defaults below); a backend overrides what it supports.
public protocol BlockingBackendRequirements {
    /// Whether userfaultfd statements can run on this backend.
    var supportsUserfaultfd: Bool { get }
    /// Starts a system call that may sleep waiting for a userfaultfd reader.
    mutating func start(_ call: Syscall) -> SyscallProgress
    /// Continues a system call once its waiter was woken.
    mutating func resume(_ state: SyscallState) -> SyscallProgress
    /// Whether a sleeping access or system call was woken.
    func isWoken(_ w: WaitID) -> Bool

    mutating func uffdCreate(_ p: ProcessHandle, features: UffdFeatures) -> Result<UffdHandle, Errno>
    mutating func uffdRegister(_ u: UffdHandle, address: UInt64, length: UInt64, mode: UffdRegisterMode) -> Errno?
    mutating func uffdUnregister(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno?
    mutating func uffdWriteProtect(_ u: UffdHandle, address: UInt64, length: UInt64, protect: Bool, dontwake: Bool) -> Errno?
    mutating func uffdMfill(_ u: UffdHandle, address: UInt64, length: UInt64, mode: MfillMode, wp: Bool, dontwake: Bool) -> Errno?
    mutating func uffdWake(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno?
    /// A non-blocking read(2) of one message.
    mutating func uffdRead(_ u: UffdHandle) -> UffdMessage?
    /// Writes /sys/kernel/mm/ksm/run.
    mutating func ksmRun() -> Errno?
    /// Waits for `n` more full scans of ksmd.
    mutating func ksmScan(_ n: Int) -> Errno?
    /// Writes /sys/kernel/mm/ksm/use_zero_pages.
    mutating func ksmSetUseZeroPages(_ on: Bool) -> Errno?
    /// Writes /sys/kernel/mm/ksm/max_page_sharing.
    mutating func ksmSetMaxPageSharing(_ n: Int) -> Errno?
    /// The /sys/kernel/mm/ksm counters by name.
    mutating func ksmCounters() -> [(String, Int64)]
    /// exit(2) of a process: its address space is torn down.
    mutating func exitProcess(_ p: ProcessHandle) -> Errno?
    /// PAGEMAP_SCAN over [start, end) of a process.
    mutating func pagemapScan(_ p: ProcessHandle, _ args: PagemapScanArgs) -> Result<[PageRegion], Errno>
}

extension ScenarioBackend {
    public var supportsUserfaultfd: Bool { false }
    public mutating func start(_ call: Syscall) -> SyscallProgress {
        switch call {
        case .madvise(let p, let a, let l, let advice):
            return .finished(madvise(p, address: a, length: l, advice: advice).map { .errno($0) } ?? .ok)
        case .munmap(let p, let a, let l):
            return .finished(munmap(p, address: a, length: l).map { .errno($0) } ?? .ok)
        case .fork(let p, let name):
            switch fork(p, childName: name) {
            case .success(let c): return .finished(.forked(c))
            case .failure(let e): return .finished(.errno(e))
            }
        }
    }
    public mutating func resume(_ state: SyscallState) -> SyscallProgress { .finished(.errno(.ENOSYS)) }
    public func isWoken(_ w: WaitID) -> Bool { false }
    public mutating func uffdCreate(_ p: ProcessHandle, features: UffdFeatures) -> Result<UffdHandle, Errno> { .failure(.ENOSYS) }
    public mutating func uffdRegister(_ u: UffdHandle, address: UInt64, length: UInt64, mode: UffdRegisterMode) -> Errno? { .ENOSYS }
    public mutating func uffdUnregister(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno? { .ENOSYS }
    public mutating func uffdWriteProtect(_ u: UffdHandle, address: UInt64, length: UInt64, protect: Bool, dontwake: Bool) -> Errno? { .ENOSYS }
    public mutating func uffdMfill(_ u: UffdHandle, address: UInt64, length: UInt64, mode: MfillMode, wp: Bool, dontwake: Bool) -> Errno? { .ENOSYS }
    public mutating func uffdWake(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno? { .ENOSYS }
    public mutating func uffdRead(_ u: UffdHandle) -> UffdMessage? { nil }
    public mutating func exitProcess(_ p: ProcessHandle) -> Errno? { .ENOSYS }
    public mutating func ksmRun() -> Errno? { .ENOSYS }
    public mutating func ksmScan(_ n: Int) -> Errno? { .ENOSYS }
    public mutating func ksmSetUseZeroPages(_ on: Bool) -> Errno? { .ENOSYS }
    public mutating func ksmSetMaxPageSharing(_ n: Int) -> Errno? { .ENOSYS }
    public mutating func ksmCounters() -> [(String, Int64)] { [] }
    public mutating func pagemapScan(_ p: ProcessHandle, _ args: PagemapScanArgs) -> Result<[PageRegion], Errno> { .failure(.ENOSYS) }
}

extension ModelBackend {
    public var supportsUserfaultfd: Bool { true }
    public mutating func start(_ call: Syscall) -> SyscallProgress { kernel.start(call) }
    public mutating func resume(_ state: SyscallState) -> SyscallProgress { kernel.resume(state) }
    public func isWoken(_ w: WaitID) -> Bool { kernel.isWoken(w) }

    public mutating func uffdCreate(_ p: ProcessHandle, features: UffdFeatures) -> Result<UffdHandle, Errno> {
        let u = kernel.userfaultfdCreate(p)
        if let e = kernel.uffdAPI(u, features: features) { return .failure(e) }
        return .success(u)
    }
    public mutating func uffdRegister(_ u: UffdHandle, address: UInt64, length: UInt64, mode: UffdRegisterMode) -> Errno? {
        kernel.uffdRegister(u, start: address, length: length, mode: mode)
    }
    public mutating func uffdUnregister(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno? {
        kernel.uffdUnregister(u, start: address, length: length)
    }
    public mutating func uffdWriteProtect(_ u: UffdHandle, address: UInt64, length: UInt64, protect: Bool, dontwake: Bool) -> Errno? {
        kernel.uffdWriteProtect(u, start: address, length: length, protect: protect, dontwake: dontwake)
    }
    public mutating func uffdMfill(_ u: UffdHandle, address: UInt64, length: UInt64, mode: MfillMode, wp: Bool, dontwake: Bool) -> Errno? {
        kernel.uffdMfill(u, start: address, length: length, mode: mode, wp: wp, dontwake: dontwake)
    }
    public mutating func uffdWake(_ u: UffdHandle, address: UInt64, length: UInt64) -> Errno? {
        kernel.uffdWake(u, start: address, length: length)
    }
    public mutating func uffdRead(_ u: UffdHandle) -> UffdMessage? { kernel.uffdRead(u) }
    public mutating func exitProcess(_ p: ProcessHandle) -> Errno? {
        kernel.exitMM(p)
        return nil
    }
    public mutating func ksmRun() -> Errno? {
        kernel.ksmSetRun(true)
        return nil
    }
    public mutating func ksmScan(_ n: Int) -> Errno? {
        kernel.ksmScan(n)
        return nil
    }
    public mutating func ksmSetUseZeroPages(_ on: Bool) -> Errno? {
        kernel.ksmSetUseZeroPages(on)
        return nil
    }
    public mutating func ksmSetMaxPageSharing(_ n: Int) -> Errno? {
        kernel.ksmSetMaxPageSharing(n)
    }
    public mutating func ksmCounters() -> [(String, Int64)] { kernel.ksmCounters }
    public mutating func pagemapScan(_ p: ProcessHandle, _ args: PagemapScanArgs) -> Result<[PageRegion], Errno> {
        kernel.pagemapScan(p, args)
    }
}
