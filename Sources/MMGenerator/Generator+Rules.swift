// SPDX-License-Identifier: Apache-2.0
//
// The generator's rules of Linux 6.18: what an access to a page does (a signal, a userfault
// of one kind, or nothing), and how each statement changes what the generator knows. Each
// rule names the kernel path it follows; where the kernel's result depends on something the
// generator does not track, the rule keeps every possibility (see Knowledge.swift).

import MMLab

extension ScenarioGenerator {
    // MARK: - Faults

    /// What an access to page i of mapping m in process p may do (each possibility once).
    func faults(_ p: Int, _ m: Int, _ i: Int, store: Bool) -> [Fault] {
        let pg = procs[p].pages[m][i]
        guard pg.mapped, pg.prot.allows(store: store) else { return [.segv] }
        var out: [Fault] = []
        for s in pg.pte.each {
            for f in faults(p, m, i, store: store, pte: s) where !out.contains(f) { out.append(f) }
        }
        return out
    }

    /// One PTE possibility: handle_pte_fault() and what it leads to.
    func faults(_ p: Int, _ m: Int, _ i: Int, store: Bool, pte: PTEs) -> [Fault] {
        let pg = procs[p].pages[m][i]
        var raw: [Fault]
        switch pte {
        case .guard_:
            raw = [.segv]                       // handle_pte_marker(): PTE_MARKER_GUARD
        case .poison:
            raw = [.bus]                        // PTE_MARKER_POISONED: VM_FAULT_HWPOISON
        case .file, .anon, .swap:
            // do_wp_page() / do_swap_page(): the uffd-wp bit traps a store in a wp VMA.
            if store && pg.modes.contains(.wp) {
                raw = pg.wp == .yes ? [.wp] : pg.wp == .no ? [.ok] : [.wp, .ok]
            } else {
                raw = [.ok]
            }
        case .none:
            raw = missingFaults(p, m, i)
        default:   // .wpMarker
            // pte_marker_handle_uffd_wp(): without VM_UFFD_WP the marker is cleared and the
            // fault retried as pte_none; with it, do_pte_missing(), whose new PTE carries the
            // bit, so the retried store traps as a wp fault.
            raw = missingFaults(p, m, i)
            if pg.modes.contains(.wp) && store { raw = raw.map { $0 == .ok ? .wp : $0 } }
        }
        guard let o = pg.owner else { return raw.map { $0.isTrap ? .ok : $0 } }
        let u = uffds[o]
        return raw.map { f in
            if f == .wp && u.async { return .ok }          // userfaultfd_wp_async(): resolved at once
            if f.isTrap && u.sigbus { return .bus }        // handle_userfault(): UFFD_FEATURE_SIGBUS
            return f
        }
    }

    /// do_pte_missing() on a none PTE: do_anonymous_page() or shmem_get_folio_gfp().
    func missingFaults(_ p: Int, _ m: Int, _ i: Int) -> [Fault] {
        let pg = procs[p].pages[m][i]
        let map = mappings[m]
        switch map.kind {
        case .anonPrivate:
            return pg.modes.contains(.missing) ? [.missing] : [.ok]
        case .guestShared:
            // kvm_gmem_fault_user_mapping(): private memory is SIGBUS.
            return objects[map.object!].guestShared ? [.ok] : [.bus]
        case .anonShared, .fileShared, .filePrivate:
            let slots = objects[map.object!].slots[map.objectPage(i)]
            var out: [Fault] = []
            if !slots.intersection(.cached).isEmpty {
                out.append(pg.modes.contains(.minor) ? .minor : .ok)
            }
            if slots.contains(.absent) {
                let f: Fault = pg.modes.contains(.missing) ? .missing : .ok
                if !out.contains(f) { out.append(f) }
            }
            return out
        }
    }

    /// Where an access to pages r stops, when that is certain: the first page that does not
    /// simply succeed and what it does there (nil stop: every page succeeds).
    func accessPlan(_ p: Int, _ m: Int, _ r: ClosedRange<Int>, store: Bool) -> (stop: Int?, fault: Fault)? {
        for i in r {
            let f = faults(p, m, i, store: store)
            guard f.count == 1 else { return nil }
            if f[0] != .ok { return (i, f[0]) }
        }
        return (nil, .ok)
    }

    // MARK: - After an access

    /// The page after an access that succeeded (the fault, if any, is resolved).
    mutating func accessed(_ p: Int, _ m: Int, _ i: Int, store: Bool) {
        let kind = mappings[m].kind
        var pg = procs[p].pages[m][i]
        let before = pg.pte
        var pte: PTEs = []
        for s in before.each {
            switch s {
            case .none, .wpMarker:
                switch kind {
                case .anonPrivate: pte.insert(.anon)
                case .filePrivate: pte.insert(store ? .anon : .file)
                default: pte.insert(.file)
                }
            case .file:
                pte.insert(store && kind == .filePrivate ? .anon : .file)   // do_cow_fault() / wp_page_copy()
            case .swap:
                pte.insert(.anon)
            default:
                pte.insert(s)
            }
        }
        pg.pte = pte
        // The uffd-wp bit of the new PTE: none from an empty PTE, set from a marker
        // (vmf_orig_pte_uffd_wp()), kept on a page that was there; an async store clears it.
        var bit: Tri? = nil
        for s in before.each {
            let t: Tri
            switch s {
            case .none: t = .no
            case .wpMarker: t = pg.modes.contains(.wp) ? .yes : .no
            case .file, .anon, .swap: t = pg.wp
            default: continue
            }
            bit = bit.map { $0.or(t) } ?? t
        }
        pg.wp = bit ?? .no
        if store && pg.modes.contains(.wp), let o = pg.owner, uffds[o].async { pg.wp = .no }
        // do_anonymous_page(): a load of an empty page maps the zero page; a store never does.
        if store || before.contains(.swap) {
            pg.zero = .no
        } else if kind == .anonPrivate && !before.intersection([.none, .wpMarker]).isEmpty {
            pg.zero = before.isSubset(of: [.none, .wpMarker]) ? .yes : pg.zero.or(.yes)
        }
        if kind == .anonPrivate || kind == .filePrivate {
            // A store leaves a page of its own (a new page, a COW copy, a reused one); a
            // load of an empty page maps the zero page or the page cache.
            if store {
                pg.exclusive = pg.lazyfree == .no && !before.contains(.swap)
                pg.lazyfree = .no
            } else if !before.isSubset(of: .anon) || before.contains(.swap) {
                pg.exclusive = false
            }
        }
        // A store makes (or copies) an anonymous page: vmf_anon_prepare() gives the VMA an
        // anon_vma. A load maps the zero page or the page cache, without one.
        let prepared = store && (kind == .anonPrivate || kind == .filePrivate) && pg.anonVMA != .yes
        if store && (kind == .anonPrivate || kind == .filePrivate) { pg.anonVMA = .yes }
        procs[p].pages[m][i] = pg
        if prepared { anonVMAPrepared(p, m, [i]) }
        if kind.isShmem {
            let o = mappings[m].object!
            let k = mappings[m].objectPage(i)
            if !before.intersection([.none, .wpMarker]).isEmpty || (store && kind == .fileShared) {
                objects[o].slots[k] = .present            // shmem_get_folio_gfp(SGP_CACHE) / swap-in
            }
            if !store && !before.intersection([.none, .wpMarker]).isEmpty {
                faultAround(p, m, i)
            }
        }
        if kind == .guestShared, let o = mappings[m].object {
            objects[o].slots[mappings[m].objectPage(i)] = .present
        }
    }

    /// A load that stopped at page i (a userfault, or its SIGBUS under UFFD_FEATURE_SIGBUS)
    /// went through do_read_fault(), whose fault-around runs before shmem_fault() traps.
    mutating func stoppedLoad(_ p: Int, _ m: Int, _ i: Int, _ f: Fault) {
        guard mappings[m].kind.isShmem, f == .missing || f == .minor || f == .bus,
              procs[p].pages[m][i].pte.contains(.none) else { return }
        faultAround(p, m, i)
    }

    /// do_fault_around(): a read fault on a file VMA maps the cached pages of its 64 KiB
    /// window that have none PTEs, unless the VMA is registered wp or minor
    /// (uffd_disable_fault_around()). VMA ends are not known for certain: every page the
    /// window may cover may be mapped.
    mutating func faultAround(_ p: Int, _ m: Int, _ i: Int) {
        let pg = procs[p].pages[m][i]
        if !pg.modes.intersection([.wp, .minor]).isEmpty { return }
        // The window is 16 pages from the aligned start, or from the VMA's start when that is
        // later (do_fault_around()'s from_pte): it may reach 15 pages past i.
        let first = i / 16 * 16
        let last = min(mappings[m].pages - 1, oneVMA(m, first...i) ? first + 15 : i + 15)
        let o = mappings[m].object!
        for j in first...last where j != i {
            let q = procs[p].pages[m][j]
            guard q.mapped, q.pte.contains(.none) else { continue }
            if !objects[o].slots[mappings[m].objectPage(j)].intersection(.present).isEmpty {
                procs[p].pages[m][j].pte.insert(.file)
            }
        }
    }

    // MARK: - Zaps

    /// zap_pte_range() of one page by MADV_DONTNEED (no zap_details: COWs too, markers kept,
    /// uffd-wp markers left for protected PTEs of a file VMA by zap_install_uffd_wp_if_needed()).
    mutating func zapped(_ p: Int, _ m: Int, _ i: Int) {
        var pg = procs[p].pages[m][i]
        guard pg.mapped else { return }
        var pte: PTEs = []
        for s in pg.pte.each {
            switch s {
            case .guard_:
                pte.insert(.guard_)
            case .wpMarker:
                pte.insert(mappings[m].kind.isAnonVMA ? .none : .wpMarker)
            case .file, .anon, .swap:
                if !mappings[m].kind.isAnonVMA && pg.modes.contains(.wp) && pg.wp != .no {
                    pte.insert(.wpMarker)
                    if pg.wp == .unknown { pte.insert(.none) }
                } else {
                    pte.insert(.none)
                }
            default:
                pte.insert(.none)                          // poison: should_zap_cows(NULL)
            }
        }
        pg.pte = pte
        pg.exclusive = false
        pg.lazyfree = .no
        pg.zero = .no
        pg.pinned = .no
        procs[p].pages[m][i] = pg
    }

    /// A hole punched in object page k (fallocate(PUNCH_HOLE), MADV_REMOVE, guest_memfd punch):
    /// unmap_mapping_range() without even_cows in every process, then the page cache.
    mutating func punched(object o: Int, page k: Int) {
        for p in procs.indices where procs[p].alive {
            for m in mappings.indices where mappings[m].object == o {
                let i = k - mappings[m].offset
                guard i >= 0, i < mappings[m].pages else { continue }
                var pg = procs[p].pages[m][i]
                // A private mapping's zero page goes too (zap_present_ptes(): no folio to
                // keep as a COW).
                if mappings[m].kind == .filePrivate && pg.pte.contains(.anon) && pg.zero != .no {
                    if pg.zero == .yes { pg.pte.remove(.anon) }
                    pg.pte.insert(.none)
                    pg.zero = pg.pte.contains(.anon) ? .unknown : .no
                }
                guard pg.mapped, pg.pte.contains(.file) else {
                    procs[p].pages[m][i] = pg
                    continue
                }
                pg.pte.remove(.file)
                if !mappings[m].kind.isAnonVMA && mappings[m].kind != .filePrivate { pg.pinned = .no }
                if pg.modes.contains(.wp) && pg.wp != .no && !mappings[m].kind.isAnonVMA {
                    pg.pte.insert(.wpMarker)
                    if pg.wp == .unknown { pg.pte.insert(.none) }
                } else {
                    pg.pte.insert(.none)
                }
                procs[p].pages[m][i] = pg
            }
        }
        objects[o].slots[k] = .absent
    }

    /// MADV_PAGEOUT of one page: madvise_cold_or_pageout_pte_range() then shrink_folio_list().
    mutating func pagedOut(_ p: Int, _ m: Int, _ i: Int) {
        var pg = procs[p].pages[m][i]
        guard pg.mapped else { return }
        let kind = mappings[m].kind
        if kind == .guestShared { return }                  // unevictable
        // A pinned page stays: anonymous mapped, shmem resident (its PTE may go).
        let keep = pg.pinned
        var pte: PTEs = []
        for s in pg.pte.each {
            switch s {
            case .anon where keep == .yes:
                pte.insert(.anon)
            case .anon:
                if pg.exclusive && pg.lazyfree == .no && pg.pte == .anon {
                    pte.insert(hasSwap ? .swap : .anon)
                } else {
                    pte.insert(.anon)
                    if hasSwap && pg.lazyfree != .yes { pte.insert(.swap) }
                    if pg.lazyfree != .no { pte.insert(.none) }
                }
            case .file:
                // Unmapped by try_to_unmap() (a protected PTE of a file VMA leaves a marker),
                // then written to swap if there is swap; skipped if mapped elsewhere.
                pte.insert(.file)
                if pg.modes.contains(.wp) && pg.wp != .no { pte.insert(.wpMarker) }
                if !(pg.modes.contains(.wp) && pg.wp == .yes) { pte.insert(.none) }
                // Written to swap if there is swap; a clean page (read in, never written) is
                // dropped from the page cache at once, with or without swap.
                if kind.isShmem && keep != .yes {
                    let o = mappings[m].object!
                    let k = mappings[m].objectPage(i)
                    if hasSwap { objects[o].slots[k].insert(.swapped) }
                    objects[o].slots[k].insert(.absent)
                }
            default:
                pte.insert(s)
            }
        }
        pg.pte = pte
        if pte != .anon { pg.exclusive = false }
        if pte.contains(.none) { pg.lazyfree = .unknown }
        procs[p].pages[m][i] = pg
    }

    /// Page i seen as possibly shared with another process or merged (pageout may skip it).
    mutating func notExclusive(_ p: Int, _ m: Int, _ i: Int) {
        procs[p].pages[m][i].exclusive = false
    }
}
