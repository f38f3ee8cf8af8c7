// SPDX-License-Identifier: Apache-2.0
//
// KVM guest_memfd flags (include/uapi/linux/kvm.h).

/// GUEST_MEMFD_FLAG_* (include/uapi/linux/kvm.h), with the kernel's values.
public struct GuestMemfdFlags: NamedOptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// GUEST_MEMFD_FLAG_MMAP: mmap() on the fd is allowed.
    public static let mmap = GuestMemfdFlags(rawValue: 1 << 0)
    /// GUEST_MEMFD_FLAG_INIT_SHARED: memory starts shared, host mappings can fault it in.
    public static let initShared = GuestMemfdFlags(rawValue: 1 << 1)

    /// The scenario language's names (`GUEST_MEMFD_FLAG_*` in lower case).
    public static let names: [(String, GuestMemfdFlags)] = [("mmap", .mmap), ("init_shared", .initShared)]

}
