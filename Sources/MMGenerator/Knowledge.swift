// SPDX-License-Identifier: Apache-2.0
//
// What the generator knows about the memory of the scenario it is writing: for every page of
// every mapping in every process, the set of things its PTE may hold, whether it carries the
// uffd-wp bit, which userfaultfd has it registered and how; for every page of every shmem
// object, what its page-cache slot may hold. Knowledge is a set of possibilities: a prediction
// (a stated outcome, a userfault a handler waits for) is made only where every possibility
// agrees. These are the generator's own rules of Linux 6.18, written from the kernel source;
// they are not the model's code.

import MMLab

/// Yes, no, or not known.
enum Tri: Equatable {
    case no, yes, unknown

    var mayBeYes: Bool { self != .no }
    var mayBeNo: Bool { self != .yes }

    /// Either this or that.
    func or(_ other: Tri) -> Tri { self == other ? self : .unknown }
}

/// What a PTE may hold (a set: several bits mean "one of these").
struct PTEs: OptionSet, Equatable {
    let rawValue: UInt8
    /// pte_none().
    static let none = PTEs(rawValue: 1 << 0)
    /// A uffd-wp PTE marker (no page, the wp bit).
    static let wpMarker = PTEs(rawValue: 1 << 1)
    /// A poison marker (UFFDIO_POISON).
    static let poison = PTEs(rawValue: 1 << 2)
    /// A guard marker (MADV_GUARD_INSTALL).
    static let guard_ = PTEs(rawValue: 1 << 3)
    /// Present, mapping a page-cache page.
    static let file = PTEs(rawValue: 1 << 4)
    /// Present, mapping an anonymous page (the zero page and KSM pages included).
    static let anon = PTEs(rawValue: 1 << 5)
    /// A swap entry (anonymous memory only).
    static let swap = PTEs(rawValue: 1 << 6)

    static let present: PTEs = [.file, .anon]
    /// pte_none_mostly(): nothing mapped, at most a uffd-wp marker.
    static let fillable: PTEs = [.none, .wpMarker]
    /// What mfill_atomic_install_pte() may replace (pte_none_mostly(): none or any PTE
    /// marker): UFFDIO_COPY, CONTINUE, and ZEROPAGE into shared shmem.
    static let overwritable: PTEs = [.none, .wpMarker, .poison, .guard_]

    var isSingle: Bool { rawValue != 0 && rawValue & (rawValue - 1) == 0 }
    /// Each possibility alone, in a fixed order.
    var each: [PTEs] { [.none, .wpMarker, .poison, .guard_, .file, .anon, .swap].filter { contains($0) } }
}

/// What a shmem page-cache slot may hold.
struct Slots: OptionSet, Equatable {
    let rawValue: UInt8
    static let absent = Slots(rawValue: 1 << 0)
    static let present = Slots(rawValue: 1 << 1)
    /// Swapped out: a swap entry in the page cache (shmem_swapin_folio() on the next use).
    static let swapped = Slots(rawValue: 1 << 2)
    static let any: Slots = [.absent, .present, .swapped]
    /// In the cache in either form: a MINOR fault, no MISSING fault, EEXIST for a copy.
    static let cached: Slots = [.present, .swapped]
}

/// UFFDIO_REGISTER_MODE_* of a VMA.
struct Modes: OptionSet, Equatable {
    let rawValue: UInt8
    static let missing = Modes(rawValue: 1 << 0)
    static let wp = Modes(rawValue: 1 << 1)
    static let minor = Modes(rawValue: 1 << 2)

    /// `missing`, `wp,minor`…, as `uffd U register` writes them.
    var words: String {
        [(Modes.missing, "missing"), (.wp, "wp"), (.minor, "minor")].filter { contains($0.0) }.map(\.1).joined(separator: ",")
    }
}

/// A protection as `mmap` and `mprotect` write it.
enum Prot: String, Equatable {
    case none, r, rw
    func allows(store: Bool) -> Bool { store ? self == .rw : self != .none }
}

/// The kind of a mapping.
enum MapKind: Equatable {
    case anonPrivate, anonShared, filePrivate, fileShared, guestShared

    /// vma_is_anonymous(): a private anonymous mapping (a shared one gets shmem's vm_ops).
    var isAnonVMA: Bool { self == .anonPrivate }
    var isShared: Bool { self == .anonShared || self == .fileShared || self == .guestShared }
    /// Backed by a shmem object (memfd, or the object of a shared anonymous mapping).
    var isShmem: Bool { self == .anonShared || self == .fileShared || self == .filePrivate }
    /// KSM may merge its anonymous pages (vma_ksm_compatible(): not shared).
    var ksmCompatible: Bool { !isShared }
}

/// A shmem object (a memfd, the object behind a shared anonymous mapping) or a guest_memfd.
struct Object {
    /// The scenario's name (nil: the object of a shared anonymous mapping, not nameable).
    var name: String?
    var pages: Int
    var guest = false
    /// guest_memfd with `init_shared` (else every access is SIGBUS).
    var guestShared = false
    /// guest_memfd with GUEST_MEMFD_FLAG_MMAP (else mmap is ENODEV).
    var guestMmap = false
    var slots: [Slots]
}

/// One mapping (the same name in every process that has it).
struct Mapping {
    var name: String
    var kind: MapKind
    /// Index into `objects` (file, guest_memfd, shared anonymous).
    var object: Int?
    /// Page offset in the object.
    var offset = 0
    var pages: Int
    /// The mapping's object page for page i.
    func objectPage(_ i: Int) -> Int { offset + i }
}

/// One page of one mapping in one process.
struct Page {
    /// A VMA covers it.
    var mapped = true
    var prot = Prot.rw
    var pte = PTEs.none
    /// The uffd-wp bit of a present or swap PTE (a wpMarker has it by definition).
    var wp = Tri.no
    /// The userfaultfd (index into `uffds`) whose VMA covers the page, and its modes.
    var owner: Int? = nil
    var modes: Modes = []
    /// VM_MERGEABLE.
    var mergeable = Tri.no
    var dontfork = false
    var wipeonfork = false
    /// A present anonymous page that this PTE alone maps, on the LRU, not lazyfree: pageout
    /// with swap turns it into a swap entry (madvise_cold_or_pageout_pte_range() skips others).
    var exclusive = false
    /// MADV_FREE made it lazyfree (reclaim may drop it).
    var lazyfree = Tri.no
    /// The VMA has an anon_vma: fork copies its page tables (vma_needs_copy()).
    var anonVMA = Tri.no
    /// A present anonymous PTE maps the zero page (no struct page: zap_present_ptes() zaps
    /// it even where it keeps COWs, as a hole punch does in a private file mapping).
    var zero = Tri.no
    /// The PTE maps a page a long-term GUP pin holds (`pin`): reclaim keeps it, KSM skips it.
    var pinned = Tri.no
}

/// A process of the scenario: `main`, or a child forked from it.
struct Process {
    var name: String
    var alive = true
    var pages: [[Page]]
    /// Registered with KSM (MMF_VM_MERGEABLE): madvise mergeable, prctl, or a registered parent.
    var ksmRegistered = false
    /// prctl(PR_SET_MEMORY_MERGE, 1): new mappings are mergeable too.
    var mergeAny = false
}

/// A userfaultfd: created by `uffd NAME` in main, or a child's copy announced by a FORK event.
struct Uffd {
    var name: String
    /// The process whose memory it serves (ctx->mm).
    var process: Int
    var features: [String]
    var alive = true
    /// Messages the kernel may have queued that no `expect event` read: from here on, no
    /// `expect event` / `expect no event` can be predicted on it.
    var dirty = false

    func has(_ feature: String) -> Bool { features.contains(feature) }
    /// UFFD_FEATURE_WP_ASYNC: wp faults resolve at once, without a message.
    var async: Bool { has("wp_async") }
    /// UFFD_FEATURE_SIGBUS: a fault that would sleep raises SIGBUS.
    var sigbus: Bool { has("sigbus") }
    /// Write-protecting an empty anonymous PTE leaves a marker (WP_ASYNC implies it).
    var wpUnpopulated: Bool { has("wp_unpopulated") || has("wp_async") }
}

/// What an access to one page does.
enum Fault: Equatable {
    case ok, segv, bus, missing, minor, wp

    var isTrap: Bool { self == .missing || self == .minor || self == .wp }
}
