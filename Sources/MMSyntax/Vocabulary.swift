// SPDX-License-Identifier: Apache-2.0
//
// The closed word lists of the `.mms` language. The parser accepts exactly these words and
// lists them in its diagnostics. Every list that names a kernel interface is taken from its one
// definition in MMUAPI (advice, features, modes, pagemap bits, PAGEMAP_SCAN categories, KSM
// counters, errnos, signals, design switches, kconfig options), which both backends use too;
// only the language's own words (statement keywords, checks) are defined here.

import MMUAPI

/// A design switch (`design KEY = VALUE`) and the values it accepts.
public struct DesignSwitch: Hashable, Sendable {
    /// The switch, e.g. `pagemap.shmem_swap`.
    public let key: String
    /// The accepted values; the first one is Linux 6.18's behaviour (the default).
    public let values: [String]

    /// The value that describes Linux 6.18 (the default when a scenario does not set the switch).
    public var linuxDefault: String { values[0] }
}

/// The words of the `.mms` language, version 0 plus documented extensions.
public enum ScenarioVocabulary {
    /// The keywords that start a statement.
    public static let statements: [String] = [
        "scenario", "design", "kconfig", "swap", "memfd", "mmap", "guest_memfd", "dax",
        "read", "write", "munmap", "mprotect", "madvise", "punch", "pread", "pwrite", "fork", "exit", "in", "when", "clear_refs",
        "pin", "unpin", "convert",
        "prctl",
        "ksm", "poison", "uffd", "thread", "join", "pagemap", "pagemap_scan", "expect", "check",
    ]

    /// The design switches, in the order of the language reference.
    public static let designSwitches: [DesignSwitch] = Design.switches.map { DesignSwitch(key: $0.key, values: $0.values) }

    /// The kernel configuration options `kconfig` knows (extension).
    public static let kconfigOptions: [String] = KernelConfig.options

    /// The advice words of `madvise` (the kernel's `MADV_*` in lower case).
    public static let madviseAdvice: [String] = Advice.allCases.map(\.rawValue)

    /// The flags of `guest_memfd … flags=` (`GUEST_MEMFD_FLAG_*` in lower case).
    public static let guestMemfdFlags: [String] = GuestMemfdFlags.names.map(\.0)

    /// The features of `uffd U features=` (`UFFD_FEATURE_*` in lower case).
    public static let uffdFeatures: [String] = UffdFeatures.names.map(\.0)

    /// The modes of `uffd U register` (`UFFDIO_REGISTER_MODE_*` in lower case).
    public static let uffdRegisterModes: [String] = UffdRegisterMode.names.map(\.0)

    /// The bit fields of `expect pagemap … field=0|1`.
    public static let pagemapBits: [String] = PM.names.map(\.name)

    /// The flags of `expect event U pagefault REF …`.
    public static let pagefaultFlags: [String] = UffdMessage.flagNames.map(\.0)

    /// The counters of `expect ksm` (files of `/sys/kernel/mm/ksm`).
    public static let ksmCounters: [String] = KSMCounter.names

    /// The categories of `expect pagemap_scan` (`PAGE_IS_*` in lower case).
    public static let pagemapScanCategories: [String] = PageCategory.names.map(\.0)

    /// The checks of `check` (for `explore`).
    public static let checks: [String] = ["no_silent_write", "no_lost_write", "consistent"]

    /// The errno names an outcome (`-> EINVAL`) may state.
    public static let errnos: [String] = Errno.allCases.map(\.description)

    /// The signals an outcome (`-> SIGBUS`) may state.
    public static let signals: [String] = SignalInfo.Signal.allCases.map(\.rawValue)
}
