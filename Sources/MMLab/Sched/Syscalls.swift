// SPDX-License-Identifier: Apache-2.0
//
// System calls that can sleep in the kernel waiting for a userfaultfd reader: the
// non-cooperative events are synchronous (userfaultfd_event_wait_completion()), so
// MADV_DONTNEED/MADV_REMOVE with UFFD_FEATURE_EVENT_REMOVE, munmap with EVENT_UNMAP and fork
// with EVENT_FORK block until the manager reads the event. A call returns either its result
// or a waiter to resume once the event was read.

/// A system call that may block on a userfaultfd event.
public enum Syscall: Hashable, Sendable {
    case madvise(mm: MMID, start: UInt64, length: UInt64, advice: Advice)
    case munmap(mm: MMID, start: UInt64, length: UInt64)
    case fork(mm: MMID, childName: String)
}

/// What a finished system call returned.
public enum SyscallResult: Hashable, Sendable {
    case ok
    case errno(Errno)
    case forked(MMID)
}

/// A system call in progress.
public struct SyscallState: Hashable, Sendable {
    public let call: Syscall
    /// madvise: the address up to which the walk got, and whether the VMA piece at it was
    /// already announced with a REMOVE event.
    public internal(set) var position: UInt64 = 0
    var announced = false
    var hole = false
    var error: Errno? = nil
    /// munmap / fork: event waiters still to be released, in order.
    var pendingWaiters: [WaitID] = []
    var result: SyscallResult = .ok
    /// Stop at each lock boundary (`explore`): MADV_DONTNEED then zaps one PTE table per
    /// step and returns `.preempted` in between, holding mmap_lock for read.
    public var stepwise = false
}

/// A step of a system call: finished, or asleep until `WaitID` is woken.
public enum SyscallProgress: Hashable, Sendable {
    case finished(SyscallResult)
    case blocked(WaitID, SyscallState)
    /// A stepwise call reached a lock boundary; resume it to go on.
    case preempted(SyscallState)
}

extension Kernel {
    /// Starts a system call; it runs until it finishes or sleeps.
    public mutating func start(_ call: Syscall, stepwise: Bool = false) -> SyscallProgress {
        var st = SyscallState(call: call)
        st.stepwise = stepwise
        switch call {
        case .madvise(_, let start, _, _):
            st.position = start
            return madviseEventsStep(&st)
        case .munmap(let mm, let start, let length):
            // userfaultfd_unmap_prep(): the contexts that want UNMAP events.
            var ctxs: [UffdID] = []
            let end = start &+ ((length &+ pageSize &- 1) & ~(pageSize - 1))
            for vma in mms[Int(mm)].vmas where vma.end > start && vma.start < end {
                if let u = vma.uffd, uffdFeatures(vma).contains(.eventUnmap), !ctxs.contains(u) { ctxs.append(u) }
            }
            if let e = munmap(mm, start: start, length: length) { return .finished(.errno(e)) }
            // userfaultfd_unmap_complete(): one UNMAP event per context, each waited for.
            for u in ctxs {
                st.pendingWaiters.append(queueEvent(u, UffdMessage(event: .unmap, start: start, end: end)))
            }
            return waitForEvents(&st)
        case .fork(let mm, let name):
            let (child, forked) = forkWithUffd(mm, childName: name)
            st.result = .forked(child)
            // dup_userfaultfd_complete(): a FORK event per parent context, each waited for.
            for (parent, childCtx) in forked {
                st.pendingWaiters.append(queueEvent(parent, UffdMessage(event: .fork, forkChild: childCtx)))
            }
            return waitForEvents(&st)
        }
    }

    /// Resumes a system call whose waiter was woken.
    public mutating func resume(_ state: SyscallState) -> SyscallProgress {
        var st = state
        switch st.call {
        case .madvise: return madviseEventsStep(&st)
        case .munmap, .fork: return waitForEvents(&st)
        }
    }

    mutating func waitForEvents(_ st: inout SyscallState) -> SyscallProgress {
        while let w = st.pendingWaiters.first {
            if !isWoken(w) { return .blocked(w, st) }
            st.pendingWaiters.removeFirst()
        }
        return .finished(st.result)
    }

    /// madvise(MADV_DONTNEED / MADV_FREE / MADV_REMOVE) with userfaultfd_remove() before each VMA piece;
    /// MADV_POPULATE_* sleeping on userfaults; any other advice runs straight through madvise(). Stepwise, MADV_DONTNEED zaps one
    /// PTE table per step (zap_pte_range() takes each table's lock in turn) and is preempted
    /// in between.
    mutating func madviseEventsStep(_ st: inout SyscallState) -> SyscallProgress {
        guard case .madvise(let mm, let start, let length, let advice) = st.call else { return .finished(.ok) }
        if advice == .populate_read || advice == .populate_write {
            // madvise_populate(): a fault that traps sleeps until woken, then is retried.
            guard start & (pageSize - 1) == 0 else { return .finished(.errno(.EINVAL)) }
            let end = start &+ ((length &+ pageSize &- 1) & ~(pageSize - 1))
            switch madvisePopulateFrom(Int(mm), &st.position, end, write: advice == .populate_write) {
            case .finished(let e):
                check()
                return .finished(e.map { .errno($0) } ?? .ok)
            case .sleeps(let w):
                return .blocked(w, st)
            }
        }
        guard advice == .dontneed || advice == .remove || advice == .free else {
            return .finished(madvise(mm, start: start, length: length, advice: advice).map { .errno($0) } ?? .ok)
        }
        guard start & (pageSize - 1) == 0 else { return .finished(.errno(.EINVAL)) }
        let m = Int(mm)
        let end = start &+ ((length &+ pageSize &- 1) & ~(pageSize - 1))
        if st.position == start && !st.announced { st.hole = !rangeIsFullyMapped(m, start, end) }
        while st.position < end && st.error == nil {
            guard let v = mms[m].vmas.firstIndex(where: { $0.end > st.position && $0.start < end }) else { break }
            let vma = mms[m].vmas[v]
            let s = max(st.position, vma.start), e = min(end, vma.end)
            if !st.announced, let u = vma.uffd, uffdFeatures(vma).contains(.eventRemove) {
                st.announced = true
                st.position = s
                let w = queueEvent(u, UffdMessage(event: .remove, start: s, end: e))
                return .blocked(w, st)
            }
            if st.stepwise && advice == .dontneed {
                let tableEnd = min(e, (s | (pmdSize - 1)) + 1)
                let name = mms[m].name
                note("madvise_dontneed_single_vma → zap_page_range_single(\(name), 0x\(String(s, radix: 16))..0x\(String(tableEnd, radix: 16)))")
                st.error = madviseVMA(m, v, s, tableEnd, advice)
                st.position = tableEnd
                if tableEnd == e { st.announced = false }
                check()
                if st.error == nil, st.position < end, mms[m].vmas.contains(where: { $0.end > st.position && $0.start < end }) {
                    return .preempted(st)
                }
                continue
            }
            st.error = madviseVMA(m, v, s, e, advice)
            st.announced = false
            st.position = e
        }
        check()
        if let e = st.error { return .finished(.errno(e)) }
        return .finished(st.hole ? .errno(.ENOMEM) : .ok)
    }

    /// The PTEs the next step of a stepwise MADV_DONTNEED zaps, and whether that step first
    /// queues a REMOVE event (nil: nothing left to zap).
    /// `state` is the call in progress (nil: not started yet).
    public func madviseDontneedNextStep(_ call: Syscall, _ state: SyscallState?) -> (mm: MMID, start: UInt64, end: UInt64, announces: Bool)? {
        guard case .madvise(let mm, let start, let length, .dontneed) = call, Int(mm) < mms.count else { return nil }
        let m = Int(mm)
        let end = start &+ ((length &+ pageSize &- 1) & ~(pageSize - 1))
        let from = state?.position ?? start
        guard from < end, let v = mms[m].vmas.firstIndex(where: { $0.end > from && $0.start < end }) else { return nil }
        let vma = mms[m].vmas[v]
        let s = max(from, vma.start), e = min(end, vma.end)
        let announces = !(state?.announced ?? false) && vma.uffd != nil && uffdFeatures(vma).contains(.eventRemove)
        return (mm, s, min(e, (s | (pmdSize - 1)) + 1), announces)
    }
}
