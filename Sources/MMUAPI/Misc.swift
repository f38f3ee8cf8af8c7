// SPDX-License-Identifier: Apache-2.0
//
// KVM guest_memfd flags (include/uapi/linux/kvm.h), madvise(MADV_HWPOISON)'s outcome, and the
// KSM counters of /sys/kernel/mm/ksm (Documentation/admin-guide/mm/ksm.rst).

/// GUEST_MEMFD_FLAG_* (include/uapi/linux/kvm.h), with the kernel's values.
public struct GuestMemfdFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// GUEST_MEMFD_FLAG_MMAP: mmap() on the fd is allowed.
    public static let mmap = GuestMemfdFlags(rawValue: 1 << 0)
    /// GUEST_MEMFD_FLAG_INIT_SHARED: memory starts shared, host mappings can fault it in.
    public static let initShared = GuestMemfdFlags(rawValue: 1 << 1)

    /// The scenario language's names (`GUEST_MEMFD_FLAG_*` in lower case).
    public static let names: [(String, GuestMemfdFlags)] = [("mmap", .mmap), ("init_shared", .initShared)]

    /// The flags by their scenario names; nil for an unknown name.
    public init?(names list: [String]) {
        self = []
        for n in list {
            guard let f = Self.names.first(where: { $0.0 == n })?.1 else { return nil }
            insert(f)
        }
    }
}

/// What madvise(MADV_HWPOISON) did (the `poison` statement).
public struct HWPoisonResult: Hashable, Sendable {
    /// madvise()'s error (nil: it returned 0).
    public var error: Errno?
    /// The SIGBUS queued for the calling task, delivered when the call returns (it takes precedence
    /// over the return value for whoever observes the call).
    public var signal: SignalInfo?
    /// The address madvise_inject_error() was at when that signal was queued.
    public var signalAt: UInt64
    /// Set when memory_failure() reached memory the model does not handle (RAM pages).
    public var notModelled: String?

    public init(error: Errno? = nil, signal: SignalInfo? = nil, signalAt: UInt64 = 0, notModelled: String? = nil) {
        self.error = error
        self.signal = signal
        self.signalAt = signalAt
        self.notModelled = notModelled
    }
}

/// The files of /sys/kernel/mm/ksm that `expect ksm` reads, in the order reports print them.
public enum KSMCounter {
    public static let names: [String] = [
        "pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "full_scans",
        "ksm_zero_pages", "general_profit",
    ]
}
