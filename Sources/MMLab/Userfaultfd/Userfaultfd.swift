// SPDX-License-Identifier: Apache-2.0
//
// userfaultfd (fs/userfaultfd.c, mm/userfaultfd.c, include/uapi/linux/userfaultfd.h): the
// context, its features, message queue and waiters, and handle_userfault().

extension UffdRegisterMode {
    /// The VM_UFFD_* flags a registration in these modes sets.
    var vmFlags: VMFlags {
        var f: VMFlags = []
        if contains(.missing) { f.insert(.uffdMissing) }
        if contains(.wp) { f.insert(.uffdWP) }
        if contains(.minor) { f.insert(.uffdMinor) }
        return f
    }
}

/// A message queued on a userfaultfd, with the task a synchronous event releases when it is
/// read (the model's bookkeeping, not part of struct uffd_msg).
struct QueuedMessage: Hashable, Sendable {
    var message: UffdMessage
    var waiter: WaitID? = nil
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
    var faultQueue: [QueuedMessage] = []
    /// Non-cooperative events not yet read.
    var eventQueue: [QueuedMessage] = []
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
        uffds[Int(u)].faultQueue.append(QueuedMessage(message: UffdMessage(event: .pagefault, flags: flags, address: address), waiter: w))
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
        uffds[Int(u)].eventQueue.append(QueuedMessage(message: msg, waiter: w))
        uffds[Int(u)].mmapChanging += 1
        return w
    }

    /// Models read(2) on a userfaultfd: page faults first, then events. Reading an event
    /// releases the task that waits for it and lowers mmap_changing.
    public mutating func uffdRead(_ u: UffdID) -> UffdMessage? {
        if !uffds[Int(u)].faultQueue.isEmpty { return uffds[Int(u)].faultQueue.removeFirst().message }
        guard !uffds[Int(u)].eventQueue.isEmpty else { return nil }
        let m = uffds[Int(u)].eventQueue.removeFirst()
        if let w = m.waiter { waiters[Int(w)].woken = true }
        uffds[Int(u)].mmapChanging -= 1
        return m.message
    }

    /// The messages that a read would return, in order, without consuming them.
    public func uffdPending(_ u: UffdID) -> [UffdMessage] {
        (uffds[Int(u)].faultQueue + uffds[Int(u)].eventQueue).map(\.message)
    }
}
