// SPDX-License-Identifier: Apache-2.0
//
// The closed word lists of the `.mms` language. The parser accepts exactly these words and
// lists them in its diagnostics; tools (the runner, `mmlab live`, documentation) can use them
// instead of copying them.

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
        "read", "write", "munmap", "mprotect", "madvise", "punch", "pread", "fork", "exit", "in", "clear_refs",
        "prctl",
        "ksm", "poison", "uffd", "thread", "join", "pagemap", "pagemap_scan", "expect", "check",
    ]

    /// The design switches, in the order of the language reference.
    public static let designSwitches: [DesignSwitch] = [
        DesignSwitch(key: "pagemap.shmem_swap", values: ["none", "pagecache", "marker"]),
        DesignSwitch(key: "uffd_wp.file_zap", values: ["marker", "drop"]),
        DesignSwitch(key: "fault_around.uffd", values: ["skip_wp_minor", "skip_armed", "never_skip"]),
        DesignSwitch(key: "ksm.file_pages", values: ["off", "on"]),
        DesignSwitch(key: "dax.memmap", values: ["full", "dedup", "none"]),
        DesignSwitch(key: "guest_memfd.conversion", values: ["none", "in_place"]),
    ]

    /// The kernel configuration options `kconfig` knows (extension).
    public static let kconfigOptions: [String] = ["MEM_SOFT_DIRTY", "MEMORY_FAILURE"]

    /// The advice words of `madvise` (the kernel's `MADV_*` in lower case).
    public static let madviseAdvice: [String] = [
        "dontneed", "pageout", "cold", "remove", "mergeable", "unmergeable", "guard_install",
        "guard_remove", "populate_read", "populate_write", "free", "wipeonfork", "keeponfork",
        "dontfork", "dofork",
    ]

    /// The flags of `guest_memfd … flags=` (`GUEST_MEMFD_FLAG_*` in lower case).
    public static let guestMemfdFlags: [String] = ["mmap", "init_shared"]

    /// The features of `uffd U features=` (`UFFD_FEATURE_*` in lower case).
    public static let uffdFeatures: [String] = [
        "pagefault_flag_wp", "event_fork", "event_remap", "event_remove", "missing_hugetlbfs",
        "missing_shmem", "event_unmap", "sigbus", "thread_id", "minor_hugetlbfs", "minor_shmem",
        "exact_address", "wp_hugetlbfs_shmem", "wp_unpopulated", "poison", "wp_async", "move",
    ]

    /// The modes of `uffd U register` (`UFFDIO_REGISTER_MODE_*` in lower case).
    public static let uffdRegisterModes: [String] = ["missing", "wp", "minor"]

    /// The bit fields of `expect pagemap … field=0|1`.
    public static let pagemapBits: [String] = [
        "present", "swap", "uffd_wp", "file", "exclusive", "soft_dirty", "guard",
    ]

    /// The flags of `expect event U pagefault REF …`.
    public static let pagefaultFlags: [String] = ["wp", "minor", "write"]

    /// The counters of `expect ksm` (files of `/sys/kernel/mm/ksm`).
    public static let ksmCounters: [String] = [
        "pages_shared", "pages_sharing", "pages_unshared", "pages_volatile", "full_scans",
        "ksm_zero_pages", "general_profit",
    ]

    /// The categories of `expect pagemap_scan` (`PAGE_IS_*` in lower case).
    public static let pagemapScanCategories: [String] = [
        "wpallowed", "written", "file", "present", "swapped", "pfnzero", "huge", "soft_dirty", "guard",
    ]

    /// The checks of `check` (for `explore`).
    public static let checks: [String] = ["no_silent_write", "no_lost_write", "consistent"]

    /// The errno names an outcome (`-> EINVAL`) may state.
    public static let errnos: [String] = [
        "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
        "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "EBUSY", "EEXIST", "ENODEV", "EINVAL", "ENOSPC",
        "ESPIPE", "EROFS", "ERANGE", "ENOSYS", "EOPNOTSUPP", "ENOTTY", "EHWPOISON",
    ]

    /// The signals an outcome (`-> SIGBUS`) may state.
    public static let signals: [String] = ["SIGSEGV", "SIGBUS"]
}
