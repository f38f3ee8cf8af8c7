// SPDX-License-Identifier: Apache-2.0
//
// What a scenario runs on: the model (ModelBackend, here) or the running kernel (the live
// backend, a separate target). Both speak in system calls and memory accesses and return
// raw pagemap words; the runner normalises frames and swap slots into identities.

import MMLab

/// A process in a backend.

/// A file (memfd) in a backend.


/// The operations a scenario performs, as system calls and memory accesses.
public protocol ScenarioBackend: BlockingBackendRequirements {
    /// A short name for reports ("model", "linux 6.18.x").
    var name: String { get }
    /// The initial process.
    var mainProcess: ProcessHandle { get }
    /// The PFN pagemap shows for the shared zero page, if known.
    var zeroPFN: UInt64? { get }

    mutating func swapon(bytes: UInt64) -> Errno?
    mutating func memfdCreate(name: String, bytes: UInt64) -> Result<ObjectHandle, Errno>
    /// KVM_CREATE_GUEST_MEMFD of `bytes` with GUEST_MEMFD_FLAG_* `flags` (default: ENOSYS; Backend+GuestMemfd.swift).
    mutating func guestMemfdCreate(name: String, bytes: UInt64, flags: GuestMemfdFlags) -> Result<ObjectHandle, Errno>
    /// pread(2) of 8 bytes at `offset` of a file: the token there (default: ENOSYS; Backend+GuestMemfd.swift).
    mutating func filePread(_ object: ObjectHandle, offset: UInt64) -> Result<UInt64, Errno>
    /// Creates a device-dax instance of `bytes` with alignment `align`.
    mutating func daxCreate(name: String, bytes: UInt64, align: UInt64) -> Result<ObjectHandle, Errno>
    /// The bytes of struct page the memory costs, per kind (for `--stats`).
    var metadataBytes: [(String, Int)] { get }
    mutating func mmap(_ p: ProcessHandle, length: UInt64, prot: Prot, shared: Bool,
                       object: ObjectHandle?, offset: UInt64, align: UInt64) -> Result<UInt64, Errno>
    mutating func munmap(_ p: ProcessHandle, address: UInt64, length: UInt64) -> Errno?
    mutating func mprotect(_ p: ProcessHandle, address: UInt64, length: UInt64, prot: Prot) -> Errno?
    mutating func madvise(_ p: ProcessHandle, address: UInt64, length: UInt64, advice: Advice) -> Errno?
    mutating func punchHole(_ object: ObjectHandle, offset: UInt64, length: UInt64) -> Errno?
    /// madvise(MADV_HWPOISON) of the range in the process (the `poison` statement): madvise's
    /// errno, and the SIGBUS it queued for the caller (delivered as the call returns).
    mutating func madviseHWPoison(_ p: ProcessHandle, address: UInt64, length: UInt64) -> HWPoisonResult
    mutating func fork(_ p: ProcessHandle, childName: String) -> Result<ProcessHandle, Errno>
    /// A load (`store == nil`) or a store of a token filling the page.
    mutating func access(_ p: ProcessHandle, address: UInt64, store: UInt64?) -> AccessResult
    /// The raw pagemap word of one page, read as root.
    mutating func pagemap(_ p: ProcessHandle, address: UInt64) -> UInt64
    mutating func clearRefs(_ p: ProcessHandle, value: Int) -> Errno?
    /// prctl(PR_SET_MEMORY_MERGE, on) in the process.
    mutating func prctlSetMemoryMerge(_ p: ProcessHandle, _ on: Bool) -> Errno?
    /// Ends every process and closes every file; returns what leaked or broke, if anything.
    mutating func finish() -> [String]
    /// Problems found so far by the backend's own checks (the model's invariants).
    var violations: [String] { get }
    /// Deterministic cost counters, when the backend has them.
    var costs: Costs? { get }
}

/// The model as a backend.
public struct ModelBackend: ScenarioBackend {
    public var kernel: Kernel
    public let mainProcess: ProcessHandle
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

    public mutating func swapon(bytes: UInt64) -> Errno? { kernel.swapon(bytes: bytes) }
    public mutating func memfdCreate(name: String, bytes: UInt64) -> Result<ObjectHandle, Errno> {
        let r = kernel.memfdCreate(name: name, bytes: bytes)
        if case .success(let h) = r { files.append(h) }
        return r
    }
    public mutating func mmap(_ p: ProcessHandle, length: UInt64, prot: Prot, shared: Bool,
                              object: ObjectHandle?, offset: UInt64, align: UInt64) -> Result<UInt64, Errno> {
        kernel.mmap(p, length: length, prot: prot, shared: shared,
                    target: object.map { .file($0) } ?? .anon, offset: offset, align: align)
    }
    public mutating func munmap(_ p: ProcessHandle, address: UInt64, length: UInt64) -> Errno? {
        kernel.munmap(p, start: address, length: length)
    }
    public mutating func mprotect(_ p: ProcessHandle, address: UInt64, length: UInt64, prot: Prot) -> Errno? {
        kernel.mprotect(p, start: address, length: length, prot: prot)
    }
    public mutating func madvise(_ p: ProcessHandle, address: UInt64, length: UInt64, advice: Advice) -> Errno? {
        kernel.madvise(p, start: address, length: length, advice: advice)
    }
    public mutating func punchHole(_ object: ObjectHandle, offset: UInt64, length: UInt64) -> Errno? {
        kernel.fallocatePunchHole(object, offset: offset, length: length)
    }
    public mutating func madviseHWPoison(_ p: ProcessHandle, address: UInt64, length: UInt64) -> HWPoisonResult {
        kernel.madviseHWPoison(p, start: address, length: length)
    }
    public mutating func fork(_ p: ProcessHandle, childName: String) -> Result<ProcessHandle, Errno> {
        .success(kernel.fork(p, childName: childName))
    }
    public mutating func access(_ p: ProcessHandle, address: UInt64, store: UInt64?) -> AccessResult {
        kernel.access(p, address, store: store)
    }
    public mutating func pagemap(_ p: ProcessHandle, address: UInt64) -> UInt64 {
        kernel.pagemapReadCounted(p, address)
    }
    public mutating func clearRefs(_ p: ProcessHandle, value: Int) -> Errno? { kernel.clearRefs(p, value) }
    public mutating func prctlSetMemoryMerge(_ p: ProcessHandle, _ on: Bool) -> Errno? {
        kernel.prctlSetMemoryMerge(p, on)
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
