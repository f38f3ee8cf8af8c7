// SPDX-License-Identifier: Apache-2.0
//
// userfaultfd: creation with features, registration in every mode, write-protection, the
// fill ioctls and wake with the errors 6.18 gives, and the episodes in which a thread sleeps
// in the kernel until a handler reads its message and resolves it.

import MMLab

extension ScenarioGenerator {
    // MARK: - Creation and registration

    /// A userfaultfd that can take part in an episode: alive, its queue predicted, read from main.
    func eligible(_ u: Int) -> Bool { uffds[u].alive && !uffds[u].dirty }

    /// At the start: one or two userfaultfds, each registering a mapping.
    mutating func uffdSetUp() {
        for _ in 0..<rng.between(1, 2) {
            guard uffdCreate() else { return }
            let u = uffds.count - 1
            for _ in 0..<4 {
                let m = rng.below(mappings.count)
                let r = rng.percent(70) ? 0...(mappings[m].pages - 1) : range(m)
                if register(u, m, r) { break }
            }
        }
    }

    mutating func uffdCreate() -> Bool {
        let taken = uffds.filter { $0.process == 0 }.map(\.name)
        guard let name = ["U", "V", "W"].first(where: { !taken.contains($0) }) else { return false }
        var features: [String] = []
        if plan.async && rng.percent(45) { features.append("wp_async") }
        if plan.sigbus && rng.percent(50) { features.append("sigbus") }
        if plan.events {
            let forking = uffds.contains { $0.process == 0 && $0.has("event_fork") }
            if !forking && plan.fork && rng.percent(50) { features.append("event_fork") }
            if rng.percent(55) { features.append("event_remove") }
            if rng.percent(55) { features.append("event_unmap") }
        }
        for f in ["pagefault_flag_wp", "thread_id", "wp_unpopulated", "exact_address", "missing_shmem", "minor_shmem",
                  "poison", "event_remap", "move", "wp_hugetlbfs_shmem", "missing_hugetlbfs", "minor_hugetlbfs"] where rng.percent(9) {
            features.append(f)
        }
        // The language writes them in any order; keep UFFD_FEATURE_* order for reading.
        let order = UffdFeatures.names.map(\.0)
        features.sort { order.firstIndex(of: $0)! < order.firstIndex(of: $1)! }
        uffds.append(Uffd(name: name, process: 0, features: features))
        emit("uffd \(name)" + (features.isEmpty ? "" : " features=" + features.joined(separator: ",")))
        return true
    }

    /// Register modes the plan uses, for a mapping kind.
    mutating func modes(for kind: MapKind, _ u: Int) -> Modes {
        if kind == .guestShared { return .wp }
        var choice: [Modes] = []
        if plan.missing { choice += [.missing, .missing] }
        if plan.wp || uffds[u].async { choice += [.wp, .wp] }
        if plan.missing && (plan.wp || uffds[u].async) { choice.append([.missing, .wp]) }
        if plan.minor && kind.isShmem { choice += [.minor, .minor, [.minor, .wp]] }
        if plan.minor && rng.percent(5) { choice.append(.minor) }   // EINVAL on anonymous memory
        return choice.isEmpty ? .wp : rng.pick(choice)
    }

    mutating func uffdRegister() -> Bool {
        let mine = uffds.indices.filter { uffds[$0].alive && uffds[$0].process == 0 }
        guard !mine.isEmpty else { return false }
        let u = rng.pick(mine)
        for _ in 0..<4 {
            let m = rng.below(mappings.count)
            let r = rng.percent(45) ? 0...(mappings[m].pages - 1) : range(m)
            if register(u, m, r) { return true }
        }
        return false
    }

    /// `uffd U register REF MODES` in main, with its outcome: userfaultfd_register() checks
    /// every VMA first (vma_can_userfault(): EINVAL; another userfaultfd: EBUSY), then
    /// registers them all.
    mutating func register(_ u: Int, _ m: Int, _ r: ClosedRange<Int>) -> Bool {
        let kind = mappings[m].kind
        let md = modes(for: kind, u)
        // Not across a hole (whether the kernel registers part of it is not tracked), and
        // never a registration that would leave uffd-wp bits on a VMA without wp.
        for i in r {
            let pg = procs[0].pages[m][i]
            guard pg.mapped else { return false }
            if pg.owner == u && !pg.modes.isSubset(of: md) { return false }
        }
        var error: String? = nil
        for i in r {
            let pg = procs[0].pages[m][i]
            let compatible: Bool
            if kind == .guestShared { compatible = md == .wp && uffds[u].async }
            else if md.contains(.minor) { compatible = kind.isShmem }
            else { compatible = true }
            if !compatible { error = "EINVAL"; break }
            if let o = pg.owner, o != u { error = "EBUSY"; break }
        }
        emit("uffd \(uffds[u].name) register \(ref(m, r)) \(md.words)" + (error.map { " -> \($0)" } ?? ""))
        guard error == nil else { return true }
        splitAt(m, r)
        for i in r {
            procs[0].pages[m][i].owner = u
            procs[0].pages[m][i].modes = md
        }
        return true
    }

    mutating func uffdUnregister() -> Bool {
        let mine = uffds.indices.filter { uffds[$0].alive && uffds[$0].process == 0 }
        guard !mine.isEmpty else { return false }
        let u = rng.pick(mine)
        let m: Int, r: ClosedRange<Int>
        if let (m1, r1) = ownedRange(u), rng.percent(85) { (m, r) = (m1, r1) } else {
            m = rng.below(mappings.count)
            r = range(m)
        }
        return unregister(u, m, r)
    }

    /// `uffd U unregister REF`: EINVAL where another userfaultfd has a VMA of the range, or on
    /// a guest_memfd for a userfaultfd without WP_ASYNC (vma_can_userfault()); else every VMA
    /// of U in the range loses the registration, its uffd-wp bits and markers, and its waiters
    /// are woken.
    mutating func unregister(_ u: Int, _ m: Int, _ r: ClosedRange<Int>) -> Bool {
        let p = uffds[u].process
        guard p == 0 else { return false }
        var error: String? = nil
        for i in r {
            let pg = procs[p].pages[m][i]
            guard pg.mapped else { return false }
            if let o = pg.owner, o != u { error = "EINVAL"; break }
            // vma_can_userfault() with the VMA's own flags: a guest_memfd VMA only while it is
            // registered wp alone by a WP_ASYNC userfaultfd.
            if mappings[m].kind == .guestShared && !(uffds[u].async && pg.owner == u && pg.modes == .wp) { error = "EINVAL"; break }
        }
        emit("uffd \(uffds[u].name) unregister \(ref(m, r))" + (error.map { " -> \($0)" } ?? ""))
        guard error == nil else { return true }
        unregistered(p, u, m, r)
        return true
    }

    /// userfaultfd_clear_vma(): uffd_wp_range(…, false) for a wp VMA, then no registration.
    mutating func unregistered(_ p: Int, _ u: Int, _ m: Int, _ r: ClosedRange<Int>) {
        splitAt(m, r)
        for i in r where procs[p].pages[m][i].owner == u {
            if procs[p].pages[m][i].modes.contains(.wp) { unprotected(p, m, i...i) }
            procs[p].pages[m][i].owner = nil
            procs[p].pages[m][i].modes = []
        }
    }

    /// A run of pages that userfaultfd u has registered, in one mapping, if any.
    mutating func ownedRange(_ u: Int, wp: Bool = false) -> (Int, ClosedRange<Int>)? {
        let p = uffds[u].process
        for _ in 0..<8 {
            let m = rng.below(mappings.count)
            let owned = procs[p].pages[m].indices.filter {
                let pg = procs[p].pages[m][$0]
                return pg.mapped && (wp ? pg.modes.contains(.wp) : pg.owner == u)
            }
            guard !owned.isEmpty else { continue }
            let start = rng.pick(owned)
            var end = start
            let want = rng.percent(40) ? 0 : rng.below(6)
            while end - start < want && owned.contains(end + 1) { end += 1 }
            return (m, start...end)
        }
        return nil
    }

    // MARK: - Write-protection

    mutating func uffdWP(protect: Bool) -> Bool {
        let live = uffds.indices.filter { uffds[$0].alive }
        guard !live.isEmpty else { return false }
        let u = rng.pick(live)
        let p = uffds[u].process
        let m: Int, r: ClosedRange<Int>
        if let (m1, r1) = ownedRange(u, wp: true), rng.percent(90) { (m, r) = (m1, r1) } else {
            m = rng.below(mappings.count)
            r = range(m)
        }
        return writeProtect(u, p, m, r, protect: protect, dontwake: !protect && rng.percent(20))
    }

    /// `uffd U wp|unwp REF`: mwriteprotect_range() walks the VMAs of the range (holes are
    /// skipped) and stops with ENOENT at the first without VM_UFFD_WP; the userfaultfd that
    /// owns a VMA is not checked.
    mutating func writeProtect(_ u: Int, _ p: Int, _ m: Int, _ r: ClosedRange<Int>, protect: Bool, dontwake: Bool) -> Bool {
        var done: [Int] = []
        var error = false
        for i in r {
            let pg = procs[p].pages[m][i]
            guard pg.mapped else { continue }
            if !pg.modes.contains(.wp) { error = true; break }
            done.append(i)
        }
        if done.isEmpty { error = true }
        let word = protect ? "wp" : "unwp"
        emit("uffd \(uffds[u].name) \(word) \(ref(m, r))" + (dontwake ? " dontwake" : "") + (error ? " -> ENOENT" : ""))
        for i in done {
            if protect { protected(p, m, i) } else { unprotected(p, m, i...i) }
        }
        return true
    }

    /// uffd_wp_range(…, true) on one page of a wp VMA: the bit on a present or swap PTE, a
    /// marker on an empty one where markers are used (userfaultfd_wp_use_markers(): file
    /// VMAs, and anonymous VMAs with WP_UNPOPULATED).
    mutating func protected(_ p: Int, _ m: Int, _ i: Int) {
        var pg = procs[p].pages[m][i]
        let markers = !mappings[m].kind.isAnonVMA || (pg.owner.map { uffds[$0].wpUnpopulated } ?? false)
        var pte: PTEs = []
        for s in pg.pte.each { pte.insert(s == .none && markers ? .wpMarker : s) }
        pg.pte = pte
        if !pte.intersection([.file, .anon, .swap]).isEmpty { pg.wp = .yes }
        procs[p].pages[m][i] = pg
    }

    /// uffd_wp_range(…, false): the bits go, markers become none PTEs.
    mutating func unprotected(_ p: Int, _ m: Int, _ r: ClosedRange<Int>) {
        for i in r where procs[p].pages[m][i].modes.contains(.wp) {
            var pg = procs[p].pages[m][i]
            if pg.pte.contains(.wpMarker) {
                pg.pte.remove(.wpMarker)
                pg.pte.insert(.none)
            }
            pg.wp = .no
            procs[p].pages[m][i] = pg
        }
    }

    // MARK: - Fill ioctls

    enum Fill: String { case copy, zeropage, poison, `continue` }

    /// Whether `fill` of pages r certainly succeeds (true), certainly fails on its first page
    /// with EEXIST (false), or is not certain (nil). The caller checks the VMA.
    func fillable(_ p: Int, _ m: Int, _ r: ClosedRange<Int>, _ fill: Fill) -> Bool? {
        let kind = mappings[m].kind
        var all = true
        for (n, i) in r.enumerated() {
            let pg = procs[p].pages[m][i]
            let slots = mappings[m].object.map { objects[$0].slots[mappings[m].objectPage(i)] }
            let ok: Tri
            switch fill {
            case .copy, .zeropage:
                if fill == .zeropage && !kind.isShared {
                    ok = pg.pte == .none ? .yes : pg.pte.contains(.none) ? .unknown : .no
                } else if pg.pte.isSubset(of: .overwritable) {
                    if kind.isShared, let s = slots {   // shmem_mfill_atomic_pte(): a new page-cache page
                        ok = s == .absent ? .yes : s.contains(.absent) ? .unknown : .no
                    } else {
                        ok = .yes
                    }
                } else {
                    ok = pg.pte.intersection(.overwritable).isEmpty ? .no : .unknown
                }
            case .poison:
                ok = pg.pte == .none ? .yes : pg.pte.contains(.none) ? .unknown : .no
            case .continue:
                guard pg.pte.isSubset(of: .overwritable), let s = slots else { return nil }
                if !s.isSubset(of: .cached) { return nil }      // EFAULT with nothing cached
                ok = .yes
            }
            switch ok {
            case .yes: continue
            case .no: if n == 0 { return false }; all = false; return nil   // EAGAIN part-way: not predicted
            case .unknown: return nil
            }
        }
        return all
    }

    mutating func uffdFill() -> Bool {
        let live = uffds.indices.filter { uffds[$0].alive }
        guard !live.isEmpty else { return false }
        let u = rng.pick(live)
        let p = uffds[u].process
        let fill = rng.pick([Fill.copy, .copy, .zeropage, .poison, .continue])
        for _ in 0..<6 {
            let m: Int, r: ClosedRange<Int>
            if let (m1, r1) = ownedRange(u), rng.percent(90) { (m, r) = (m1, r1) } else {
                m = rng.below(mappings.count)
                r = range(m, maxLength: 3)
            }
            if fillStatement(u, p, m, r, fill, wake: true) { return true }
        }
        return false
    }

    /// `uffd U copy|zeropage|poison|continue REF` with its outcome (mfill_atomic()): ENOENT
    /// without a registered VMA at the start or a range beyond it, EINVAL for MODE_WP without
    /// wp, for CONTINUE outside shmem and for a guest_memfd; EEXIST where the first page is
    /// taken. Returns false when the outcome is not certain.
    mutating func fillStatement(_ u: Int, _ p: Int, _ m: Int, _ r: ClosedRange<Int>, _ fill: Fill,
                                wake: Bool, wpFlag: Bool? = nil, dontwake: Bool = false) -> Bool {
        let kind = mappings[m].kind
        let first = procs[p].pages[m][r.lowerBound]
        let wantWP = wpFlag ?? ((fill == .copy || fill == .continue) && first.modes.contains(.wp) && rng.percent(25))
        var outcome: String? = nil
        if !first.mapped || first.owner == nil {
            outcome = "ENOENT"
        } else if !oneVMA(m, r) || r.contains(where: { procs[p].pages[m][$0].owner != first.owner || !procs[p].pages[m][$0].mapped }) {
            return false
        } else if kind == .guestShared {
            outcome = "EINVAL"
        } else if wantWP && !first.modes.contains(.wp) {
            outcome = "EINVAL"
        } else if fill == .continue && !kind.isShmem {
            outcome = "EINVAL"
        } else {
            guard let ok = fillable(p, m, r, fill) else { return false }
            if !ok { outcome = "EEXIST" }
        }
        var text = "uffd \(uffds[u].name) \(fill.rawValue) \(ref(m, r))"
        var tok = ""
        if fill == .copy {
            tok = rng.percent(70) ? "0x\(String(0xc0 + rng.below(0x30), radix: 16))" : token()
            text += " = \(tok)"
        }
        if wantWP { text += " wp" }
        if dontwake { text += " dontwake" }
        emit(text + (outcome.map { " -> \($0)" } ?? ""))
        // find_vma_and_prepare_anon(): the lookup gives a private VMA its anon_vma, whatever
        // the outcome.
        if first.mapped && !kind.isShared && procs[p].pages[m][r.lowerBound].anonVMA != .yes {
            procs[p].pages[m][r.lowerBound].anonVMA = .yes
            anonVMAPrepared(p, m, [r.lowerBound])
        }
        if outcome == nil { filled(p, m, r, fill, wp: wantWP) }
        return true
    }

    /// The pages after a fill that succeeded.
    mutating func filled(_ p: Int, _ m: Int, _ r: ClosedRange<Int>, _ fill: Fill, wp: Bool) {
        let kind = mappings[m].kind
        if !kind.isShared && fill == .copy { anonVMAPrepared(p, m, Array(r)) }
        for i in r {
            var pg = procs[p].pages[m][i]
            switch fill {
            case .poison:
                pg.pte = .poison
                pg.wp = .no
                pg.zero = .no
            case .continue:
                pg.pte = .file
                pg.wp = wp ? .yes : .no
                pg.zero = .no
            case .copy, .zeropage:
                pg.pte = kind.isShared ? .file : .anon
                pg.wp = wp ? .yes : .no
                pg.exclusive = !kind.isShared && fill == .copy
                pg.lazyfree = .no
                pg.zero = !kind.isShared && fill == .zeropage ? .yes : .no
                if !kind.isShared && fill == .copy { pg.anonVMA = .yes }   // mfill_atomic_pte_copy(): anon_vma_prepare()
            }
            pg.pinned = .no
            procs[p].pages[m][i] = pg
            // A copy or zeropage into shared shmem adds a page-cache page; CONTINUE maps
            // (and swaps in) the one there; a poison marker is a PTE only.
            if (kind.isShared && fill != .poison) || fill == .continue, let o = mappings[m].object {
                objects[o].slots[mappings[m].objectPage(i)] = .present
            }
        }
    }

    mutating func uffdWake() -> Bool {
        let live = uffds.indices.filter { uffds[$0].alive }
        guard !live.isEmpty else { return false }
        let u = rng.pick(live)
        let m = rng.below(mappings.count)
        emit("uffd \(uffds[u].name) wake \(ref(m, range(m)))")   // validate_range() only
        return true
    }

    mutating func expectNoEvent() -> Bool {
        let ok = uffds.indices.filter { eligible($0) }
        guard !ok.isEmpty else { return false }
        emit("expect no event \(uffds[rng.pick(ok)].name)")
        return true
    }

    // MARK: - Episodes

    /// The lines that put `body` in a new thread of process p (`in cN { thread T { … } }`).
    func threadLines(_ p: Int, _ name: String, _ body: [String]) -> [String] {
        if p == 0 { return ["thread \(name) {"] + body.map { "  " + $0 } + ["}"] }
        return ["in \(procs[p].name) {", "  thread \(name) {"] + body.map { "    " + $0 } + ["  }", "}"]
    }

    func joinLines(_ p: Int, _ name: String) -> [String] {
        p == 0 ? ["join \(name)"] : ["in \(procs[p].name) {", "  join \(name)", "}"]
    }

    /// Emits lines made elsewhere at the current indentation.
    mutating func emitAll(_ list: [String]) { for l in list { emit(l) } }

    /// Lines emitted while `body` runs, taken out of the scenario (to be placed later).
    mutating func capture(_ body: (inout ScenarioGenerator) -> Bool) -> [String]? {
        let mark = lines.count
        let saved = indent
        indent = ""
        let ok = body(&self)
        indent = saved
        let out = Array(lines[mark...])
        lines.removeSubrange(mark...)
        return ok ? out : nil
    }

    /// A thread faults on a page that certainly traps; a handler (the main flow, or a handler
    /// thread) reads the message and resolves it, as often as the thread traps again.
    mutating func faultEpisode() -> Bool {
        let owners = uffds.indices.filter { eligible($0) }
        guard !owners.isEmpty else { return false }
        let u0 = rng.pick(owners)
        let p = uffds[u0].process
        guard procs[p].alive else { return false }
        enum Access { case load, store, populateRead, populateWrite }
        let access = rng.pick([Access.store, .store, .load, .load, .populateRead, .populateWrite])
        let store = access == .store || access == .populateWrite
        let populate = access == .populateRead || access == .populateWrite
        // Pages that certainly trap, for a userfaultfd that can take part.
        var cands: [(Int, Int)] = []
        for m in mappings.indices {
            for i in procs[p].pages[m].indices {
                let f = faults(p, m, i, store: store)
                guard f.count == 1, f[0].isTrap, let o = procs[p].pages[m][i].owner, eligible(o) else { continue }
                cands.append((m, i))
            }
        }
        guard !cands.isEmpty else { return false }
        let (m, k) = rng.pick(cands)
        // The range: sometimes pages before that certainly succeed, and pages after whose
        // outcome is certain (they may trap too).
        var a = k, j = k
        if rng.percent(30) {
            while a > 0 && k - a < 3 && faults(p, m, a - 1, store: store) == [.ok] { a -= 1 }
        }
        if rng.percent(40) {
            while j + 1 < mappings[m].pages && j - k < 4 {
                let f = faults(p, m, j + 1, store: store)
                guard f.count == 1, f[0] == .ok || (f[0].isTrap && procs[p].pages[m][j + 1].owner.map(eligible) == true) else { break }
                j += 1
            }
        }
        let r = a...j
        threads += 1
        let tName = "T\(threads)"
        let tok = token()
        for i in a..<k { accessed(p, m, i, store: store) }
        if !store { stoppedLoad(p, m, k, faults(p, m, k, store: false)[0]) }
        var handler: [String] = []
        var t = k
        var outcome = ""
        var finished = false
        var rounds = 0
        for _ in 0..<4 {
            rounds += 1
            let pg = procs[p].pages[m][t]
            let f = faults(p, m, t, store: store)[0]
            guard let o = pg.owner, eligible(o) else { return false }
            let flags = (f == .minor ? " minor" : f == .wp ? " wp" : "") + (store ? " write" : "")
            handler.append("expect event \(uffds[o].name) pagefault \(ref(m, t...t))\(flags)")
            if rng.percent(15) { handler.append("expect no event \(uffds[o].name)") }
            guard let lines = capture({ $0.resolve(o, p, m, t, j, f, populate: populate) }) else { return false }
            handler += lines
            // The thread retries from page t.
            guard let pl = accessPlan(p, m, t...j, store: store) else { return false }
            let end = pl.stop ?? (j + 1)
            for i in t..<end { accessed(p, m, i, store: store) }
            if pl.stop == nil { finished = true; break }
            if !store, let stop = pl.stop { stoppedLoad(p, m, stop, pl.fault) }
            if pl.fault.isTrap { t = pl.stop!; continue }
            if populate { return false }
            outcome = Self.signal(pl.fault)
            finished = true
            break
        }
        guard finished else { return false }
        let statement: String
        switch access {
        case .store: statement = "write \(ref(m, r)) = \(tok)"
        case .load: statement = "read \(ref(m, r))"
        case .populateRead: statement = "madvise \(ref(m, r)) populate_read"
        case .populateWrite: statement = "madvise \(ref(m, r)) populate_write"
        }
        emitAll(threadLines(p, tName, [statement + outcome]))
        // A handler thread runs on after its last ioctl woke the faulting thread (which runs
        // when the handler is done, under `run`'s schedule; at once on the kernel): it may
        // resolve one fault only, and observe nothing after it.
        if rounds == 1 && rng.percent(40) {
            threads += 1
            let hName = "T\(threads)"
            emitAll(["thread \(hName) {"] + handler.map { "  " + $0 } + ["}"])
            emitAll(joinLines(p, tName))
            emit("join \(hName)")
        } else {
            emitAll(handler)
            emitAll(joinLines(p, tName))
        }
        if access == .store && outcome.isEmpty && rng.percent(35) {
            emitAll(p == 0 ? ["expect read \(ref(m, r)) == \(tok)"]
                    : ["in \(procs[p].name) {", "  expect read \(ref(m, r)) == \(tok)", "}"])
        }
        if ksmScanned && store { freeing() }
        episodes += 1
        return true
    }

    /// The handler's answer to a fault of kind f at page t (the thread's range ends at j).
    mutating func resolve(_ o: Int, _ p: Int, _ m: Int, _ t: Int, _ j: Int, _ f: Fault, populate: Bool) -> Bool {
        let pg = procs[p].pages[m][t]
        // The pages a range resolution may cover: registered by o in one VMA.
        var e = t
        if rng.percent(40) {
            while e + 1 <= j && e - t < 3 && procs[p].pages[m][e + 1].owner == o && procs[p].pages[m][e + 1].mapped
                    && oneVMA(m, t...(e + 1)) { e += 1 }
        }
        let dontwake = rng.percent(20)
        func thenWake(_ g: inout ScenarioGenerator) {
            if dontwake { g.emit("uffd \(g.uffds[o].name) wake \(g.ref(m, t...e))") }
        }
        var choices: [Int] = [5]                                   // 5: wake only (traps again)
        if uffds[o].process == 0 { choices.append(6) }            // 6: unregister
        switch f {
        case .missing:
            choices += [0, 0, 0, 1, 1]                             // copy, zeropage
            if !populate && pg.pte == .none { choices.append(2) }  // poison: the access gets SIGBUS
        case .minor:
            choices += [3, 3, 3]                                   // continue
        default:
            choices += [4, 4, 4]                                   // unwp
        }
        switch rng.pick(choices) {
        case 0:
            guard fillable(p, m, t...e, .copy) == true || fillable(p, m, t...t, .copy) == true else { return false }
            if fillable(p, m, t...e, .copy) != true { e = t }
            let wp = pg.modes.contains(.wp) && rng.percent(30)
            guard fillStatement(o, p, m, t...e, .copy, wake: !dontwake, wpFlag: wp, dontwake: dontwake) else { return false }
            thenWake(&self)
        case 1:
            if fillable(p, m, t...e, .zeropage) != true { e = t }
            guard fillable(p, m, t...e, .zeropage) == true else { return false }
            guard fillStatement(o, p, m, t...e, .zeropage, wake: !dontwake, wpFlag: false, dontwake: dontwake) else { return false }
            thenWake(&self)
        case 2:
            e = t
            guard fillStatement(o, p, m, t...t, .poison, wake: !dontwake, wpFlag: false, dontwake: dontwake) else { return false }
            thenWake(&self)
        case 3:
            if fillable(p, m, t...e, .continue) != true { e = t }
            guard fillable(p, m, t...e, .continue) == true else { return false }
            let wp = pg.modes.contains(.wp) && rng.percent(30)
            guard fillStatement(o, p, m, t...e, .continue, wake: !dontwake, wpFlag: wp, dontwake: dontwake) else { return false }
            thenWake(&self)
        case 4:
            while e > t && !procs[p].pages[m][e].modes.contains(.wp) { e -= 1 }
            guard writeProtect(o, p, m, t...e, protect: false, dontwake: dontwake) else { return false }
            thenWake(&self)
        case 5:
            emit("uffd \(uffds[o].name) wake \(ref(m, t...t))")
        default:
            while e > t && procs[p].pages[m][e].owner != o { e -= 1 }
            // Unregistering wakes the faults of a MISSING VMA only; others need a wake.
            let missing = pg.modes.contains(.missing)
            guard unregister(o, m, t...e) else { return false }
            if !missing { emit("uffd \(uffds[o].name) wake \(ref(m, t...t))") }
        }
        return true
    }

    /// A thread's munmap, madvise (dontneed, free, remove) or fork sleeps until a handler
    /// reads its non-cooperative event; while the event is unread, the fill and wp ioctls of
    /// that userfaultfd fail with EAGAIN (mmap_changing).
    mutating func eventEpisode() -> Bool {
        var kinds = ["remove", "unmap"]
        if forks < 2 { kinds.append("fork") }
        let kind = rng.pick(kinds)
        threads += 1
        let tName = "T\(threads)"
        var body: String
        var event: String
        let u: Int, p: Int
        var after: (inout ScenarioGenerator) -> Void
        switch kind {
        case "fork":
            let owners = forkEventOwners()
            guard owners.count == 1, eligible(owners[0]) else { return false }
            u = owners[0]
            p = 0
            body = "fork c\(forks + 1)"
            event = "fork"
            after = { $0.forked(eventUffd: u) }
        case "remove":
            let cands = uffds.indices.filter { eligible($0) && uffds[$0].has("event_remove") && procs[uffds[$0].process].alive }
            guard !cands.isEmpty else { return false }
            u = rng.pick(cands)
            p = uffds[u].process
            guard let (m, r0) = ownedRange(u) else { return false }
            var r = r0
            while r.count > 1 && !oneVMA(m, r) { r = r.lowerBound...(r.upperBound - 1) }
            let mk = mappings[m].kind
            var advices = ["dontneed", "dontneed", "free"]
            if mk.isShared && mk != .guestShared { advices.append("remove") }
            let advice = rng.pick(advices)
            let fails = advice == "free" && !mk.isAnonVMA
            body = "madvise \(ref(m, r)) \(advice)" + (fails ? " -> EINVAL" : "")
            event = "remove \(ref(m, r))"
            after = { g in
                g.freeing()
                switch advice {
                case "dontneed": for i in r { g.zapped(p, m, i) }
                case "free": if !fails { for i in r { g.lazyFreed(p, m, i) } }
                default: for i in r { g.punched(object: g.mappings[m].object!, page: g.mappings[m].objectPage(i)) }
                }
            }
        default:
            let cands = uffds.indices.filter { eligible($0) && uffds[$0].has("event_unmap") && procs[uffds[$0].process].alive }
            guard !cands.isEmpty else { return false }
            u = rng.pick(cands)
            p = uffds[u].process
            guard let (m, r0) = ownedRange(u) else { return false }
            var r = r0
            if rng.percent(40) && r.upperBound + 1 < mappings[m].pages && procs[p].pages[m][r.upperBound + 1].mapped {
                r = r.lowerBound...(r.upperBound + 1)
            }
            guard eventOwners(p, m, r, feature: "event_unmap") == [u] else { return false }
            body = "munmap \(ref(m, r))"
            event = "unmap \(ref(m, r))"
            after = { $0.unmapped(p, m, r) }
        }
        emitAll(threadLines(p, tName, [body]))
        if rng.percent(40) {
            // mmap_changing: any fill or wp ioctl of u fails at once.
            let here = mappings.indices.filter { m in procs[p].pages[m].contains { $0.mapped } }
            guard let m = here.isEmpty ? nil : rng.pick(here) else { return false }
            let i = rng.below(mappings[m].pages)
            let probe = rng.pick(["zeropage \(ref(m, i...i))", "copy \(ref(m, i...i)) = 0x1", "wp \(ref(m, i...i))",
                                  "poison \(ref(m, i...i))"])
            emit("uffd \(uffds[u].name) \(probe) -> EAGAIN")
        }
        emit("expect event \(uffds[u].name) \(event)")
        emitAll(joinLines(p, tName))
        after(&self)
        if rng.percent(20) { emit("expect no event \(uffds[u].name)") }
        episodes += 1
        return true
    }

    /// KSM × uffd-wp: a store to a page whose uffd-wp bit may or may not have survived (a KSM
    /// merge replaced the PTEs of all but one page of a content). A thread stores; the main
    /// flow unprotects the page, which wakes the thread if it slept. The userfaultfd may then
    /// hold a message nobody read: its queue is no longer predicted.
    mutating func unsureStoreEpisode() -> Bool {
        var cands: [(Int, Int, Int)] = []
        for p in alive {
            for m in mappings.indices {
                for i in procs[p].pages[m].indices {
                    let f = faults(p, m, i, store: true)
                    guard f.count == 2, f.contains(.wp), f.contains(.ok), let o = procs[p].pages[m][i].owner,
                          uffds[o].alive, !uffds[o].async else { continue }
                    cands.append((p, m, i))
                }
            }
        }
        guard !cands.isEmpty else { return false }
        let (p, m, i) = rng.pick(cands)
        let o = procs[p].pages[m][i].owner!
        threads += 1
        let tName = "T\(threads)"
        emitAll(threadLines(p, tName, ["write \(ref(m, i...i)) = \(token())"]))
        emit("uffd \(uffds[o].name) unwp \(ref(m, i...i))")
        emitAll(joinLines(p, tName))
        unprotected(p, m, i...i)
        accessed(p, m, i, store: true)
        uffds[o].dirty = true
        freeing()
        episodes += 1
        return true
    }
}
