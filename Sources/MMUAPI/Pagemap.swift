// SPDX-License-Identifier: Apache-2.0
//
// /proc/PID/pagemap words (fs/proc/task_mmu.c, Documentation/admin-guide/mm/pagemap.rst) and
// the PAGEMAP_SCAN ioctl's arguments and results (include/uapi/linux/fs.h).

/// Bits of a pagemap word (fs/proc/task_mmu.c).
public enum PM {
    public static let pframeMask: UInt64 = (1 << 55) - 1   // PM_PFRAME_BITS = 55
    public static let softDirty: UInt64 = 1 << 55
    public static let mmapExclusive: UInt64 = 1 << 56
    public static let uffdWP: UInt64 = 1 << 57
    public static let guardRegion: UInt64 = 1 << 58
    public static let file: UInt64 = 1 << 61
    public static let swap: UInt64 = 1 << 62
    public static let present: UInt64 = 1 << 63
    /// MAX_SWAPFILES_SHIFT.
    public static let swapTypeBits: UInt64 = 5

    /// The scenario language's names of the flag bits (`expect pagemap … present=1`).
    public static let names: [(name: String, bit: UInt64)] = [
        ("present", present), ("swap", swap), ("uffd_wp", uffdWP), ("file", file),
        ("exclusive", mmapExclusive), ("soft_dirty", softDirty), ("guard", guardRegion),
    ]
}

/// PAGE_IS_* categories (include/uapi/linux/fs.h).
public enum PageCategory {
    public static let wpAllowed: UInt64 = 1 << 0
    public static let written: UInt64 = 1 << 1
    public static let file: UInt64 = 1 << 2
    public static let present: UInt64 = 1 << 3
    public static let swapped: UInt64 = 1 << 4
    public static let pfnZero: UInt64 = 1 << 5
    public static let huge: UInt64 = 1 << 6
    public static let softDirty: UInt64 = 1 << 7
    public static let guardRegion: UInt64 = 1 << 8
    public static let all: UInt64 = (1 << 9) - 1

    /// The scenario language's names (PAGE_IS_* in lower case), in bit order.
    public static let names: [(String, UInt64)] = [
        ("wpallowed", wpAllowed), ("written", written), ("file", file), ("present", present),
        ("swapped", swapped), ("pfnzero", pfnZero), ("huge", huge), ("soft_dirty", softDirty),
        ("guard", guardRegion),
    ]
}

/// struct page_region: [start, end) with its categories.
public struct PageRegion: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var categories: UInt64

    public init(start: UInt64, end: UInt64, categories: UInt64) {
        self.start = start
        self.end = end
        self.categories = categories
    }
}

/// struct pm_scan_arg, reduced to what changes behaviour (vec is unbounded here).
public struct PagemapScanArgs: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    /// PM_SCAN_WP_MATCHING.
    public var wpMatching = false
    /// PM_SCAN_CHECK_WPASYNC.
    public var checkWPAsync = false
    public var categoryInverted: UInt64 = 0
    public var categoryMask: UInt64 = 0
    public var categoryAnyofMask: UInt64 = 0
    public var returnMask: UInt64 = PageCategory.all
    /// 0 = unlimited.
    public var maxPages: UInt64 = 0
    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }
}
