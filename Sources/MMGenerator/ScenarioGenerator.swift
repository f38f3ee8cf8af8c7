// SPDX-License-Identifier: Apache-2.0
//
// Random `.mms` scenarios for the differential test (`mmlab diff --random N --seed S`) and
// for the model's own tests: every statement the live backend runs, with interactions across
// features, each scenario valid (it parses and checks), never blocking forever under the
// default schedule of `run`, and with outcomes it states (`-> SIGSEGV`, `-> EEXIST`, the
// events a handler expects) that hold on Linux 6.18. Deterministic: the text depends on the
// seed only (our own SplitMix64; no Set/Dictionary order decides anything).
//
// A scenario draws a *plan* first: which features it uses (swap, shmem, guest_memfd, fork,
// userfaultfd in missing/wp/minor mode, wp_async, sigbus, non-cooperative events, KSM with
// prctl and use_zero_pages, guard regions, PAGEMAP_SCAN, populate, mprotect, munmap, punch,
// MADV_FREE, the fork advices), each with its own probability, so that every pair of features
// meets in some scenarios. Then set-up (swap, memfds, a guest_memfd, 2–5 mappings), then
// 12–45 steps drawn with weights that depend on the plan and on the state: accesses,
// observations (`pagemap`, `expect pagemap`, `expect read`, `pagemap_scan` and
// `expect pagemap_scan`), every madvise advice over partial ranges, mprotect, munmap, punch,
// pread, late mmaps, `when design` blocks, pins, `convert`, fork with `in cN { … }` blocks and
// `exit`, the userfaultfd ioctls, KSM statements (and KSM × uffd-wp set-ups), and *episodes*: a thread that faults (a load, a store or a populate) on a page
// the generator knows will trap, and a handler (the main flow, or a handler thread) that reads
// the event and resolves it with copy, zeropage, continue, poison, unwp, wake after
// `dontwake`, or unregister — sometimes twice (a `copy … wp` makes the retried store trap
// again); a thread whose munmap, dontneed/remove/free or fork sleeps until a handler reads
// its UNMAP, REMOVE or FORK event (while it is unread, the fill ioctls give EAGAIN); the same
// in a child through the userfaultfd its FORK event announced (`U_c1`).
//
// What the generator knows about memory (Knowledge.swift, Generator+Rules.swift) are its own
// rules of 6.18, kept as sets of possibilities: a statement that could sleep in
// handle_userfault() or in an event wait is emitted in the main flow only when every
// possibility says it does not; an episode is emitted only when every possibility says its
// thread traps exactly where the handler expects it. Where the kernel's choice is not known to
// the generator (which PTEs keep the uffd-wp bit after a KSM merge, what reclaim did with a
// shared page), the possibilities stay open, and a store to such a page is made by a thread
// whose page is then unprotected by the main flow whether or not the store trapped (the
// userfaultfd's queue is then no longer predicted). The one thing the generator asks the
// model is the values of `expect ksm`: it runs the scenario so far on the model and writes
// its counters, so that the kernel's counters are compared with the model's.
//
// What is a difference by nature and avoided (docs/live.md, "Random scenarios"):
// * frame identities after memory was freed: both the kernel and the model reuse freed
//   frames, in different orders, and identities are numbered by first observation. Once a
//   statement that can free a frame (dontneed, pageout, remove, free, punch, munmap, exit, a
//   KSM scan, a store after a merge, guard_install, unpin) follows a `pagemap` or `expect pagemap`,
//   no more `pagemap` is emitted (`expect pagemap` without `frame=` stays: it compares bits).
//   Swap slots are not reused in a scenario this short: both allocators move a cursor forward.
// * MADV_GUARD_INSTALL over a file VMA that may hold a uffd-wp marker: the zap keeps the
//   marker, the install walk finds it, and 6.18 restarts the system call forever
//   (madvise_guard_install(), restart_syscall()); the model returns EAGAIN instead.
// * `ksm use_zero_pages on` together with MADV_DONTFORK/MADV_WIPEONFORK: 6.18 leaks the host's
//   ksm_zero_pages count across fork (examples/ksm/zero-pages-fork.mms), which no restore can
//   give back; a scenario uses one or the other.
// * `pin` over a page whose fault could go to userfaultfd: the kernel's io_uring pin
//   (pin_user_pages_fast(), whose slow path faults with FOLL_UNLOCKABLE) sleeps in
//   handle_userfault() while the live backend waits for its reply, and the model answers EFAULT
//   (a gap of the model's pins, not by nature: reported, not fixed here).
// * `poison` under `kconfig MEMORY_FAILURE = y` (it would poison host RAM): `poison` is
//   emitted only as the EINVAL of this kernel, without the kconfig line.
// * What the live backend refuses or does not run: dax, design values other than 6.18's,
//   `check` other than `consistent`, `kconfig` values other than this kernel's.
// * Statements that make the kernel's order of events depend on timing: two userfaultfds
//   with EVENT_FORK in one process (FORK events are waited for one after another), an
//   munmap that would raise UNMAP events on two userfaultfds, a dontneed/remove/free over
//   more than one VMA with EVENT_REMOVE.

import MMLab

/// Generates random scenarios (see the file comment).
public struct ScenarioGenerator {
    /// Which features a scenario uses (each drawn on its own).
    struct Plan {
        var swap = false, shmem = false, guest = false, fork = false
        var uffd = false, missing = false, wp = false, minor = false, async = false, sigbus = false, events = false
        var ksm = false, prctl = false, zeroPages = false
        var guards = false, scan = false, populate = false, mprotect = false, munmap = false, punch = false
        var free = false, forkAdvice = false, late = false
        /// A `check consistent` line somewhere (the model then checks its invariants).
        var consistent = false
    }

    public let seed: UInt64
    var rng: SplitMix64
    var plan = Plan()
    var lines: [String] = []
    var indent = ""
    var objects: [Object] = []
    var mappings: [Mapping] = []
    /// Per mapping, per page boundary (0…pages): a VMA may begin there.
    var boundary: [[Bool]] = []
    var procs: [Process] = []
    var uffds: [Uffd] = []
    var hasSwap = false
    var forks = 0
    var threads = 0
    var tokenCounter: UInt64 = 0
    /// A `pagemap` or `expect pagemap` numbered frames.
    var observed = false
    /// A statement that can free a frame came after an observation: no more `pagemap`.
    var identitiesClosed = false
    var emitted = 0
    var observeFrom = 0
    var ksmRunning = false
    var ksmScanned = false
    var consistencyChecked = false
    var lateMaps = 0
    var episodes = 0
    /// Pages whose store may or may not trap (their uffd-wp bit may not have survived a merge).
    var unsureStores: Int {
        var n = 0
        for p in alive {
            for m in mappings.indices {
                for i in procs[p].pages[m].indices where procs[p].pages[m][i].wp == .unknown && procs[p].pages[m][i].modes.contains(.wp) {
                    n += 1
                }
            }
        }
        return n
    }
    /// The pins taken (`pin NAME …`): name, mapping, pages, whether it pinned, whether unpinned.
    var pins: [(name: String, m: Int, r: ClosedRange<Int>, ok: Bool, released: Bool)] = []
    /// The `expect ksm` probes: their line and the counters they will show.
    var ksmProbes: [(Int, [String])] = []

    /// The scenario for a seed.
    public static func generate(seed: UInt64) -> String {
        var g = ScenarioGenerator(seed: seed)
        return g.build()
    }

    init(seed: UInt64) {
        self.seed = seed
        // Mix the seed so that consecutive seeds give unrelated scenarios.
        var mix = SplitMix64(seed: seed ^ 0x6D6D_6C61_625F_7264)  // "mmlab_rd"
        rng = SplitMix64(seed: mix.next())
    }

    // MARK: - Emission

    mutating func emit(_ text: String) { lines.append(indent + text) }

    /// A fresh token: a literal or `seq(…)`; in KSM scenarios often one of a few values, so
    /// that pages have the same content and merge.
    mutating func token() -> String {
        if plan.ksm && rng.percent(45) { return rng.pick(["0x0", "0x5", "0x5", "0x77"]) }
        tokenCounter += 1
        let base = tokenCounter << 8
        return rng.percent(40) ? "seq(0x\(String(base, radix: 16)))" : "0x\(String(base | UInt64(rng.below(0x100)), radix: 16))"
    }

    /// `A`, `A[3]` or `A[2..5]`.
    func ref(_ m: Int, _ r: ClosedRange<Int>) -> String {
        let name = mappings[m].name
        if r.lowerBound == 0 && r.upperBound == mappings[m].pages - 1 && mappings[m].pages > 1 { return name }
        return r.count == 1 ? "\(name)[\(r.lowerBound)]" : "\(name)[\(r.lowerBound)..\(r.upperBound)]"
    }

    /// A random page range of mapping m: one page most often, sometimes a run, sometimes all.
    mutating func range(_ m: Int, maxLength: Int = 8) -> ClosedRange<Int> {
        let n = mappings[m].pages
        if rng.percent(10) { return 0...(n - 1) }
        let first = rng.below(n)
        if rng.percent(50) { return first...first }
        let last = min(n - 1, first + rng.below(maxLength))
        return first...last
    }

    /// Notes a statement that can free a frame (see the file comment).
    mutating func freeing() {
        if observed { identitiesClosed = true }
    }

    /// Notes a VMA edge at the ends of a range (mprotect, register, madvise flags…).
    mutating func splitAt(_ m: Int, _ r: ClosedRange<Int>) {
        boundary[m][r.lowerBound] = true
        boundary[m][r.upperBound + 1] = true
    }

    /// Whether pages r of mapping m are certainly in one VMA (in every process).
    func oneVMA(_ m: Int, _ r: ClosedRange<Int>) -> Bool {
        !r.dropFirst().contains { boundary[m][$0] }
    }

    /// The processes alive, main first.
    var alive: [Int] { procs.indices.filter { procs[$0].alive } }

    // MARK: - The plan and the set-up

    mutating func drawPlan() {
        plan.swap = rng.percent(55)
        plan.shmem = rng.percent(80)
        plan.guest = rng.percent(14)
        plan.fork = rng.percent(40)
        plan.uffd = rng.percent(62)
        if plan.uffd {
            plan.missing = rng.percent(55)
            plan.wp = rng.percent(60)
            plan.minor = plan.shmem && rng.percent(45)
            plan.async = rng.percent(35)
            plan.sigbus = rng.percent(18)
            plan.events = rng.percent(45)
            if !(plan.missing || plan.wp || plan.minor || plan.async) { plan.wp = true }
        }
        plan.ksm = rng.percent(34)
        plan.prctl = plan.ksm && rng.percent(45)
        plan.guards = rng.percent(34)
        plan.scan = rng.percent(40)
        plan.populate = rng.percent(34)
        plan.mprotect = rng.percent(42)
        plan.munmap = rng.percent(30)
        plan.punch = rng.percent(38)
        plan.free = rng.percent(30)
        plan.forkAdvice = plan.fork && rng.percent(35)
        plan.zeroPages = plan.ksm && !plan.forkAdvice && rng.percent(40)
        plan.late = rng.percent(20) || plan.prctl
        plan.consistent = rng.percent(8)
    }

    mutating func build() -> String {
        drawPlan()
        lines.append("# generated by mmlab's random scenario generator (seed \(seed))")
        lines.append("scenario \"random \(seed)\"")
        if rng.percent(4) { emit("design " + defaultDesignLine()) }
        if rng.percent(4) { emit("kconfig \(rng.pick(["MEM_SOFT_DIRTY", "MEMORY_FAILURE"])) = n") }
        if plan.swap {
            hasSwap = true
            emit("swap 4M")
        }
        procs.append(Process(name: "main", pages: []))
        setUpObjects()
        setUpMappings()
        if plan.ksm && rng.percent(30) {
            // Knobs before anything merges: max_page_sharing takes a value only while no KSM
            // page exists (EBUSY), and only from 2 up (EINVAL).
            emit("ksm max_page_sharing \(rng.pick([2, 2, 3, 256]))")
        }
        if plan.zeroPages { emit("ksm use_zero_pages on") }

        let count = rng.between(12, 45)
        observeFrom = rng.percent(20) ? 0 : rng.below(count * 2 / 3 + 1)
        if rng.percent(55) {
            for m in mappings.indices where rng.percent(60) {
                let n = mappings[m].pages
                let first = rng.percent(50) ? 0 : rng.below(n)
                _ = write(0, m, first...(first + rng.below(n - first)))
            }
        }
        if plan.uffd && rng.percent(60) { uffdSetUp() }
        var guardSteps = 0
        while emitted < count && guardSteps < count * 20 {
            guardSteps += 1
            if step() { emitted += 1 }
        }
        if plan.ksm && rng.percent(50) { _ = expectKSM() }
        if plan.consistent && !consistencyChecked { emit("check consistent") }
        fillKSMProbes()
        return lines.joined(separator: "\n") + "\n"
    }

    /// `design KEY = VALUE` with 6.18's value of a random switch.
    mutating func defaultDesignLine() -> String {
        let s = rng.pick(Design.switches)
        return "\(s.key) = \(s.values[0])"
    }

    mutating func setUpObjects() {
        let memfds = plan.shmem ? rng.between(1, 2) : (rng.percent(30) ? 1 : 0)
        for i in 0..<memfds {
            let name = ["F", "G"][i]
            let pages = rng.pick([4, 8, 16, 16, 20, 32])
            objects.append(Object(name: name, pages: pages, slots: Array(repeating: .absent, count: pages)))
            emit("memfd \(name) \(pages)p")
        }
        if plan.guest {
            let pages = rng.pick([4, 8, 16])
            let shared = rng.percent(70)
            let withMmap = rng.percent(90)
            let flags = withMmap ? (shared ? "mmap,init_shared" : "mmap") : rng.pick(["init_shared", ""])
            emit("guest_memfd Q \(pages)p" + (flags.isEmpty ? "" : " flags=\(flags)"))
            objects.append(Object(name: "Q", pages: pages, guest: true, guestShared: withMmap && flags.contains("init_shared"),
                                  guestMmap: withMmap, slots: Array(repeating: .absent, count: pages)))
            if !withMmap {
                // mmap without GUEST_MEMFD_FLAG_MMAP: ENODEV, and nothing is mapped.
                emit("mmap X Q shared rw -> ENODEV")
            }
        }
    }

    /// Always one private anonymous mapping; a shared memfd mapping when shmem is in the plan;
    /// then up to three more of any kind.
    mutating func setUpMappings() {
        var kinds: [MapKind] = [.anonPrivate]
        let files = objects.indices.filter { !objects[$0].guest }
        if plan.shmem && !files.isEmpty { kinds.append(.fileShared) }
        for _ in 0..<rng.between(0, 3) {
            var choice: [MapKind] = [.anonPrivate, .anonShared]
            if !files.isEmpty { choice += [.filePrivate, .filePrivate, .fileShared] }
            kinds.append(rng.pick(choice))
        }
        for i in stride(from: kinds.count - 1, to: 0, by: -1) { kinds.swapAt(i, rng.below(i + 1)) }
        if objects.contains(where: { $0.guest && $0.guestMmap }), rng.percent(90) {
            kinds.insert(.guestShared, at: rng.below(kinds.count + 1))
        }
        for kind in kinds { mapNew(kind) }
    }

    /// The next free mapping name.
    func nextMappingName() -> String {
        let taken = Set(mappings.map(\.name) + objects.compactMap(\.name))
        for c in ["A", "B", "C", "D", "E", "H", "I", "J", "K", "L"] where !taken.contains(c) { return c }
        return "M\(mappings.count)"
    }

    /// `mmap NAME …` in main, and what every process knows about it.
    @discardableResult
    mutating func mapNew(_ kind: MapKind, late: Bool = false) -> Bool {
        let name = nextMappingName()
        let prot: Prot = rng.percent(7) ? .r : .rw
        var m = Mapping(name: name, kind: kind, object: nil, pages: 0)
        switch kind {
        case .anonPrivate, .anonShared:
            m.pages = rng.pick([4, 8, 16, 16, 24, 32])
            emit("mmap \(name) anon \(kind == .anonShared ? "shared" : "private") \(prot.rawValue) \(m.pages)p")
            if kind == .anonShared {
                objects.append(Object(name: nil, pages: m.pages, slots: Array(repeating: .absent, count: m.pages)))
                m.object = objects.count - 1
            }
        case .fileShared, .filePrivate:
            let files = objects.indices.filter { !objects[$0].guest && objects[$0].name != nil }
            guard !files.isEmpty else { return false }
            let f = rng.pick(files)
            m.object = f
            let mode = kind == .fileShared ? "shared" : "private"
            let n = objects[f].pages
            if n > 4 && rng.percent(25) {
                m.offset = rng.between(1, n - 2)
                m.pages = rng.between(1, n - m.offset)
                emit("mmap \(name) \(objects[f].name!) \(mode) \(prot.rawValue) \(m.pages)p offset=\(m.offset)p")
            } else {
                m.pages = n
                emit("mmap \(name) \(objects[f].name!) \(mode) \(prot.rawValue)")
            }
        case .guestShared:
            guard let g = objects.firstIndex(where: { $0.guest && $0.guestMmap }) else { return false }
            m.object = g
            m.pages = objects[g].pages
            if rng.percent(15) {
                emit("mmap Z\(mappings.count) Q private rw -> EINVAL")   // no COW of guest memory
                return false
            }
            emit("mmap \(name) Q shared \(prot.rawValue)")
        }
        mappings.append(m)
        boundary.append(Array(repeating: false, count: m.pages + 1))
        boundary[mappings.count - 1][0] = true
        boundary[mappings.count - 1][m.pages] = true
        for p in procs.indices {
            let here = p == 0
            var pg = Page(mapped: here, prot: here ? prot : .none)
            if here && procs[p].mergeAny && kind.ksmCompatible { pg.mergeable = .yes }
            procs[p].pages.append(Array(repeating: pg, count: m.pages))
        }
        if late { lateMaps += 1 }
        return true
    }

    // MARK: - Steps

    enum Op: CaseIterable {
        case write, read, pagemap, expectPagemap, scan, expectScan
        case madvise, punch, pread, pwrite, mprotect, munmap, lateMmap
        case fork, inChild
        case uffdCreate, uffdRegister, uffdUnregister, uffdWP, uffdUnwp, uffdFill, uffdWake, expectNoEvent
        case faultEpisode, eventEpisode, unsureStore, ksmWP
        case ksmRun, ksmScan, expectKSM, prctl
        case clearRefs, poison, check, when, pin, unpin, convert
    }

    /// Emits one step in main (a statement, or an episode of several); false when the chosen
    /// step could not be made here.
    mutating func step() -> Bool {
        let live = uffds.indices.filter { uffds[$0].alive }
        let anyChild = procs.indices.contains { $0 != 0 && procs[$0].alive }
        func weight(_ op: Op) -> Int {
            switch op {
            case .write: 20
            case .read: 12
            case .pagemap: identitiesClosed || emitted < observeFrom ? 0 : 9
            case .expectPagemap: 7
            case .scan: plan.scan ? 6 : 1
            case .expectScan: plan.scan ? 4 : 0
            case .madvise: 18
            case .punch: plan.punch ? 5 : 1
            case .pread: 2
            case .pwrite: 2
            case .mprotect: plan.mprotect ? 6 : 1
            case .munmap: plan.munmap ? 3 : 0
            case .lateMmap: plan.late && lateMaps < 2 ? 2 : 0
            case .fork: plan.fork && forks < 2 ? 4 : 0
            case .inChild: anyChild ? 9 : 0
            case .uffdCreate: plan.uffd && uffds.filter({ $0.process == 0 }).count < 3 ? (uffds.isEmpty ? 8 : 2) : 0
            case .uffdRegister: live.isEmpty ? 0 : 6
            case .uffdUnregister: live.isEmpty ? 0 : 1
            case .uffdWP: live.isEmpty ? 0 : 7
            case .uffdUnwp: live.isEmpty ? 0 : 3
            case .uffdFill: live.isEmpty ? 0 : 4
            case .uffdWake: live.isEmpty ? 0 : 1
            case .expectNoEvent: live.isEmpty ? 0 : 2
            case .faultEpisode: live.isEmpty ? 0 : 14
            case .eventEpisode: live.isEmpty || !plan.events ? 0 : 8
            case .unsureStore: live.isEmpty ? 0 : unsureStores > 0 ? 12 : 2
            case .ksmWP: plan.ksm && !live.isEmpty ? 3 : 0
            case .ksmRun: plan.ksm && !ksmRunning ? 6 : 0
            case .ksmScan: plan.ksm && ksmRunning ? 9 : 0
            case .expectKSM: plan.ksm ? 3 : 0
            case .prctl: plan.prctl ? 3 : 0
            case .clearRefs: 1
            case .poison: 1
            case .check: plan.consistent && !consistencyChecked ? 2 : 0
            case .when: 1
            case .pin: pins.count < 4 ? 1 : 0
            case .unpin: pins.contains { !$0.released } ? 2 : 0
            case .convert: 1
            }
        }
        let ops = Op.allCases
        switch ops[rng.weighted(ops.map(weight))] {
        case .write: return randomWrite(0)
        case .read: return randomRead(0)
        case .pagemap: return pagemap(0)
        case .expectPagemap: return expectPagemap(0)
        case .scan: return pagemapScan(0)
        case .expectScan: return expectPagemapScan(0)
        case .madvise: return madvise(0)
        case .punch: return punch()
        case .pread: return pread()
        case .pwrite: return pwrite()
        case .mprotect: return mprotect(0)
        case .munmap: return munmap(0)
        case .lateMmap: return lateMmap()
        case .fork: return fork()
        case .inChild: return inChild()
        case .uffdCreate: return uffdCreate()
        case .uffdRegister: return uffdRegister()
        case .uffdUnregister: return uffdUnregister()
        case .uffdWP: return uffdWP(protect: true)
        case .uffdUnwp: return uffdWP(protect: false)
        case .uffdFill: return uffdFill()
        case .uffdWake: return uffdWake()
        case .expectNoEvent: return expectNoEvent()
        case .faultEpisode: return attempt { $0.faultEpisode() }
        case .eventEpisode: return attempt { $0.eventEpisode() }
        case .unsureStore: return attempt { $0.unsureStoreEpisode() }
        case .ksmWP: return attempt { $0.ksmWPSetUp() }
        case .ksmRun: return ksmRun()
        case .ksmScan: return ksmScan()
        case .expectKSM: return expectKSM()
        case .prctl: return prctl()
        case .clearRefs:
            emit("clear_refs \(rng.pick([4, 4, 1, 2, 3, 5]))")
            return true
        case .poison:
            // madvise(MADV_HWPOISON): EINVAL on a kernel without CONFIG_MEMORY_FAILURE.
            let m = rng.below(mappings.count)
            emit("poison \(ref(m, range(m))) -> EINVAL")
            return true
        case .check:
            consistencyChecked = true
            emit("check consistent")
            return true
        case .when:
            return whenBlock()
        case .pin:
            return pin()
        case .unpin:
            return unpin()
        case .convert:
            return convert()
        }
    }

    /// `when design KEY = V,… { … }`: one to three plain statements that run when the
    /// scenario's design has one of the values; the live backend (and the generated scenario)
    /// has 6.18's, so the block runs exactly when its first value is listed, and is skipped
    /// (listed as not run, on both backends) otherwise.
    mutating func whenBlock() -> Bool {
        let sw = rng.pick(Design.switches)
        let runs = rng.percent(65)
        var values: [String] = runs ? [sw.values[0]] : []
        for v in sw.values.dropFirst() where Design.isImplemented(sw.key, v) && rng.percent(40) { values.append(v) }
        if values.isEmpty {
            guard let other = sw.values.dropFirst().first(where: { Design.isImplemented(sw.key, $0) }) else { return false }
            values = [other]
        }
        var body = self
        body.lines = []
        body.indent = "  "
        var done = 0
        for _ in 0..<12 where done < rng.between(1, 3) {
            let ok: Bool
            switch body.rng.below(5) {
            case 0: ok = body.randomWrite(0)
            case 1: ok = body.randomRead(0)
            case 2: ok = body.expectPagemap(0)
            case 3: ok = body.madvise(0)
            default: ok = body.mprotect(0)
            }
            if ok { done += 1 }
        }
        guard done > 0, body.ksmProbes.count == ksmProbes.count else { return false }
        let text = body.lines
        if runs {
            // The body ran: keep what it did.
            body.lines = lines
            body.indent = indent
            self = body
        } else {
            rng = body.rng
        }
        emit("when design \(sw.key) = " + values.joined(separator: ", ") + " {")
        lines += text
        emit("}")
        return true
    }

    /// Runs a complex step on a copy of the generator and keeps it only if it succeeded.
    mutating func attempt(_ body: (inout ScenarioGenerator) -> Bool) -> Bool {
        var trial = self
        if body(&trial) {
            self = trial
            return true
        }
        // Keep the random stream moving, so that a failed attempt does not repeat.
        _ = rng.next()
        return false
    }
}
