// SPDX-License-Identifier: Apache-2.0
//
// userfaultfd's user interface (include/uapi/linux/userfaultfd.h): features, register modes,
// messages and the mfill ioctls' modes.

/// UFFD_FEATURE_* (include/uapi/linux/userfaultfd.h).
public struct UffdFeatures: NamedOptionSet, Hashable, Sendable {
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

}

/// UFFDIO_REGISTER_MODE_*.
public struct UffdRegisterMode: NamedOptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let missing = UffdRegisterMode(rawValue: 1 << 0)
    public static let wp = UffdRegisterMode(rawValue: 1 << 1)
    public static let minor = UffdRegisterMode(rawValue: 1 << 2)

    /// The scenario language's names (`UFFDIO_REGISTER_MODE_*` in lower case).
    public static let names: [(String, UffdRegisterMode)] = [("missing", .missing), ("wp", .wp), ("minor", .minor)]

}

/// UFFD_EVENT_* codes.
public enum UffdEvent: UInt8, Sendable {
    case pagefault = 0x12, fork = 0x13, remap = 0x14, remove = 0x15, unmap = 0x16
}

/// struct uffd_msg, as read(2) returns it.
public struct UffdMessage: Hashable, Sendable {
    public var event: UffdEvent
    /// UFFD_PAGEFAULT_FLAG_WRITE 1, _WP 2, _MINOR 4.
    public var flags: UInt64 = 0
    public var address: UInt64 = 0
    /// remove/unmap: [start, end).
    public var start: UInt64 = 0
    public var end: UInt64 = 0
    /// fork: the child's new userfaultfd.
    public var forkChild: UffdHandle? = nil

    public init(event: UffdEvent, flags: UInt64 = 0, address: UInt64 = 0, start: UInt64 = 0, end: UInt64 = 0,
                forkChild: UffdHandle? = nil) {
        self.event = event
        self.flags = flags
        self.address = address
        self.start = start
        self.end = end
        self.forkChild = forkChild
    }

    public static let flagWrite: UInt64 = 1 << 0
    public static let flagWP: UInt64 = 1 << 1
    public static let flagMinor: UInt64 = 1 << 2
    /// The language's names of the page-fault flags (`expect event U pagefault REF wp`).
    public static let flagNames: [(String, UInt64)] = [("wp", flagWP), ("minor", flagMinor), ("write", flagWrite)]
}

/// Which mfill_atomic() operation.
public enum MfillMode: Hashable, Sendable {
    /// UFFDIO_COPY of pages holding `base` (or base+i for the i-th page when `seq`).
    case copy(base: UInt64, seq: Bool)
    case zeropage
    case `continue`
    case poison
}
