// SPDX-License-Identifier: Apache-2.0
//
// userfaultfd (fs/userfaultfd.c, mm/userfaultfd.c, include/uapi/linux/userfaultfd.h): the
// context, its features, message queue and waiters, and handle_userfault().

/// UFFD_FEATURE_* (include/uapi/linux/userfaultfd.h).
public struct UffdFeatures: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let pagefaultFlagWP = UffdFeatures(rawValue: 1 << 0)
    public static let eventFork = UffdFeatures(rawValue: 1 << 1)
    public static let eventRemap = UffdFeatures(rawValue: 1 << 2)
    public static let eventRemove = UffdFeatures(rawValue: 1 << 3)
    public static let missingHugetlbfs = UffdFeatures(rawValue: 1 << 4)
    public static let missingShmem = UffdFeatures(rawValue: 1 << 5)
    public static let eventUnmap = UffdFeatures(rawValue: 1 << 6)
    public static let sigbus = UffdFeatures(rawValue: 1 << 7)
    public static let threadID = UffdFeatures(rawValue: 1 << 8)
    public static let minorHugetlbfs = UffdFeatures(rawValue: 1 << 9)
    public static let minorShmem = UffdFeatures(rawValue: 1 << 10)
    public static let exactAddress = UffdFeatures(rawValue: 1 << 11)
    public static let wpHugetlbfsShmem = UffdFeatures(rawValue: 1 << 12)
    public static let wpUnpopulated = UffdFeatures(rawValue: 1 << 13)
    public static let poison = UffdFeatures(rawValue: 1 << 14)
    public static let wpAsync = UffdFeatures(rawValue: 1 << 15)
    public static let move = UffdFeatures(rawValue: 1 << 16)

    /// Every feature 6.18 advertises on x86-64 (UFFD_API_FEATURES).
    public static let all = UffdFeatures(rawValue: 0x1ffff)

    /// The scenario language's names: the UFFD_FEATURE_* suffixes in lower case.
    public static let names: [(String, UffdFeatures)] = [
        ("pagefault_flag_wp", .pagefaultFlagWP), ("event_fork", .eventFork), ("event_remap", .eventRemap),
        ("event_remove", .eventRemove), ("missing_hugetlbfs", .missingHugetlbfs), ("missing_shmem", .missingShmem),
        ("event_unmap", .eventUnmap), ("sigbus", .sigbus), ("thread_id", .threadID),
        ("minor_hugetlbfs", .minorHugetlbfs), ("minor_shmem", .minorShmem), ("exact_address", .exactAddress),
        ("wp_hugetlbfs_shmem", .wpHugetlbfsShmem), ("wp_unpopulated", .wpUnpopulated), ("poison", .poison),
        ("wp_async", .wpAsync), ("move", .move),
    ]

    public init?(names list: [String]) {
        var f: UffdFeatures = []
        for n in list {
            guard let v = Self.names.first(where: { $0.0 == n })?.1 else { return nil }
            f.insert(v)
        }
        self = f
    }
}

/// UFFDIO_REGISTER_MODE_*.
public struct UffdRegisterMode: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let missing = UffdRegisterMode(rawValue: 1 << 0)
    public static let wp = UffdRegisterMode(rawValue: 1 << 1)
    public static let minor = UffdRegisterMode(rawValue: 1 << 2)

    var vmFlags: VMFlags {
        var f: VMFlags = []
        if contains(.missing) { f.insert(.uffdMissing) }
        if contains(.wp) { f.insert(.uffdWP) }
        if contains(.minor) { f.insert(.uffdMinor) }
        return f
    }
}

/// UFFD_EVENT_* codes.
public enum UffdEvent: UInt8, Sendable {
    case pagefault = 0x12, fork = 0x13, remap = 0x14, remove = 0x15, unmap = 0x16
}

/// struct uffd_msg, as the model delivers it.
public struct UffdMessage: Hashable, Sendable {
    public var event: UffdEvent
    /// UFFD_PAGEFAULT_FLAG_WRITE 1, _WP 2, _MINOR 4.
    public var flags: UInt64 = 0
    public var address: UInt64 = 0
    /// remove/unmap: [start, end).
    public var start: UInt64 = 0
    public var end: UInt64 = 0
    /// fork: the child's new userfaultfd.
    public var forkChild: UffdID? = nil
    /// The waiter a synchronous event releases when it is read.
    var waiter: WaitID? = nil

    public static let flagWrite: UInt64 = 1 << 0
    public static let flagWP: UInt64 = 1 << 1
    public static let flagMinor: UInt64 = 1 << 2
}

public typealias WaitID = Int32

/// Why a task sleeps (the wait queue it is on).
public enum WaitReason: Hashable, Sendable {
    /// A page fault handed to userfaultfd (fault_pending_wqh / fault_wqh), for `address`.
    case fault(uffd: UffdID, address: UInt64)
    /// A synchronous non-cooperative event not yet read (event_wqh).
    case event(uffd: UffdID)
    /// A shmem fault in a hole being punched (shmem_falloc_waitq).
    case fallocPunch(inode: InodeID)
}

/// One sleeping task.
public struct Waiter: Hashable, Sendable {
    public let id: WaitID
    public let reason: WaitReason
    public internal(set) var woken = false
}

/// struct userfaultfd_ctx.
public struct UserfaultfdCtx: Sendable {
    public let id: UffdID
    public let mm: MMID
    /// Features after UFFDIO_API (nil before it: every other ioctl is EINVAL).
    public internal(set) var features: UffdFeatures?
    /// Messages of page faults not yet read (returned before events).
    var faultQueue: [UffdMessage] = []
    /// Non-cooperative events not yet read.
    var eventQueue: [UffdMessage] = []
    /// ctx->mmap_changing: resolving ioctls return EAGAIN while an event is outstanding.
    public internal(set) var mmapChanging = 0
    public internal(set) var released = false

    public var initialized: Bool { features != nil }
}

/// What handle_userfault() decided.
enum UserfaultOutcome {
    case sigbus
    case blocked(WaitID)
}

extension Kernel {
    /// Models userfaultfd(2) / USERFAULTFD_IOC_NEW: a new context bound to `mm`.
    public mutating func userfaultfdCreate(_ mm: MMID) -> UffdID {
        let id = UffdID(uffds.count)
        uffds.append(UserfaultfdCtx(id: id, mm: mm))
        return id
    }

    /// Models UFFDIO_API: latch the features (WP_ASYNC implies WP_UNPOPULATED).
    public mutating func uffdAPI(_ u: UffdID, features requested: UffdFeatures) -> Errno? {
        guard !uffds[Int(u)].initialized else { return .EINVAL }   // features latch once
        guard UffdFeatures.all.contains(requested) else { return .EINVAL }
        var f = requested
        if f.contains(.wpAsync) { f.insert(.wpUnpopulated) }
        uffds[Int(u)].features = f
        return nil
    }

    /// The context of a VMA, if registered.
    func uffdFeatures(_ vma: VMA) -> UffdFeatures {
        guard let u = vma.uffd else { return [] }
        return uffds[Int(u)].features ?? []
    }

    /// Models userfaultfd_wp_async().
    func uffdWPAsync(_ vma: VMA) -> Bool { uffdFeatures(vma).contains(.wpAsync) }

    /// Models userfaultfd_wp_use_markers(): file-backed VMAs, or anon with WP_UNPOPULATED.
    func uffdWPUseMarkers(_ vma: VMA) -> Bool {
        guard vma.flags.contains(.uffdWP) else { return false }
        return !vma.isAnonymous || uffdFeatures(vma).contains(.wpUnpopulated)
    }

    /// Models handle_userfault(): queue a page-fault message and put the faulting task to
    /// sleep until a resolving ioctl or UFFDIO_WAKE wakes it; or SIGBUS with the feature.
    mutating func handleUserfault(_ vma: VMA, address: UInt64, write: Bool, reason: VMFlags) -> UserfaultOutcome {
        guard let u = vma.uffd, !uffds[Int(u)].released else { return .sigbus }
        let features = uffds[Int(u)].features ?? []
        if features.contains(.sigbus) { return .sigbus }
        var flags: UInt64 = write ? UffdMessage.flagWrite : 0
        if reason == .uffdWP { flags |= UffdMessage.flagWP }
        if reason == .uffdMinor { flags |= UffdMessage.flagMinor }
        let w = addWaiter(.fault(uffd: u, address: address))
        uffds[Int(u)].faultQueue.append(UffdMessage(event: .pagefault, flags: flags, address: address, waiter: w))
        return .blocked(w)
    }

    mutating func addWaiter(_ reason: WaitReason) -> WaitID {
        let id = WaitID(waiters.count)
        waiters.append(Waiter(id: id, reason: reason))
        return id
    }

    /// Withdraws a userfault whose task will not sleep after all (its message is dropped).
    mutating func cancelUserfault(_ w: WaitID) {
        waiters[Int(w)].woken = true
        guard case .fault(let u, _) = waiters[Int(w)].reason else { return }
        uffds[Int(u)].faultQueue.removeAll { $0.waiter == w }
    }

    /// Whether a sleeping task was woken.
    public func isWoken(_ w: WaitID) -> Bool { Int(w) < waiters.count && waiters[Int(w)].woken }

    /// Models wake_userfault() / __wake_userfault(): wake fault waiters of `u` in [start, end).
    /// The message lives in the waiter (uwq->msg): a woken fault that nobody read yet
    /// disappears from the queue, and its retry queues a fresh one.
    mutating func wakeUserfault(_ u: UffdID, _ start: UInt64, _ end: UInt64) {
        var woken: [WaitID] = []
        for i in waiters.indices where !waiters[i].woken {
            if case .fault(let wu, let a) = waiters[i].reason, wu == u, a >= start, a < end {
                waiters[i].woken = true
                woken.append(waiters[i].id)
            }
        }
        if !woken.isEmpty {
            uffds[Int(u)].faultQueue.removeAll { m in m.waiter.map { woken.contains($0) } ?? false }
        }
    }

    /// Models a non-cooperative event (userfaultfd_event_wait_completion()): queue it, raise
    /// mmap_changing, and return the waiter that sleeps until the event is read.
    mutating func queueEvent(_ u: UffdID, _ msg: UffdMessage) -> WaitID {
        let w = addWaiter(.event(uffd: u))
        var m = msg
        m.waiter = w
        uffds[Int(u)].eventQueue.append(m)
        uffds[Int(u)].mmapChanging += 1
        return w
    }

    /// Models read(2) on a userfaultfd: page faults first, then events. Reading an event
    /// releases the task that waits for it and lowers mmap_changing.
    public mutating func uffdRead(_ u: UffdID) -> UffdMessage? {
        if !uffds[Int(u)].faultQueue.isEmpty { return uffds[Int(u)].faultQueue.removeFirst() }
        guard !uffds[Int(u)].eventQueue.isEmpty else { return nil }
        let m = uffds[Int(u)].eventQueue.removeFirst()
        if let w = m.waiter { waiters[Int(w)].woken = true }
        uffds[Int(u)].mmapChanging -= 1
        return m
    }

    /// The messages that a read would return, in order, without consuming them.
    public func uffdPending(_ u: UffdID) -> [UffdMessage] {
        uffds[Int(u)].faultQueue + uffds[Int(u)].eventQueue
    }
}
