// SPDX-License-Identifier: Apache-2.0
//
// The state a timeline cell shows for one pagemap word: what maps the page (nothing, a
// present frame of some kind, a swap entry, a PTE marker) and the two marks a word can carry
// besides (uffd-wp, soft-dirty).

import MMLab
import MMScenario

/// The colour class of a cell.
public enum PageStateClass: String, CaseIterable, Sendable {
    case none
    /// Present, mapped by this process only (PM_MMAP_EXCLUSIVE).
    case exclusive
    /// Present anonymous memory mapped more than once (after fork).
    case shared
    /// The shared zero page.
    case zero
    /// A KSM page (KPF_KSM).
    case ksm
    /// A page-cache page (PM_FILE: shmem, memfd, file).
    case file
    /// A swap entry of a swap device.
    case swap
    /// PTE_MARKER_UFFD_WP: write protection kept over an empty PTE.
    case uffdWP = "uffd-wp"
    /// PTE_MARKER_GUARD (MADV_GUARD_INSTALL), PM_GUARD_REGION.
    case guardMarker = "guard"
    /// PTE_MARKER_POISONED (UFFDIO_POISON) or a hwpoison entry.
    case poison
    /// PTE_MARKER_PAGEOUT (design pagemap.shmem_swap = marker).
    case pageout

    /// The legend's words.
    public var legend: String {
        switch self {
        case .none: "none (nothing mapped)"
        case .exclusive: "present, exclusive"
        case .shared: "present, shared"
        case .zero: "zero page"
        case .ksm: "KSM page"
        case .file: "page cache (file, shmem)"
        case .swap: "swap entry"
        case .uffdWP: "marker: uffd-wp"
        case .guardMarker: "marker: guard"
        case .poison: "marker: poison"
        case .pageout: "marker: pageout"
        }
    }

    /// The group the legend puts it in.
    public var group: String {
        switch self {
        case .none: "none"
        case .exclusive, .shared, .zero, .ksm, .file: "present"
        case .swap: "swap"
        case .uffdWP, .guardMarker, .poison, .pageout: "marker"
        }
    }
}

/// A mark drawn over a cell's colour.
public enum PageMark: String, CaseIterable, Sendable {
    case uffdWP = "wp"
    case softDirty = "sd"

    public var legend: String {
        switch self {
        case .uffdWP: "uffd-wp bit (PM_UFFD_WP)"
        case .softDirty: "soft-dirty bit (PM_SOFT_DIRTY)"
        }
    }
}

/// One cell's state, decoded from its word.
public struct PageState: Hashable, Sendable {
    public var stateClass: PageStateClass
    public var marks: [PageMark]

    /// Decodes a pagemap word as pte_to_pagemap_entry() (fs/proc/task_mmu.c) builds it.
    public init(word w: UInt64, ksm: Bool, zeroPFN: UInt64?) {
        var marks: [PageMark] = []
        if PagemapWord.isPresent(w) {
            if zeroPFN != nil && w & PM.pframeMask == zeroPFN { stateClass = .zero }
            else if ksm { stateClass = .ksm }
            else if w & PM.file != 0 { stateClass = .file }
            else if w & PM.mmapExclusive != 0 { stateClass = .exclusive }
            else { stateClass = .shared }
            if w & PM.uffdWP != 0 { marks.append(.uffdWP) }
        } else if PagemapWord.isSwap(w) {
            if PagemapWord.isRealSwap(w) {
                stateClass = .swap
                if w & PM.uffdWP != 0 { marks.append(.uffdWP) }
            } else if w & PM.guardRegion != 0 {
                stateClass = .guardMarker
            } else if PagemapWord.isMarker(w) {
                let bits = PagemapWord.swapOffset(w)
                if bits & PTEMarker.guard_.rawValue != 0 { stateClass = .guardMarker }
                else if bits & PTEMarker.poisoned.rawValue != 0 { stateClass = .poison }
                else if bits & PTEMarker.pageout.rawValue != 0 { stateClass = .pageout }
                else { stateClass = .uffdWP }
                if bits & PTEMarker.pageout.rawValue != 0 && w & PM.uffdWP != 0 { marks.append(.uffdWP) }
            } else if PagemapWord.swapType(w) == UInt64(SwapEntry.hwpoisonType) {
                stateClass = .poison
            } else if w & PM.uffdWP != 0 {
                stateClass = .uffdWP
            } else {
                stateClass = .swap
            }
        } else {
            stateClass = .none
            // A guard region shows PM_GUARD_REGION without PM_SWAP on some kernels.
            if w & PM.guardRegion != 0 { stateClass = .guardMarker }
        }
        if w & PM.softDirty != 0 { marks.append(.softDirty) }
        self.marks = marks
    }
}
