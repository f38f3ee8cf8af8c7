// SPDX-License-Identifier: Apache-2.0
//
// What a scenario asks of a kernel: one system call, ioctl, sysfs access or user memory
// access, with handles in place of file descriptors and pids. Both backends take these (the
// model steps them, the live backend makes the real call) and answer with a CallResult.

/// A process in a backend.
public typealias ProcessHandle = Int32
/// A file (memfd, guest_memfd, device-dax) in a backend.
public typealias ObjectHandle = Int32
/// A userfaultfd in a backend.
public typealias UffdHandle = Int32

/// One operation a statement starts.
public enum SystemCall: Hashable, Sendable {
    /// swapon(2) of a new swap file of `bytes`.
    case swapon(bytes: UInt64)
    /// memfd_create(2) + ftruncate(2).
    case memfdCreate(name: String, bytes: UInt64)
    /// KVM_CREATE_GUEST_MEMFD on a default VM.
    case guestMemfdCreate(name: String, bytes: UInt64, flags: GuestMemfdFlags)
    /// A device-dax instance (/dev/daxX.Y) of `bytes` with alignment `align`.
    case daxCreate(name: String, bytes: UInt64, align: UInt64)
    /// mmap(2): anonymous (`object == nil`) or of a file at `offset`, on an `align` boundary.
    case mmap(ProcessHandle, length: UInt64, prot: Prot, shared: Bool, object: ObjectHandle?, offset: UInt64, align: UInt64)
    case munmap(ProcessHandle, address: UInt64, length: UInt64)
    case mprotect(ProcessHandle, address: UInt64, length: UInt64, prot: Prot)
    case madvise(ProcessHandle, address: UInt64, length: UInt64, advice: Advice)
    /// madvise(MADV_HWPOISON) (the `poison` statement).
    case madviseHWPoison(ProcessHandle, address: UInt64, length: UInt64)
    /// fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE).
    case punchHole(ObjectHandle, offset: UInt64, length: UInt64)
    /// pread(2) of 8 bytes (one token) at `offset`.
    case pread(ObjectHandle, offset: UInt64)
    /// pwrite(2) of one page (4096 bytes, every 64-bit word the token) at `offset`; the
    /// result is the number of bytes written (`.value`).
    case pwrite(ObjectHandle, offset: UInt64, token: UInt64)
    case fork(ProcessHandle, childName: String)
    case exit(ProcessHandle)
    /// A user load (`store == nil`) or a store of a token filling the page.
    case access(ProcessHandle, address: UInt64, store: UInt64?)
    /// One word of /proc/PID/pagemap, read as root.
    case pagemapRead(ProcessHandle, address: UInt64)
    /// A write of `value` to /proc/PID/clear_refs.
    case clearRefs(ProcessHandle, value: Int)
    /// prctl(PR_SET_MEMORY_MERGE, on).
    case prctlSetMemoryMerge(ProcessHandle, on: Bool)
    /// userfaultfd(2) + UFFDIO_API with `features`.
    case uffdCreate(ProcessHandle, features: UffdFeatures)
    case uffdRegister(UffdHandle, address: UInt64, length: UInt64, mode: UffdRegisterMode)
    case uffdUnregister(UffdHandle, address: UInt64, length: UInt64)
    case uffdWriteProtect(UffdHandle, address: UInt64, length: UInt64, protect: Bool, dontwake: Bool)
    /// UFFDIO_COPY, ZEROPAGE, CONTINUE or POISON.
    case uffdMfill(UffdHandle, address: UInt64, length: UInt64, mode: MfillMode, wp: Bool, dontwake: Bool)
    case uffdWake(UffdHandle, address: UInt64, length: UInt64)
    /// A non-blocking read(2) of one message.
    case uffdRead(UffdHandle)
    /// The PAGEMAP_SCAN ioctl on /proc/PID/pagemap.
    indirect case pagemapScan(ProcessHandle, PagemapScanArgs)
    /// `1` to /sys/kernel/mm/ksm/run.
    case ksmRun
    /// Wait for `n` more full scans of ksmd.
    case ksmScan(Int)
    /// /sys/kernel/mm/ksm/use_zero_pages.
    case ksmSetUseZeroPages(Bool)
    /// /sys/kernel/mm/ksm/max_page_sharing.
    case ksmSetMaxPageSharing(Int)
    /// The counters of /sys/kernel/mm/ksm.
    case ksmCounters
    /// A long-term GUP pin of [address, address + length): pin_user_pages(FOLL_WRITE |
    /// FOLL_LONGTERM), as io_uring's IORING_REGISTER_BUFFERS takes it; every page or none.
    /// Returns the pin's handle. `exclusive`: FOLL_EXCLUSIVE (design gup.exclusive = on only).
    case pin(ProcessHandle, address: UInt64, length: UInt64, exclusive: Bool)
    /// Releases a pin (IORING_UNREGISTER_BUFFERS and the ring's close).
    case unpin(ProcessHandle, pin: Int32)
    /// The guest_memfd conversion ioctl of the in-place conversion series
    /// (KVM_SET_MEMORY_ATTRIBUTES2) over [offset, offset + length) of a file: to private or
    /// shared.
    case gmemConvert(ObjectHandle, offset: UInt64, length: UInt64, toPrivate: Bool)
}

/// A KSM counter and its value.
public struct KSMCounterValue: Hashable, Sendable {
    public var name: String
    public var value: Int64
    public init(_ name: String, _ value: Int64) {
        self.name = name
        self.value = value
    }
}

/// What a finished call returned.
public enum CallResult: Hashable, Sendable {
    /// Success with nothing to report.
    case ok
    case errno(Errno)
    /// A number: the token a load or pread read, the bytes pwrite wrote, a pagemap word, the
    /// address mmap chose.
    case value(UInt64)
    /// A new process, file or userfaultfd.
    case handle(Int32)
    /// A memory access raised this signal.
    case signal(SignalInfo)
    /// read(2) of a userfaultfd: the message, or nil when none was queued.
    indirect case message(UffdMessage?)
    /// PAGEMAP_SCAN's regions.
    case regions([PageRegion])
    /// The KSM counters.
    case counters([KSMCounterValue])
    /// madvise(MADV_HWPOISON): its error and the signal it queued.
    indirect case hwpoison(HWPoisonResult)
    /// The backend could not complete the call (a bug in the model, a broken worker).
    case backendError(String)
    /// The guest_memfd conversion ioctl failed with this error at this file offset
    /// (struct kvm_memory_attributes2's error_offset, design guest_memfd.conversion = in_place).
    case conversionFailed(Errno, errorOffset: UInt64)

    /// The error, if the call failed with one.
    public var errno: Errno? {
        switch self {
        case .errno(let e), .conversionFailed(let e, _): return e
        default: return nil
        }
    }
}

/// Why a call sleeps.
public enum BlockReason: Hashable, Sendable {
    /// In handle_userfault() on a fault at this address (nil: the backend does not know it).
    case userfault(address: UInt64?)
    /// In userfaultfd_event_wait_completion(), until a reader reads its event.
    case event
}

/// How far a call got: finished, asleep in the kernel, or stopped at a lock boundary.
public enum CallProgress<Pending> {
    case finished(CallResult)
    /// Asleep until something wakes it; resume it then.
    case blocked(Pending, BlockReason)
    /// Between two steps at a lock boundary (only when stepping); resume it to go on.
    case preempted(Pending)
}
