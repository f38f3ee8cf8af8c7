// SPDX-License-Identifier: Apache-2.0
//
// Statements on memory: accesses, observations, madvise (every advice, partial ranges),
// mprotect, munmap, punch, pread, pwrite, late mmaps, fork and the statements of a child.

import MMLab
import MMScenario

extension ScenarioGenerator {
    // MARK: - Accesses

    /// The signal a stopped access states.
    static func signal(_ f: Fault) -> String { f == .segv ? " -> SIGSEGV" : f == .bus ? " -> SIGBUS" : "" }

    /// A store to pages r in process p, if it is certain not to sleep; with the outcome it
    /// must have. Armed pages (a certain wp fault on a synchronous userfaultfd) are
    /// unprotected first, half the time.
    mutating func write(_ p: Int, _ m: Int, _ r: ClosedRange<Int>, unprotect: Bool = false) -> Bool {
        var plan = accessPlan(p, m, r, store: true)
        if unprotect, let pl = plan, pl.fault == .wp, let stop = pl.stop {
            // Unprotect the armed pages from the stop on, run by run, with their owner.
            var i = stop
            while i <= r.upperBound {
                guard faults(p, m, i, store: true) == [.wp], let o = procs[p].pages[m][i].owner else { i += 1; continue }
                var j = i
                while j + 1 <= r.upperBound && faults(p, m, j + 1, store: true) == [.wp]
                        && procs[p].pages[m][j + 1].owner == o { j += 1 }
                emit("uffd \(uffds[o].name) unwp \(ref(m, i...j))")
                unprotected(p, m, i...j)
                i = j + 1
            }
            plan = accessPlan(p, m, r, store: true)
        }
        guard let pl = plan, !pl.fault.isTrap else { return false }
        let tok = token()
        emit("write \(ref(m, r)) = \(tok)" + Self.signal(pl.fault))
        let done = pl.stop.map { r.lowerBound..<$0 } ?? r.lowerBound..<(r.upperBound + 1)
        for i in done { accessed(p, m, i, store: true) }
        // A store that trapped on a uffd-wp marker went through do_pte_missing() first
        // (pte_marker_handle_uffd_wp()): the page is mapped with the uffd-wp bit, and the
        // retried store is the wp fault that trapped (its SIGBUS or its userfault).
        if let stop = pl.stop, procs[p].pages[m][stop].pte == .wpMarker, procs[p].pages[m][stop].modes.contains(.wp),
           missingFaults(p, m, stop) == [.ok] {
            accessed(p, m, stop, store: true)
        }
        if ksmScanned { freeing() }
        if pl.stop == nil && rng.percent(22) {
            emit("expect read \(ref(m, r)) == \(tok)")
        }
        return true
    }

    mutating func randomWrite(_ p: Int) -> Bool {
        for _ in 0..<6 {
            let m = rng.below(mappings.count)
            if write(p, m, range(m), unprotect: rng.percent(50)) { return true }
        }
        return false
    }

    mutating func randomRead(_ p: Int) -> Bool {
        for _ in 0..<6 {
            let m = rng.below(mappings.count)
            let r = range(m)
            guard let pl = accessPlan(p, m, r, store: false), !pl.fault.isTrap else { continue }
            emit("read \(ref(m, r))" + Self.signal(pl.fault))
            let done = pl.stop.map { r.lowerBound..<$0 } ?? r.lowerBound..<(r.upperBound + 1)
            for i in done { accessed(p, m, i, store: false) }
            if let stop = pl.stop { stoppedLoad(p, m, stop, pl.fault) }
            return true
        }
        return false
    }

    // MARK: - Observations

    mutating func pagemap(_ p: Int) -> Bool {
        let m = rng.below(mappings.count)
        emit("pagemap \(ref(m, range(m, maxLength: 4)))")
        observed = true
        return true
    }

    /// The pagemap word or fields page i must show, when certain.
    func pagemapPattern(_ p: Int, _ m: Int, _ i: Int) -> String? {
        let pg = procs[p].pages[m][i]
        guard pg.mapped else { return "= 0x0" }
        guard pg.pte.isSingle else { return nil }
        let wp = pg.wp == .yes ? " uffd_wp=1" : pg.wp == .no ? " uffd_wp=0" : ""
        switch pg.pte {
        case .none: return "= 0x0"
        case .wpMarker: return "= 0x420000000000003f"
        case .guard_: return "= 0x440000000000009f"
        case .poison: return "= 0x400000000000005f"
        case .anon: return "present=1 file=0" + wp
        case .file: return "present=1 file=1" + wp
        default: return "present=0 swap=1" + wp
        }
    }

    mutating func expectPagemap(_ p: Int) -> Bool {
        for _ in 0..<6 {
            let m = rng.below(mappings.count)
            let r = range(m, maxLength: 4)
            guard let first = pagemapPattern(p, m, r.lowerBound) else { continue }
            var last = r.lowerBound
            while last < r.upperBound && pagemapPattern(p, m, last + 1) == first { last += 1 }
            emit("expect pagemap \(ref(m, r.lowerBound...last)) \(first)")
            observed = true
            return true
        }
        return false
    }

    /// Whether page i's VMA is registered wp by a WP_ASYNC userfaultfd (PAGE_IS_WPALLOWED).
    func wpAsyncVMA(_ p: Int, _ m: Int, _ i: Int) -> Bool {
        let pg = procs[p].pages[m][i]
        guard let o = pg.owner, pg.modes.contains(.wp) else { return false }
        return uffds[o].async
    }

    /// `pagemap_scan REF [wp_matching] [check_wpasync]`: WP_MATCHING write-protects the written
    /// pages of WP_ASYNC VMAs again (others are skipped); CHECK_WPASYNC fails with EPERM at the
    /// first VMA that is not WP_ASYNC.
    mutating func pagemapScan(_ p: Int) -> Bool {
        let m = rng.below(mappings.count)
        let r = rng.percent(40) ? 0...(mappings[m].pages - 1) : range(m)
        let mapped = r.filter { procs[p].pages[m][$0].mapped }
        let async = mapped.filter { wpAsyncVMA(p, m, $0) }
        var flags = ""
        var outcome = ""
        var reset = false
        if !async.isEmpty && rng.percent(60) {
            flags = " wp_matching"
            reset = true
            if rng.percent(50) {
                if async.count == mapped.count {
                    flags += " check_wpasync"
                } else if let f = mapped.first, !wpAsyncVMA(p, m, f) {
                    flags += " check_wpasync"
                    outcome = " -> EPERM"
                    reset = false
                } else {
                    return false
                }
            }
        } else if rng.percent(10), let f = mapped.first, !wpAsyncVMA(p, m, f) {
            flags = " check_wpasync"
            outcome = " -> EPERM"
        }
        emit("pagemap_scan \(ref(m, r))\(flags)\(outcome)")
        if reset {
            // make_uffd_wp_pte(): the written pages are protected again.
            for i in async {
                var pg = procs[p].pages[m][i]
                var pte: PTEs = []
                for s in pg.pte.each { pte.insert(s == .none ? .wpMarker : s) }
                pg.pte = pte
                if !pte.intersection([.file, .anon, .swap]).isEmpty { pg.wp = .yes }
                procs[p].pages[m][i] = pg
            }
        }
        return true
    }

    /// `expect pagemap_scan` with the categories that are certain over the range.
    mutating func expectPagemapScan(_ p: Int) -> Bool {
        let m = rng.below(mappings.count)
        let r = rng.percent(40) ? 0...(mappings[m].pages - 1) : range(m)
        var cats: [String] = []
        func category(_ name: String, _ member: (Page, Int) -> Tri) {
            var pages: [Int] = []
            for i in r {
                let pg = procs[p].pages[m][i]
                guard pg.mapped else { continue }
                switch member(pg, i) {
                case .yes: pages.append(i)
                case .no: break
                case .unknown: return
                }
            }
            cats.append("\(name)=\(pageIndicesText(pages))")
        }
        func among(_ pg: Page, _ set: PTEs) -> Tri {
            pg.pte.isSubset(of: set) ? .yes : pg.pte.intersection(set).isEmpty ? .no : .unknown
        }
        category("present") { pg, _ in among(pg, .present) }
        category("swapped") { pg, _ in pg.pte.contains(.poison) ? .unknown : among(pg, [.swap, .wpMarker, .guard_]) }
        category("guard") { pg, _ in among(pg, .guard_) }
        category("wpallowed") { _, i in self.wpAsyncVMA(p, m, i) ? .yes : .no }
        category("written") { pg, _ in
            // pagemap_page_category() (6.18.44): a none PTE is written, a page or swap entry
            // without the uffd-wp bit too, a uffd-wp marker is not; a range without a PTE
            // table is written on a uffd-wp VMA only, and whether a table exists is not
            // tracked here.
            var t: Tri? = nil
            for s in pg.pte.each {
                let w: Tri
                switch s {
                case .none: w = pg.modes.contains(.wp) ? .yes : .unknown
                case .wpMarker: w = .no
                case .guard_, .poison: w = .yes
                default: w = pg.wp == .yes ? .no : pg.wp == .no ? .yes : .unknown
                }
                t = t.map { $0.or(w) } ?? w
            }
            return t ?? .unknown
        }
        guard !cats.isEmpty else { return false }
        var chosen = cats.filter { _ in rng.percent(60) }
        if chosen.isEmpty { chosen = [rng.pick(cats)] }
        emit("expect pagemap_scan \(ref(m, r)) " + chosen.joined(separator: " "))
        return true
    }

    // MARK: - madvise

    /// A non-cooperative event the statement would raise, which would make it sleep until a
    /// handler reads it: the userfaultfds with EVENT_REMOVE (dontneed, free, remove) or
    /// EVENT_UNMAP (munmap) whose VMAs are in pages r.
    func eventOwners(_ p: Int, _ m: Int, _ r: ClosedRange<Int>, feature: String) -> [Int] {
        var out: [Int] = []
        for i in r {
            let pg = procs[p].pages[m][i]
            guard pg.mapped, let o = pg.owner, uffds[o].has(feature), !out.contains(o) else { continue }
            out.append(o)
        }
        return out
    }

    mutating func madvise(_ p: Int) -> Bool {
        var choice: [(String, Int)] = [
            ("dontneed", 8), ("pageout", 8), ("cold", 3), ("remove", plan.punch ? 5 : 2), ("free", plan.free ? 6 : 1),
            ("populate_read", plan.populate ? 6 : 1), ("populate_write", plan.populate ? 6 : 1),
            ("mergeable", plan.ksm ? 12 : 1), ("unmergeable", plan.ksm ? 4 : 1),
            ("guard_install", plan.guards ? 8 : 1), ("guard_remove", plan.guards ? 4 : 1),
        ]
        if !plan.zeroPages {
            let w = plan.forkAdvice ? 3 : 0
            choice += [("wipeonfork", w), ("keeponfork", w), ("dontfork", w), ("dofork", w)]
        }
        let advice = choice[rng.weighted(choice.map(\.1))].0
        for _ in 0..<6 {
            let m = rng.below(mappings.count)
            let r = range(m)
            if madvise(p, m, r, advice) { return true }
        }
        return false
    }

    /// `madvise REF ADVICE` with its predicted outcome, when it cannot sleep.
    mutating func madvise(_ p: Int, _ m: Int, _ r: ClosedRange<Int>, _ advice: String) -> Bool {
        if advice == "populate_read" || advice == "populate_write" { return populate(p, m, r, store: advice == "populate_write") }
        let kind = mappings[m].kind
        switch advice {
        case "dontneed", "free":
            if !eventOwners(p, m, r, feature: "event_remove").isEmpty { return false }
        case "remove":
            if kind.isShared && !eventOwners(p, m, r, feature: "event_remove").isEmpty { return false }
        case "guard_install":
            // Over a file VMA that may keep a uffd-wp marker, 6.18 loops forever (see the
            // file comment of ScenarioGenerator.swift).
            for i in r where !kind.isAnonVMA {
                let pg = procs[p].pages[m][i]
                if pg.pte.contains(.wpMarker) || (pg.modes.contains(.wp) && pg.wp != .no) { return false }
            }
        default:
            break
        }
        // madvise_walk_vmas(): VMA by VMA; an error stops the walk, a hole is ENOMEM at the end.
        var error: String? = nil
        var hole = false
        var done: [Int] = []
        for i in r {
            let pg = procs[p].pages[m][i]
            guard pg.mapped else { hole = true; continue }
            switch advice {
            case "remove":
                if kind == .anonPrivate { error = "EINVAL" }
                else if kind == .filePrivate { error = "EACCES" }     // vma_is_shared_maywrite()
            case "free":
                if !kind.isAnonVMA { error = "EINVAL" }
            case "wipeonfork":
                if kind != .anonPrivate { error = "EINVAL" }
            default:
                break
            }
            if error != nil { break }
            done.append(i)
        }
        let outcome = error.map { " -> \($0)" } ?? (hole ? " -> ENOMEM" : "")
        emit("madvise \(ref(m, r)) \(advice)\(outcome)")
        apply(advice: advice, p, m, done)
        return true
    }

    /// What an advice did to the pages it reached.
    mutating func apply(advice: String, _ p: Int, _ m: Int, _ done: [Int]) {
        guard let lo = done.first, let hi = done.last else { return }
        let kind = mappings[m].kind
        switch advice {
        case "dontneed":
            freeing()
            for i in done { zapped(p, m, i) }
        case "pageout":
            freeing()
            for i in done { pagedOut(p, m, i) }
        case "remove":
            freeing()
            if let o = mappings[m].object { for i in done { punched(object: o, page: mappings[m].objectPage(i)) } }
        case "free":
            freeing()
            for i in done { lazyFreed(p, m, i) }
        case "mergeable", "unmergeable":
            guard kind.ksmCompatible else { return }          // silently ignored (ksm_madvise())
            splitAt(m, lo...hi)
            for i in done {
                procs[p].pages[m][i].mergeable = advice == "mergeable" ? .yes : .no
                if advice == "unmergeable" { notExclusive(p, m, i) }
            }
            if advice == "mergeable" { procs[p].ksmRegistered = true }
            if advice == "unmergeable" && ksmScanned { freeing() }
        case "guard_install":
            freeing()
            for i in done {
                var pg = procs[p].pages[m][i]
                pg.pte = .guard_
                pg.zero = .no
                pg.pinned = .no
                pg.wp = .no
                pg.exclusive = false
                pg.lazyfree = .no
                pg.anonVMA = .yes
                procs[p].pages[m][i] = pg
            }
            anonVMAPrepared(p, m, done)
        case "guard_remove":
            for i in done where procs[p].pages[m][i].pte.contains(.guard_) {
                procs[p].pages[m][i].pte.remove(.guard_)
                procs[p].pages[m][i].pte.insert(.none)
            }
        case "wipeonfork", "keeponfork", "dontfork", "dofork":
            splitAt(m, lo...hi)
            for i in done {
                switch advice {
                case "wipeonfork": procs[p].pages[m][i].wipeonfork = true
                case "keeponfork": procs[p].pages[m][i].wipeonfork = false
                case "dontfork": procs[p].pages[m][i].dontfork = true
                default: procs[p].pages[m][i].dontfork = false
                }
            }
        default:
            break                                              // cold: the LRU only
        }
    }

    /// An anon_vma was prepared for the VMA around these pages: the rest of the mapping may
    /// be in the same VMA.
    mutating func anonVMAPrepared(_ p: Int, _ m: Int, _ pages: [Int]) {
        for j in procs[p].pages[m].indices where !pages.contains(j) && procs[p].pages[m][j].anonVMA == .no {
            procs[p].pages[m][j].anonVMA = .unknown
        }
    }

    /// madvise_free_pte_range() of one page of an anonymous VMA: a swap entry (or a poison
    /// marker) is freed, a present page becomes lazyfree.
    mutating func lazyFreed(_ p: Int, _ m: Int, _ i: Int) {
        var pg = procs[p].pages[m][i]
        var pte: PTEs = []
        for s in pg.pte.each {
            switch s {
            case .swap, .poison: pte.insert(.none)
            case .wpMarker: pte.formUnion([.wpMarker, .none])
            default: pte.insert(s)
            }
        }
        pg.pte = pte
        if pte.contains(.anon) { pg.lazyfree = pg.exclusive && pte == .anon ? .yes : .unknown }
        pg.exclusive = false
        procs[p].pages[m][i] = pg
    }

    /// MADV_POPULATE_READ/WRITE in the main flow or a child, when no page can sleep:
    /// madvise_populate() faults the pages in order; a hole is ENOMEM, a VMA the access is not
    /// allowed in EINVAL, a fault that would be a signal EFAULT (a poison marker EHWPOISON).
    mutating func populate(_ p: Int, _ m: Int, _ r: ClosedRange<Int>, store: Bool) -> Bool {
        var done: [Int] = []
        var outcome = ""
        for i in r {
            let pg = procs[p].pages[m][i]
            if !pg.mapped { outcome = " -> ENOMEM"; break }
            if !pg.prot.allows(store: store) { outcome = " -> EINVAL"; break }
            let f = faults(p, m, i, store: store)
            guard f.count == 1 else { return false }
            if f[0].isTrap { return false }
            if f[0] == .segv { outcome = " -> EFAULT"; break }
            if f[0] == .bus {
                if pg.pte == .poison { outcome = " -> EHWPOISON" } else if !pg.pte.contains(.poison) { outcome = " -> EFAULT" } else { return false }
                break
            }
            done.append(i)
        }
        emit("madvise \(ref(m, r)) populate_\(store ? "write" : "read")\(outcome)")
        for i in done { accessed(p, m, i, store: store) }
        if !store, done.count < r.count {
            let stop = r.lowerBound + done.count
            if procs[p].pages[m][stop].mapped { stoppedLoad(p, m, stop, faults(p, m, stop, store: false).first ?? .ok) }
        }
        if store && ksmScanned { freeing() }
        return true
    }

    // MARK: - mprotect, munmap, punch, pread, mmap

    mutating func mprotect(_ p: Int) -> Bool {
        let m = rng.below(mappings.count)
        let r = range(m)
        let prot: Prot = rng.percent(12) ? .none : rng.percent(50) ? .r : .rw
        // do_mprotect_pkey(): ENOMEM if the start is in a hole (nothing changes) or at the
        // first hole after it (the VMAs before it are changed).
        var outcome = ""
        var done: [Int] = []
        if !procs[p].pages[m][r.lowerBound].mapped {
            outcome = " -> ENOMEM"
        } else {
            for i in r {
                if !procs[p].pages[m][i].mapped { outcome = " -> ENOMEM"; break }
                done.append(i)
            }
        }
        emit("mprotect \(ref(m, r)) \(prot.rawValue)\(outcome)")
        for i in done { procs[p].pages[m][i].prot = prot }
        if let lo = done.first, let hi = done.last { splitAt(m, lo...hi) }
        return true
    }

    mutating func munmap(_ p: Int) -> Bool {
        let m = rng.below(mappings.count)
        let r = range(m, maxLength: 3)
        if !eventOwners(p, m, r, feature: "event_unmap").isEmpty { return false }
        emit("munmap \(ref(m, r))")
        unmapped(p, m, r)
        return true
    }

    mutating func unmapped(_ p: Int, _ m: Int, _ r: ClosedRange<Int>) {
        freeing()
        splitAt(m, r)
        for i in r { procs[p].pages[m][i] = Page(mapped: false, prot: .none) }
    }

    mutating func punch() -> Bool {
        let files = objects.indices.filter { objects[$0].name != nil }
        guard !files.isEmpty else { return false }
        let o = rng.pick(files)
        let n = objects[o].pages
        let first = rng.below(n)
        let last = rng.percent(50) ? first : min(n - 1, first + rng.below(6))
        let name = objects[o].name!
        freeing()
        emit("punch " + (last - first + 1 == n ? name : first == last ? "\(name)[\(first)]" : "\(name)[\(first)..\(last)]"))
        for k in first...last { punched(object: o, page: k) }
        return true
    }

    /// `pread`: the first 8 bytes of each page of a memfd (a hole reads 0 and stays a hole);
    /// ESPIPE on a guest_memfd.
    mutating func pread() -> Bool {
        let files = objects.indices.filter { objects[$0].name != nil }
        guard !files.isEmpty else { return false }
        let o = rng.pick(files)
        let n = objects[o].pages
        let first = rng.below(n)
        let last = rng.percent(50) ? first : min(n - 1, first + rng.below(6))
        let name = objects[o].name!
        let ref = last - first + 1 == n ? name : first == last ? "\(name)[\(first)]" : "\(name)[\(first)..\(last)]"
        emit("pread \(ref)" + (objects[o].guest ? " -> ESPIPE" : ""))
        return true
    }

    /// `pwrite`: pwrite(2) of each page of a memfd, through the page cache only: no PTE
    /// changes, but every page written is in the page cache afterwards (allocated for a hole,
    /// swapped in if it was out), which later faults see (fault-around, MISSING and MINOR);
    /// ESPIPE on a guest_memfd.
    mutating func pwrite() -> Bool {
        let files = objects.indices.filter { objects[$0].name != nil }
        guard !files.isEmpty else { return false }
        let o = rng.pick(files)
        let n = objects[o].pages
        let first = rng.below(n)
        let last = rng.percent(50) ? first : min(n - 1, first + rng.below(6))
        let name = objects[o].name!
        let ref = last - first + 1 == n ? name : first == last ? "\(name)[\(first)]" : "\(name)[\(first)..\(last)]"
        emit("pwrite \(ref) = \(token())" + (objects[o].guest ? " -> ESPIPE" : ""))
        if !objects[o].guest { for k in first...last { objects[o].slots[k] = .present } }
        return true
    }

    mutating func lateMmap() -> Bool {
        let files = objects.indices.filter { !objects[$0].guest && objects[$0].name != nil }
        let kind: MapKind = files.isEmpty || rng.percent(60) ? .anonPrivate : rng.pick([.filePrivate, .fileShared, .anonShared])
        return mapNew(kind, late: true)
    }

    // MARK: - GUP pins, conversion

    /// `pin NAME REF` in main: pin_user_pages(FOLL_WRITE | FOLL_LONGTERM) through io_uring.
    /// Every page is faulted in writable first (a COW page is copied); a first page without a
    /// VMA, without write permission, or whose fault is a signal (or a poison marker's
    /// HWPOISON) is EFAULT, and nothing is
    /// pinned. Never over a page that could userfault: the kernel's pin then sleeps in
    /// handle_userfault() (pin_user_pages_fast() faults with FOLL_UNLOCKABLE), see the file
    /// comment of ScenarioGenerator.swift.
    mutating func pin() -> Bool {
        for _ in 0..<6 {
            let m = rng.below(mappings.count)
            let r = range(m, maxLength: 4)
            let first = procs[0].pages[m][r.lowerBound]
            let name = "P\(pins.count + 1)"
            let f = faults(0, m, r.lowerBound, store: true)
            // A signal of the fault is EFAULT, a poison marker's VM_FAULT_HWPOISON too
            // (vm_fault_to_errno() without FOLL_HWPOISON).
            if !first.mapped || first.prot != .rw || f == [.segv] || f == [.bus] {
                emit("pin \(name) \(ref(m, r)) -> EFAULT")
                pins.append((name, m, r, false, false))
                return true
            }
            guard r.allSatisfy({ faults(0, m, $0, store: true) == [.ok] && procs[0].pages[m][$0].prot == .rw }) else { continue }
            emit("pin \(name) \(ref(m, r))")
            for i in r {
                let before = procs[0].pages[m][i]
                accessed(0, m, i, store: true)
                procs[0].pages[m][i].pinned = .yes
                // A present writable page is pinned without a fault (gup_fast()): a lazyfree
                // page stays lazyfree and clean.
                if before.lazyfree != .no && before.pte.contains(.anon) {
                    procs[0].pages[m][i].lazyfree = before.lazyfree
                    procs[0].pages[m][i].exclusive = false
                }
            }
            if ksmScanned { freeing() }
            pins.append((name, m, r, true, false))
            return true
        }
        return false
    }

    /// `unpin NAME`: ENXIO for a pin that pinned nothing.
    mutating func unpin() -> Bool {
        let open = pins.indices.filter { !pins[$0].released }
        guard !open.isEmpty else { return false }
        let k = rng.pick(open)
        pins[k].released = true
        emit("unpin \(pins[k].name)" + (pins[k].ok ? "" : " -> ENXIO"))
        if pins[k].ok {
            freeing()
            for i in pins[k].r where procs[0].pages[pins[k].m][i].pinned != .no {
                procs[0].pages[pins[k].m][i].pinned = .unknown   // another pin may hold it too
            }
            if !pins.contains(where: { !$0.released && $0.ok && $0.m == pins[k].m }) {
                for i in pins[k].r { procs[0].pages[pins[k].m][i].pinned = .no }
            }
        }
        return true
    }

    /// `convert F[…] private|shared`: 6.18 has no conversion ioctl (ENOTTY), nothing changes.
    mutating func convert() -> Bool {
        let files = objects.indices.filter { objects[$0].name != nil }
        guard !files.isEmpty else { return false }
        let o = rng.pick(files)
        let n = objects[o].pages
        let first = rng.below(n)
        let last = min(n - 1, first + rng.below(4))
        let name = objects[o].name!
        let ref = last - first + 1 == n ? name : first == last ? "\(name)[\(first)]" : "\(name)[\(first)..\(last)]"
        emit("convert \(ref) \(rng.percent(50) ? "private" : "shared") -> ENOTTY")
        return true
    }

    // MARK: - fork and children

    /// A plain `fork` (no userfaultfd with EVENT_FORK has a VMA it would copy).
    mutating func fork() -> Bool {
        guard forks < 2, forkEventOwners().isEmpty else { return false }
        emit("fork c\(forks + 1)")
        forked(eventUffd: nil)
        return true
    }

    /// The userfaultfds of main whose FORK event a fork would wait for: EVENT_FORK and a
    /// registered VMA that fork copies (dup_userfaultfd()).
    func forkEventOwners() -> [Int] {
        var out: [Int] = []
        for m in mappings.indices {
            for pg in procs[0].pages[m] where pg.mapped && !pg.dontfork {
                if let o = pg.owner, uffds[o].has("event_fork"), !out.contains(o) { out.append(o) }
            }
        }
        return out
    }

    /// The child's memory after dup_mmap(): VMAs with MADV_DONTFORK are not copied, VMAs with
    /// MADV_WIPEONFORK are empty, page tables are copied where vma_needs_copy() says so; the
    /// userfaultfd registration survives only through a userfaultfd with EVENT_FORK (which
    /// gets a copy for the child: `eventUffd`), else the uffd-wp bits and markers go.
    mutating func forked(eventUffd: Int?) {
        forks += 1
        let c = procs.count
        var child = Process(name: "c\(forks)", pages: [])
        child.ksmRegistered = procs[0].ksmRegistered
        child.mergeAny = procs[0].mergeAny
        var childUffd: Int? = nil
        if let u = eventUffd {
            uffds.append(Uffd(name: "\(uffds[u].name)_c\(forks)", process: c, features: uffds[u].features))
            childUffd = uffds.count - 1
        }
        for m in mappings.indices {
            let kind = mappings[m].kind
            var row: [Page] = []
            for i in procs[0].pages[m].indices {
                var pg = procs[0].pages[m][i]
                guard pg.mapped, !pg.dontfork else {
                    row.append(Page(mapped: false, prot: .none))
                    continue
                }
                let keeps = eventUffd != nil && pg.owner == eventUffd
                var cp = pg
                cp.owner = keeps ? childUffd : nil
                if !keeps { cp.modes = [] }
                let childWP = keeps && pg.modes.contains(.wp)
                if kind == .anonPrivate && pg.wipeonfork {
                    cp.pte = .none
                    cp.anonVMA = .no
                } else {
                    // vma_needs_copy(): a VMA without anon_vma (and without uffd-wp in the
                    // child) is not copied: the child faults its pages in later (a zero page
                    // read in the parent is a hole in the child).
                    let copied: Tri = childWP ? .yes : pg.anonVMA
                    var pte: PTEs = []
                    if copied.mayBeYes {
                        for s in pg.pte.each {
                            pte.insert(s == .wpMarker && !childWP ? .none : s)
                        }
                    }
                    if copied.mayBeNo { pte.insert(.none) }
                    cp.pte = pte
                }
                if !childWP { cp.wp = .no }
                cp.pinned = .no                                    // the child has a copy of a pinned page
                cp.exclusive = false
                pg.exclusive = false
                procs[0].pages[m][i] = pg
                row.append(cp)
            }
            child.pages.append(row)
        }
        procs.append(child)
    }

    /// `in cN { … }`: 1–4 statements in a child, sometimes ending with `exit`.
    mutating func inChild() -> Bool {
        let kids = procs.indices.filter { $0 != 0 && procs[$0].alive }
        guard !kids.isEmpty else { return false }
        let c = rng.pick(kids)
        emit("in \(procs[c].name) {")
        let saved = indent
        indent += "  "
        let n = rng.between(1, 4)
        var done = 0
        var tries = 0
        while done < n && tries < 30 {
            tries += 1
            if childStep(c) { done += 1 }
        }
        if done == 0 { emit("clear_refs 4") }
        if rng.percent(10) {
            emit("exit")
            exited(c)
        }
        indent = saved
        emit("}")
        return true
    }

    /// A statement in child c (blocks of `in`): no userfaultfd ioctls (their fds are in main).
    mutating func childStep(_ c: Int) -> Bool {
        switch rng.weighted([20, 12, identitiesClosed ? 0 : 6, 6, 14, 4, 2, 3, 2]) {
        case 0: return randomWrite(c)
        case 1: return randomRead(c)
        case 2: return pagemap(c)
        case 3: return expectPagemap(c)
        case 4: return madvise(c)
        case 5: return mprotect(c)
        case 6: return munmap(c)
        case 7: return pagemapScan(c)
        default: return expectPagemapScan(c)
        }
    }

    /// The process exits: exit_mmap() frees everything; its userfaultfd copies serve nothing.
    mutating func exited(_ c: Int) {
        freeing()
        procs[c].alive = false
        for m in procs[c].pages.indices {
            for i in procs[c].pages[m].indices { procs[c].pages[m][i] = Page(mapped: false, prot: .none) }
        }
        for u in uffds.indices where uffds[u].process == c { uffds[u].alive = false }
    }
}
