// SPDX-License-Identifier: Apache-2.0
//
// The simulated kernel: every process, file, frame and swap slot, as one value. Copying a
// Kernel copies the whole machine (arrays are copy-on-write), which is what exploration of
// interleavings needs. Operations live in extensions, one folder per kernel area.

/// A process's address space (struct mm_struct).
public struct MM: Sendable {
    public let id: MMID
    public var name: String
    /// VMAs sorted by start address (the maple tree).
    public internal(set) var vmas: [VMA] = []
    public internal(set) var pageTables = PageTables()
    public internal(set) var alive = true
    /// Models mm->map_count-independent rss counters: MM_ANONPAGES, MM_FILEPAGES/SHMEMPAGES, MM_SWAPENTS.
    public internal(set) var rssAnon = 0
    public internal(set) var rssShmem = 0
    public internal(set) var swapEntries = 0
    /// mm->ksm_zero_pages: KSM zero pages this mm maps (copied by fork with the mm_struct).
    public internal(set) var ksmZeroPages = 0
    /// MMF_VM_MERGE_ANY: prctl(PR_SET_MEMORY_MERGE, 1) made every compatible VMA mergeable,
    /// and new ones will be (kept across fork, as MMF_INIT_MASK keeps it).
    public internal(set) var ksmMergeAny = false

    /// Models find_vma() + containment: the index of the VMA containing `address`.
    public func vmaIndex(containing address: UInt64) -> Int? {
        var lo = 0, hi = vmas.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if vmas[mid].end <= address { lo = mid + 1 } else { hi = mid }
        }
        return lo < vmas.count && vmas[lo].start <= address ? lo : nil
    }
}

/// A shmem inode (memfd_create(), mm/shmem.c) and its page cache.
public struct Inode: Sendable {
    public let id: InodeID
    public var name: String
    /// i_size in bytes.
    public var size: UInt64
    /// The page cache (mapping->i_pages): the entries present, by page index (an xarray:
    /// memory follows what is cached, not i_size).
    public internal(set) var pages = SparseTable<PageCacheEntry>()
    /// Whether the file is still open (the scenario holds its fd).
    public internal(set) var open = true
    /// inode->i_private's struct shmem_falloc: the pages of a hole being punched.
    public internal(set) var falloc: ClosedRange<UInt64>? = nil
    /// For a KVM guest_memfd inode, its GUEST_MEMFD_FLAG_* (nil: a shmem inode). See GuestMemfd/.
    public internal(set) var gmemFlags: GuestMemfdFlags? = nil
    /// For a guest_memfd under design guest_memfd.conversion = in_place: the private page
    /// ranges of the file, sorted and disjoint (the series' per-inode maple tree of attributes;
    /// the rest is shared). See GuestMemfd/Conversion.swift.
    public internal(set) var gmemPrivate: [Range<UInt64>] = []
    /// A device-dax instance's device (nil for shmem and guest_memfd files).
    public internal(set) var dax: DaxDevice? = nil

    public var sizeInPages: UInt64 { (size + pageSize - 1) >> pageShift }
}

/// One slot of a shmem page cache: empty, a folio, or a swap entry (an xarray value entry).
public struct PageCacheEntry: Hashable, Sendable, SparseEntry {
    var raw: UInt64
    public static let empty = PageCacheEntry(raw: 0)
    public static func folio(_ pfn: PFN) -> PageCacheEntry { PageCacheEntry(raw: UInt64(pfn) << 2 | 1) }
    public static func swap(_ e: SwapEntry) -> PageCacheEntry {
        PageCacheEntry(raw: (UInt64(e.type) << 58 | e.offset) << 2 | 2)
    }
    public var isEmpty: Bool { raw == 0 }
    /// The folio, if the slot holds one.
    public var folio: PFN? { raw & 3 == 1 ? PFN(truncatingIfNeeded: raw >> 2) : nil }
    /// The swap entry, if the slot holds one (xa_is_value()).
    public var swapEntry: SwapEntry? {
        guard raw & 3 == 2 else { return nil }
        let v = raw >> 2
        return SwapEntry(type: UInt8(truncatingIfNeeded: v >> 58), offset: v & ((1 << 58) - 1))
    }
}

/// An anon_vma: the owner of anonymous folios, shared by a VMA and its forked copies.
public struct AnonVMA: Sendable {
    public let id: AnonVMAID
}

/// The whole simulated machine.
public struct Kernel: Sendable {
    public internal(set) var frames = FrameTable()
    public internal(set) var mms: [MM] = []
    public internal(set) var inodes: [Inode] = []
    public internal(set) var swapDevices: [SwapDevice] = []
    /// The swap cache (mm/swap_state.c): folio → its swap entry, for folios with PG_swapcache.
    var swapCacheEntry: [PFN: SwapEntry] = [:]
    var nextAnonVMA: AnonVMAID = 1
    /// userfaultfd contexts, by id.
    public internal(set) var uffds: [UserfaultfdCtx] = []
    /// Long-term GUP pins, by handle (nil: released). See GUP/Pin.swift.
    var pins: [PinnedPages?] = []
    /// Tasks sleeping in the kernel (userfaults and synchronous events), by id.
    public internal(set) var waiters: [Waiter] = []
    public var design: Design
    public var config: KernelConfig
    public internal(set) var costs = Costs()
    /// Check the model's invariants after every operation (tests and `explore` turn it on).
    public var internalChecks = false
    /// Kernel samepage merging (mm/ksm.c).
    public internal(set) var ksm = KSMState()
    /// The write checks of `explore` (nil: off).
    public internal(set) var writeChecks: WriteChecks? = nil
    /// When non-nil, the kernel functions a step ran, for traces.
    public var trace: [String]? = nil
    /// Invariant violations found by `check()` (empty in a correct model).
    public internal(set) var invariantViolations: [String] = []
    /// Frames whose memory has an uncorrectable error (a hardware property, not PG_hwpoison):
    /// a later load from one is a machine check. Membership tests only (MemoryFailure/).
    public internal(set) var corruptedPFNs: Set<PFN> = []
    /// The per-CPU lru_lazyfree folio batch (mm/swap.c cpu_fbatches; the model has one CPU):
    /// folios MADV_FREE queued, each holding a reference until lru_add_drain().
    var lazyfreeBatch: [PFN] = []
    /// Where the next mapping goes (a bump allocator on 2 MiB boundaries).
    var nextMapBase: UInt64 = 0x7f00_0000_0000

    public init(design: Design = Design(), config: KernelConfig = KernelConfig()) {
        self.design = design
        self.config = config
    }

    /// Notes a kernel function a step ran (only when tracing).
    mutating func note(_ s: @autoclosure () -> String) {
        if trace != nil { trace!.append(s()) }
    }

    /// Creates the first process (init's child running the scenario).
    public mutating func createProcess(name: String) -> MMID {
        let id = MMID(mms.count)
        mms.append(MM(id: id, name: name))
        return id
    }

    /// Models anon_vma_alloc().
    mutating func allocAnonVMA() -> AnonVMAID {
        defer { nextAnonVMA += 1 }
        return nextAnonVMA
    }
}

/// Deterministic cost counters (what `compare` and the benchmarks report).
public struct Costs: Hashable, Sendable {
    public var pteReads = 0
    public var pteWrites = 0
    public var pageCacheLookups = 0
    public var tlbFlushes = 0
    public var pageCopies = 0
    public var pageZeroings = 0
    public var faults = 0
    public var majorFaults = 0
    public var swapOuts = 0
    public var swapIns = 0
    /// xarray nodes the page-cache lookups of pagemap visit: each lookup weighted by the
    /// tree's depth, ⌈log64(max index + 1)⌉ (at least 1), the second figure of seed 000's costs.
    public var xarrayNodes = 0
    /// PTE markers decoded by faults (handle_pte_marker()).
    public var markerDecodes = 0
    /// Page-cache slot stores KSM makes for file pages (design ksm.file_pages = on): one per
    /// alias a merge makes, one per alias a break undoes.
    public var slotStores = 0
    /// i_mmap walks of one file page KSM makes to find every PTE of it (a merge of a
    /// page-cache page, a break of an alias).
    public var iMmapWalks = 0
    /// Aliases broken by a write (each one allocation and one copy, counted in `pageCopies`).
    public var aliasBreaks = 0
    /// Frames KSM merging freed (anonymous pages and page-cache pages alike): the memory saved.
    public var ksmFramesFreed = 0
    /// guest_memfd conversions that changed attributes (design guest_memfd.conversion = in_place).
    public var conversions = 0
    /// Folio refcounts a conversion to private read (folio_ref_count() against the baseline).
    public var refcountChecks = 0
    /// Stores into a guest_memfd's attribute ranges (the series' maple tree stores).
    public var attributeStores = 0
    /// lru_add_drain() calls a conversion made because a refcount was above its baseline.
    public var lruDrains = 0
    /// Conversions to private refused with EAGAIN (an elevated refcount: a pin, a reference).
    public var conversionsRefused = 0
    public init() {}

    /// The guest_memfd conversion counters, by name (all zero unless a conversion ran).
    public var conversionCounters: [(String, Int)] {
        [("conversions", conversions), ("refused", conversionsRefused), ("refcount checks", refcountChecks),
         ("attribute stores", attributeStores), ("lru drains", lruDrains)]
    }
}

extension Kernel {
    /// Bytes of model state, by capacity: frames, page tables, page caches, swap maps, VMAs.
    public var stateBytes: Int {
        var n = frames.bytes
        for mm in mms {
            n += mm.pageTables.bytes + mm.vmas.capacity * MemoryLayout<VMA>.stride
        }
        for i in inodes { n += i.pages.bytes }
        for d in swapDevices { n += d.bytes }
        n += swapCacheEntry.capacity * (MemoryLayout<PFN>.stride + MemoryLayout<SwapEntry>.stride + 1)
        return n
    }
}
