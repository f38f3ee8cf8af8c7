// SPDX-License-Identifier: Apache-2.0
//
// Design switches and kernel build options: every alternative the model can run, as one value. The default is what
// Linux 6.18 does. Model code branches on a switch in exactly one place.

/// The design under which the model runs (`design KEY = VALUE` in a scenario).
public struct Design: Hashable, Sendable {
    /// How pagemap reports a swapped-out shmem page (seed 000): not at all (6.18); by a
    /// page-cache lookup for none PTEs inside PTE tables (Georgescu v2, as posted); by the
    /// same lookup for holes without a table too (`exact`); by a pageout PTE marker that
    /// reclaim leaves (Peter Xu's RFC).
    public enum ShmemSwap: String, CaseIterable, Sendable { case none, pagecache, exact, marker }
    /// Whether zapping a uffd-wp file PTE leaves a marker (seed 001).
    public enum FileZap: String, CaseIterable, Sendable { case marker, drop }
    /// Which uffd-registered VMAs fault-around avoids (seed 001).
    public enum FaultAroundUffd: String, CaseIterable, Sendable { case skip_wp_minor, skip_armed, never_skip }
    /// Whether KSM may merge page-cache pages (seed 002).
    public enum KSMFilePages: String, CaseIterable, Sendable { case off, on }
    /// Whether replace_page() keeps the replaced PTE's uffd-wp and soft-dirty bits (found
    /// while modelling seed 002: 6.18 drops them, docs/findings.md).
    public enum KSMUffdWP: String, CaseIterable, Sendable { case drop, keep }
    /// Whether `pin … exclusive` (FOLL_EXCLUSIVE, the rejected 2024 RFC) exists (seed 004).
    public enum GUPExclusive: String, CaseIterable, Sendable { case off, on }
    /// struct page for device-dax (seed 003).
    public enum DaxMemmap: String, CaseIterable, Sendable { case full, dedup, none }
    /// guest_memfd shared/private conversion (seed 004).
    public enum GmemConversion: String, CaseIterable, Sendable { case none, in_place }

    public var pagemapShmemSwap: ShmemSwap = .none
    public var uffdWPFileZap: FileZap = .marker
    public var faultAroundUffd: FaultAroundUffd = .skip_wp_minor
    public var ksmFilePages: KSMFilePages = .off
    public var ksmUffdWP: KSMUffdWP = .drop
    public var gupExclusive: GUPExclusive = .off
    public var daxMemmap: DaxMemmap = .full
    public var guestMemfdConversion: GmemConversion = .none

    public init() {}

    /// One switch: its language name, its values (first = Linux 6.18), the values the model
    /// does not run yet (refused by name with "not implemented yet") and how a value is set.
    struct Row: Sendable {
        let key: String
        let values: [String]
        let planned: [String]
        let set: @Sendable (inout Design, String) -> Bool
    }

    /// Every switch: the one definition the parser, the checker, `compare` and both backends use.
    static let table: [Row] = [
        entry("pagemap.shmem_swap", ShmemSwap.self) { $0.pagemapShmemSwap = $1 },
        entry("uffd_wp.file_zap", FileZap.self) { $0.uffdWPFileZap = $1 },
        entry("fault_around.uffd", FaultAroundUffd.self) { $0.faultAroundUffd = $1 },
        entry("ksm.file_pages", KSMFilePages.self) { $0.ksmFilePages = $1 },
        entry("ksm.uffd_wp", KSMUffdWP.self) { $0.ksmUffdWP = $1 },
        entry("gup.exclusive", GUPExclusive.self) { $0.gupExclusive = $1 },
        entry("dax.memmap", DaxMemmap.self) { $0.daxMemmap = $1 },
        entry("guest_memfd.conversion", GmemConversion.self) { $0.guestMemfdConversion = $1 },
    ]

    /// A table row for a switch whose values are the cases of `E`.
    static func entry<E: RawRepresentable & CaseIterable & Sendable>(_ key: String, _: E.Type, planned: [E] = [],
                                                          _ assign: @escaping @Sendable (inout Design, E) -> Void)
        -> Row where E.RawValue == String {
        Row(key: key, values: E.allCases.map(\.rawValue), planned: planned.map(\.rawValue), set: { d, v in
            guard let e = E(rawValue: v) else { return false }
            assign(&d, e)
            return true
        })
    }

    /// The switch names of the language, with their values (first = Linux 6.18).
    public static let switches: [(key: String, values: [String])] = table.map { ($0.key, $0.values) }

    /// Whether the model runs this value of the switch (false: it is named in the language
    /// but not modelled yet, or unknown).
    public static func isImplemented(_ key: String, _ value: String) -> Bool {
        guard let row = table.first(where: { $0.key == key }) else { return false }
        return row.values.contains(value) && !row.planned.contains(value)
    }

    /// Sets a switch by its language name; false if the key or value is unknown.
    public mutating func set(_ key: String, _ value: String) -> Bool {
        guard let row = Design.table.first(where: { $0.key == key }) else { return false }
        return row.set(&self, value)
    }

    /// The value of a switch by its language name (nil: unknown key).
    public func value(of key: String) -> String? {
        guard let row = Design.table.first(where: { $0.key == key }) else { return nil }
        return row.values.first { v in var d = self; _ = row.set(&d, v); return d == self }
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
