// SPDX-License-Identifier: Apache-2.0
//
// Design switches and kernel build options: every alternative the model can run, as one value. The default is what
// Linux 6.18 does. Model code branches on a switch in exactly one place.

/// The design under which the model runs (`design KEY = VALUE` in a scenario).
public struct Design: Hashable, Sendable {
    /// How pagemap reports a swapped-out shmem page (seed 000).
    public enum ShmemSwap: String, CaseIterable, Sendable { case none, pagecache, marker }
    /// Whether zapping a uffd-wp file PTE leaves a marker (seed 001).
    public enum FileZap: String, CaseIterable, Sendable { case marker, drop }
    /// Which uffd-registered VMAs fault-around avoids (seed 001).
    public enum FaultAroundUffd: String, CaseIterable, Sendable { case skip_wp_minor, skip_armed, never_skip }
    /// Whether KSM may merge page-cache pages (seed 002).
    public enum KSMFilePages: String, CaseIterable, Sendable { case off, on }
    /// struct page for device-dax (seed 003).
    public enum DaxMemmap: String, CaseIterable, Sendable { case full, dedup, none }
    /// guest_memfd shared/private conversion (seed 004).
    public enum GmemConversion: String, CaseIterable, Sendable { case none, in_place }

    public var pagemapShmemSwap: ShmemSwap = .none
    public var uffdWPFileZap: FileZap = .marker
    public var faultAroundUffd: FaultAroundUffd = .skip_wp_minor
    public var ksmFilePages: KSMFilePages = .off
    public var daxMemmap: DaxMemmap = .full
    public var guestMemfdConversion: GmemConversion = .none

    public init() {}

    /// The switch names of the language, with their values (first = Linux 6.18).
    public static let switches: [(key: String, values: [String])] = [
        ("pagemap.shmem_swap", ShmemSwap.allCases.map(\.rawValue)),
        ("uffd_wp.file_zap", FileZap.allCases.map(\.rawValue)),
        ("fault_around.uffd", FaultAroundUffd.allCases.map(\.rawValue)),
        ("ksm.file_pages", KSMFilePages.allCases.map(\.rawValue)),
        ("dax.memmap", DaxMemmap.allCases.map(\.rawValue)),
        ("guest_memfd.conversion", GmemConversion.allCases.map(\.rawValue)),
    ]

    /// Sets a switch by its language name; false if the key or value is unknown.
    public mutating func set(_ key: String, _ value: String) -> Bool {
        switch key {
        case "pagemap.shmem_swap": guard let v = ShmemSwap(rawValue: value) else { return false }; pagemapShmemSwap = v
        case "uffd_wp.file_zap": guard let v = FileZap(rawValue: value) else { return false }; uffdWPFileZap = v
        case "fault_around.uffd": guard let v = FaultAroundUffd(rawValue: value) else { return false }; faultAroundUffd = v
        case "ksm.file_pages": guard let v = KSMFilePages(rawValue: value) else { return false }; ksmFilePages = v
        case "dax.memmap": guard let v = DaxMemmap(rawValue: value) else { return false }; daxMemmap = v
        case "guest_memfd.conversion": guard let v = GmemConversion(rawValue: value) else { return false }; guestMemfdConversion = v
        default: return false
        }
        return true
    }

    /// Whether this is Linux 6.18's design in every switch.
    public var isLinux618: Bool { self == Design() }
}

/// Kernel build options that change behaviour (the Kconfig of the modelled kernel).
public struct KernelConfig: Hashable, Sendable {
    /// CONFIG_MEM_SOFT_DIRTY. Off by default: the reference machine is built without it.
    public var memSoftDirty = false
    /// CONFIG_MEMORY_FAILURE: a poisoned page raises SIGBUS with BUS_MCEERR_AR (with it) or
    /// BUS_ADRERR (without it, as on the reference machine); MADV_HWPOISON is valid advice
    /// only with it (memory_failure(), MemoryFailure/).
    public var memoryFailure = false
    /// /sys/kernel/debug/fault_around_bytes in pages (default 65536 bytes).
    public var faultAroundPages = 16
    public init() {}

    /// The options of the language's `kconfig NAME = y|n` (extension), by their Kconfig names.
    public static let options: [String] = ["MEM_SOFT_DIRTY", "MEMORY_FAILURE"]

    /// Sets an option by its Kconfig name; false if the name is unknown.
    public mutating func set(_ option: String, _ enabled: Bool) -> Bool {
        switch option {
        case "MEM_SOFT_DIRTY": memSoftDirty = enabled
        case "MEMORY_FAILURE": memoryFailure = enabled
        default: return false
        }
        return true
    }
}
