// SPDX-License-Identifier: Apache-2.0
//
// Random `.mms` scenarios for the differential test (`mmlab diff --random N --seed S`):
// single-threaded statements over anonymous and shmem mappings — writes, reads, pagemap
// observations, madvise, punch, fork with `in child { … }` blocks, mprotect, munmap and
// userfaultfd write-protection — that never block the main flow and always pass the static
// checker. Deterministic: the text depends on the seed only (our own SplitMix64; no
// Set/Dictionary order decides anything).
//
// What keeps the main flow from blocking (there are no threads to resolve a userfault):
// * only `wp` registration (never `missing` or `minor`), and no `event_*` feature (fork,
//   dontneed/remove and munmap would sleep until their event is read);
// * a page of `main` is *armed* when a synchronous userfaultfd (`U`, no `wp_async`) has it
//   registered and a `uffd … wp` covered it, and no `unwp` known to succeed has cleared it
//   since. A store or `populate_write` never touches an armed page: the generator picks
//   another reference, or first emits `uffd U unwp` of the armed pages. The asynchronous
//   userfaultfd (`V`, `wp_async`) never blocks, so its pages take stores freely;
// * children never have a userfaultfd (without `event_fork` they lose the registration).
//
// What is a difference by nature and avoided:
// * frame identities after memory was freed: both the kernel and the model reuse freed
//   frames, in different orders (the kernel's per-CPU free lists also feed page tables,
//   xarray nodes and the swap cache; the model's free list is a plain stack). Identities are
//   numbered by first observation, so reuse shows only when a frame that a `pagemap` already
//   numbered is freed and allocated again. The generator therefore stops emitting `pagemap`
//   once a statement that can free a frame (dontneed, pageout, remove, punch, munmap, exit)
//   follows a `pagemap`; frees before the first `pagemap` are harmless. After that the
//   scenario observes tokens (`read`) only. Swap slots are not reused in a scenario this
//   short: both allocators move a cursor forward.

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and the same on every platform.
public struct SplitMix64 {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<n (n > 0), by the high half of a 128-bit product (Lemire, without the
    /// rejection step: the bias is below 2^-32 for the small n used here).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// A number in the closed range.
    public mutating func between(_ lo: Int, _ hi: Int) -> Int { lo + below(hi - lo + 1) }

    /// True with probability percent/100.
    public mutating func percent(_ p: Int) -> Bool { below(100) < p }

    public mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// An index chosen with the given weights (at least one positive).
    public mutating func weighted(_ weights: [Int]) -> Int {
        let total = weights.reduce(0) { $0 + max($1, 0) }
        var r = below(total)
        for (i, w) in weights.enumerated() where w > 0 {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }
}

/// Generates random scenarios (see the file comment).
public struct ScenarioGenerator {
    enum Kind { case anonPrivate, anonShared, memfdShared, memfdPrivate }
    enum Protection: String { case none, r, rw }

    struct Mapping {
        var name: String
        var kind: Kind
        var file: Int?
        var pages: Int
        var prot: Protection
    }

    /// One page of one mapping in one process.
    struct PageState {
        var mapped = true
        var prot = Protection.rw
        /// The userfaultfd (index into `uffds`) that has the page registered `wp` (main only).
        var owner: Int? = nil
        /// A `uffd … wp` covered it and no `unwp` known to succeed cleared it (main only).
        var wp = false
    }

    struct Process {
        var name: String
        var alive = true
        var pages: [[PageState]]
    }

    struct Uffd {
        var name: String
        var async: Bool
    }

    var rng: SplitMix64
    public let seed: UInt64
    var lines: [String] = []
    var files: [(name: String, pages: Int)] = []
    var mappings: [Mapping] = []
    var processes: [Process] = []
    var uffds: [Uffd] = []
    var hasSwap = false
    var forks = 0
    var tokenCounter: UInt64 = 0
    /// A `pagemap` observation has been emitted.
    var observed = false
    /// A statement that can free a frame came after a `pagemap`: identities after it may
    /// differ by nature (see the file comment), so no more `pagemap`.
    var identitiesClosed = false
    /// Statements emitted in the body; `pagemap` observations start at `observeFrom`.
    var emitted = 0
    var observeFrom = 0

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

    // MARK: - Set-up

    mutating func build() -> String {
        lines.append("# generated by mmlab's random scenario generator (seed \(seed))")
        lines.append("scenario \"random \(seed)\"")
        if rng.percent(60) {
            hasSwap = true
            lines.append("swap 16M")
        }
        let fileCount = rng.between(1, 2)
        for i in 0..<fileCount {
            let name = ["F", "G"][i]
            let pages = rng.pick([4, 8, 16, 16, 20, 32])
            files.append((name, pages))
            lines.append("memfd \(name) \(pages)p")
        }
        // Mappings: always one anonymous private and one shared memfd mapping.
        var kinds: [Kind] = [.anonPrivate, .memfdShared]
        for _ in 0..<rng.between(0, 2) { kinds.append(rng.pick([.memfdPrivate, .memfdPrivate, .anonPrivate, .memfdShared, .anonShared])) }
        // Shuffle (Fisher–Yates with our generator).
        for i in stride(from: kinds.count - 1, to: 0, by: -1) { kinds.swapAt(i, rng.below(i + 1)) }
        let names = ["A", "B", "C", "D"]
        for (i, kind) in kinds.enumerated() {
            let prot: Protection = rng.percent(8) ? .r : .rw
            var m = Mapping(name: names[i], kind: kind, file: nil, pages: 0, prot: prot)
            switch kind {
            case .anonPrivate, .anonShared:
                m.pages = rng.pick([4, 8, 16, 16, 24, 32])
                lines.append("mmap \(m.name) anon \(kind == .anonShared ? "shared" : "private") \(prot.rawValue) \(m.pages)p")
            case .memfdShared, .memfdPrivate:
                let f = rng.below(files.count)
                m.file = f
                let mode = kind == .memfdShared ? "shared" : "private"
                if files[f].pages > 4 && rng.percent(25) {
                    let offset = rng.between(1, files[f].pages - 2)
                    m.pages = rng.between(1, files[f].pages - offset)
                    lines.append("mmap \(m.name) \(files[f].name) \(mode) \(prot.rawValue) \(m.pages)p offset=\(offset)p")
                    mappings.append(m)
                    continue
                }
                m.pages = files[f].pages
                lines.append("mmap \(m.name) \(files[f].name) \(mode) \(prot.rawValue)")
            }
            mappings.append(m)
        }
        processes.append(Process(name: "main", pages: mappings.map {
            Array(repeating: PageState(mapped: true, prot: $0.prot), count: $0.pages)
        }))

        let count = rng.between(10, 40)
        // Frees first, then observations: pagemap starts a third of the way in on average.
        observeFrom = rng.percent(20) ? 0 : rng.below(count * 2 / 3 + 1)
        // Some content to work on, half the time.
        if rng.percent(50) {
            for m in mappings.indices where rng.percent(60) {
                let n = mappings[m].pages
                let first = rng.percent(50) ? 0 : rng.below(n)
                let r = first...(first + rng.below(n - first))
                emit("", "write \(ref(m, r)) = \(token())" + accessOutcome(0, m, r, store: true))
            }
        }
        if rng.percent(50) { uffdSetUp() }
        while emitted < count {
            if step(process: 0, indent: "") { emitted += 1 }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Statements

    enum Op: CaseIterable {
        case write, read, pagemap, madvise, punch, fork, inChild, mprotect, munmap
        case uffdCreate, uffdRegister, uffdWP, uffdUnwp, uffdUnregister
    }

    /// Emits one statement (or a short sequence) in process `p`; false when the chosen
    /// statement could not be made here.
    mutating func step(process p: Int, indent: String) -> Bool {
        let inMain = p == 0
        let uffd = inMain && !uffds.isEmpty
        func weight(_ op: Op) -> Int {
            switch op {
            case .write: 20
            case .read: 14
            case .pagemap: identitiesClosed || emitted < observeFrom ? 0 : 16
            case .madvise: 16
            case .punch: inMain ? 4 : 0
            case .fork: inMain && forks < 2 ? 3 : 0
            case .inChild: inMain && processes.contains(where: { $0.name != "main" && $0.alive }) ? 8 : 0
            case .mprotect: 4
            case .munmap: 1
            case .uffdCreate: inMain && uffds.count < 2 ? 4 : 0
            case .uffdRegister: uffd ? 4 : 0
            case .uffdWP: uffd ? 8 : 0
            case .uffdUnwp: uffd ? 5 : 0
            case .uffdUnregister: uffd ? 1 : 0
            }
        }
        let ops = Op.allCases
        let op = ops[rng.weighted(ops.map(weight))]
        switch op {
        case .write: return write(p, indent)
        case .read: return read(p, indent)
        case .pagemap: return pagemap(p, indent)
        case .madvise: return madvise(p, indent)
        case .punch: return punch(indent)
        case .fork: return fork()
        case .inChild: return inChild()
        case .mprotect: return mprotect(p, indent)
        case .munmap: return munmap(p, indent)
        case .uffdCreate: return uffdCreate()
        case .uffdRegister: return uffdRegister()
        case .uffdWP: return uffdWP()
        case .uffdUnwp: return uffdUnwp()
        case .uffdUnregister: return uffdUnregister()
        }
    }

    /// A random page range of mapping m: one page most often, sometimes a run, sometimes all.
    mutating func range(_ m: Int, maxLength: Int = 8) -> ClosedRange<Int> {
        let n = mappings[m].pages
        if rng.percent(8) { return 0...(n - 1) }
        let first = rng.below(n)
        if rng.percent(55) { return first...first }
        let last = min(n - 1, first + rng.below(maxLength))
        return first...last
    }

    /// `A`, `A[3]` or `A[2..5]`.
    func ref(_ m: Int, _ r: ClosedRange<Int>) -> String {
        let name = mappings[m].name
        if r.lowerBound == 0 && r.upperBound == mappings[m].pages - 1 && mappings[m].pages > 1 { return name }
        return r.count == 1 ? "\(name)[\(r.lowerBound)]" : "\(name)[\(r.lowerBound)..\(r.upperBound)]"
    }

    mutating func emit(_ indent: String, _ text: String) { lines.append(indent + text) }

    /// Whether a store to page i of mapping m in process p could sleep in handle_userfault().
    func armed(_ p: Int, _ m: Int, _ i: Int) -> Bool {
        let s = processes[p].pages[m][i]
        guard s.mapped, s.prot == .rw, s.wp, let o = s.owner else { return false }
        return !uffds[o].async
    }

    /// The outcome a store or load must have, when it is certain: SIGSEGV if any page of the
    /// range is unmapped or its protection forbids the access.
    func accessOutcome(_ p: Int, _ m: Int, _ r: ClosedRange<Int>, store: Bool) -> String {
        let bad = r.contains { i in
            let s = processes[p].pages[m][i]
            return !s.mapped || s.prot == .none || (store && s.prot == .r)
        }
        return bad ? " -> SIGSEGV" : ""
    }

    mutating func token() -> String {
        tokenCounter += 1
        let base = tokenCounter << 8
        return rng.percent(40) ? "seq(0x\(String(base, radix: 16)))" : "0x\(String(base | UInt64(rng.below(0x100)), radix: 16))"
    }

    /// A range with no armed page for a store, or — half the time — any range after an
    /// `unwp` of its armed pages.
    mutating func storeRange(_ p: Int, _ indent: String) -> (Int, ClosedRange<Int>)? {
        for _ in 0..<8 {
            let m = rng.below(mappings.count)
            let r = range(m)
            let hot = r.filter { armed(p, m, $0) }
            if hot.isEmpty { return (m, r) }
            if p == 0 && rng.percent(50) {
                // Unprotect the armed pages first, run by run, with their owner.
                var i = 0
                while i < hot.count {
                    var j = i
                    while j + 1 < hot.count && hot[j + 1] == hot[j] + 1
                            && processes[0].pages[m][hot[j + 1]].owner == processes[0].pages[m][hot[i]].owner { j += 1 }
                    let o = processes[0].pages[m][hot[i]].owner!
                    emit(indent, "uffd \(uffds[o].name) unwp \(ref(m, hot[i]...hot[j]))")
                    for k in hot[i]...hot[j] { processes[0].pages[m][k].wp = false }
                    i = j + 1
                }
                return (m, r)
            }
        }
        return nil
    }

    mutating func write(_ p: Int, _ indent: String) -> Bool {
        guard let (m, r) = storeRange(p, indent) else { return false }
        emit(indent, "write \(ref(m, r)) = \(token())" + accessOutcome(p, m, r, store: true))
        return true
    }

    mutating func read(_ p: Int, _ indent: String) -> Bool {
        let m = rng.below(mappings.count)
        let r = range(m)
        emit(indent, "read \(ref(m, r))" + accessOutcome(p, m, r, store: false))
        return true
    }

    mutating func pagemap(_ p: Int, _ indent: String) -> Bool {
        let m = rng.below(mappings.count)
        emit(indent, "pagemap \(ref(m, range(m, maxLength: 4)))")
        observed = true
        return true
    }

    mutating func madvise(_ p: Int, _ indent: String) -> Bool {
        let advice = rng.pick(["pageout", "pageout", "pageout", "dontneed", "dontneed", "cold", "populate_read",
                               "populate_write", "remove"])
        let m: Int, r: ClosedRange<Int>
        if advice == "populate_write" {
            guard let (m1, r1) = storeRange(p, indent) else { return false }
            (m, r) = (m1, r1)
        } else {
            let shared = mappings.indices.filter { mappings[$0].kind == .memfdShared || mappings[$0].kind == .anonShared }
            m = advice == "remove" && rng.percent(80) ? rng.pick(shared) : rng.below(mappings.count)
            r = range(m)
        }
        if ["pageout", "dontneed", "remove"].contains(advice) { freeing() }
        emit(indent, "madvise \(ref(m, r)) \(advice)")
        return true
    }

    /// Notes a statement that can free a frame.
    mutating func freeing() {
        if observed { identitiesClosed = true }
    }

    mutating func punch(_ indent: String) -> Bool {
        let f = rng.below(files.count)
        let n = files[f].pages
        let first = rng.below(n)
        let last = rng.percent(50) ? first : min(n - 1, first + rng.below(6))
        let r = first...last
        freeing()
        let name = files[f].name
        emit(indent, "punch " + (r.count == n ? name : r.count == 1 ? "\(name)[\(first)]" : "\(name)[\(first)..\(last)]"))
        return true
    }

    mutating func fork() -> Bool {
        forks += 1
        let name = "c\(forks)"
        emit("", "fork \(name)")
        var child = Process(name: name, pages: processes[0].pages)
        for m in child.pages.indices {
            for i in child.pages[m].indices {
                child.pages[m][i].owner = nil
                child.pages[m][i].wp = false
            }
        }
        processes.append(child)
        return true
    }

    mutating func inChild() -> Bool {
        let alive = processes.indices.filter { $0 != 0 && processes[$0].alive }
        let c = rng.pick(alive)
        emit("", "in \(processes[c].name) {")
        let n = rng.between(1, 4)
        var done = 0
        while done < n {
            if step(process: c, indent: "  ") { done += 1 }
        }
        if rng.percent(10) {
            emit("  ", "exit")
            processes[c].alive = false
            freeing()
        }
        emit("", "}")
        return true
    }

    mutating func mprotect(_ p: Int, _ indent: String) -> Bool {
        let m = rng.below(mappings.count)
        let r = range(m)
        // Only over mapped pages: across a hole mprotect applies part of the range and
        // fails, and the protection of each page is then not worth tracking.
        guard r.allSatisfy({ processes[p].pages[m][$0].mapped }) else { return false }
        let prot: Protection = rng.percent(10) ? .none : rng.percent(50) ? .r : .rw
        // A private mapping of a file opened read-write may become writable; all are here.
        emit(indent, "mprotect \(ref(m, r)) \(prot.rawValue)")
        for i in r { processes[p].pages[m][i].prot = prot }
        return true
    }

    mutating func munmap(_ p: Int, _ indent: String) -> Bool {
        let m = rng.below(mappings.count)
        let r = range(m, maxLength: 3)
        emit(indent, "munmap \(ref(m, r))")
        freeing()
        for i in r { processes[p].pages[m][i] = PageState(mapped: false, prot: .none, owner: nil, wp: false) }
        return true
    }

    // MARK: - userfaultfd (main only)

    /// At the start, half the time: one or two userfaultfds, each registering a mapping.
    mutating func uffdSetUp() {
        for _ in 0..<rng.between(1, 2) {
            _ = uffdCreate()
            let u = uffds.count - 1
            let free = mappings.indices.filter { m in processes[0].pages[m].allSatisfy { $0.owner == nil } }
            guard !free.isEmpty else { continue }
            let m = rng.pick(free)
            let r = rng.percent(70) ? 0...(mappings[m].pages - 1) : range(m)
            emit("", "uffd \(uffds[u].name) register \(ref(m, r)) wp")
            for i in r { processes[0].pages[m][i].owner = u }
        }
    }

    mutating func uffdCreate() -> Bool {
        let haveSync = uffds.contains { !$0.async }
        let async = haveSync ? true : uffds.isEmpty ? rng.percent(40) : false
        let name = async ? "V" : "U"
        let features: String
        if async {
            features = rng.pick(["wp_async", "wp_async", "wp_async,wp_unpopulated", "wp_async,pagefault_flag_wp"])
        } else {
            features = rng.pick(["", "", "pagefault_flag_wp", "wp_unpopulated", "pagefault_flag_wp,wp_unpopulated", "thread_id"])
        }
        uffds.append(Uffd(name: name, async: async))
        emit("", "uffd \(name)" + (features.isEmpty ? "" : " features=\(features)"))
        return true
    }

    mutating func uffdRegister() -> Bool {
        let u = rng.below(uffds.count)
        let m = rng.below(mappings.count)
        let r = rng.percent(50) ? 0...(mappings[m].pages - 1) : range(m)
        let pages = r.map { processes[0].pages[m][$0] }
        // Not across a hole: whether the kernel registers part of it is not worth tracking.
        guard pages.allSatisfy(\.mapped) else { return false }
        if pages.contains(where: { $0.owner != nil && $0.owner != u }) {
            // Another userfaultfd has part of it: EBUSY, and nothing changes.
            emit("", "uffd \(uffds[u].name) register \(ref(m, r)) wp -> EBUSY")
            return true
        }
        emit("", "uffd \(uffds[u].name) register \(ref(m, r)) wp")
        for i in r { processes[0].pages[m][i].owner = u }
        return true
    }

    /// A range of pages that userfaultfd u has registered, in one mapping, if any.
    mutating func registeredRange(_ u: Int) -> (Int, ClosedRange<Int>)? {
        for _ in 0..<8 {
            let m = rng.below(mappings.count)
            let owned = processes[0].pages[m].indices.filter { processes[0].pages[m][$0].owner == u }
            guard !owned.isEmpty else { continue }
            let start = rng.pick(owned)
            var end = start
            let want = rng.percent(40) ? 0 : rng.below(6)
            while end - start < want && end + 1 < mappings[m].pages && processes[0].pages[m][end + 1].owner == u { end += 1 }
            return (m, start...end)
        }
        return nil
    }

    /// A userfaultfd for wp/unwp/unregister: mostly one that has something registered.
    mutating func busyUffd() -> Int {
        let busy = uffds.indices.filter { u in processes[0].pages.contains { $0.contains { $0.owner == u } } }
        return !busy.isEmpty && rng.percent(90) ? rng.pick(busy) : rng.below(uffds.count)
    }

    mutating func uffdWP() -> Bool {
        let u = busyUffd()
        let m: Int, r: ClosedRange<Int>
        if let (m1, r1) = registeredRange(u), rng.percent(90) {
            (m, r) = (m1, r1)
        } else {
            // Anywhere (ENOENT where nothing is registered): armed conservatively.
            m = rng.below(mappings.count)
            r = range(m)
        }
        emit("", "uffd \(uffds[u].name) wp \(ref(m, r))")
        for i in r { processes[0].pages[m][i].wp = true }
        return true
    }

    mutating func uffdUnwp() -> Bool {
        let u = busyUffd()
        guard let (m, r) = registeredRange(u) else { return false }
        emit("", "uffd \(uffds[u].name) unwp \(ref(m, r))")
        for i in r { processes[0].pages[m][i].wp = false }
        return true
    }

    mutating func uffdUnregister() -> Bool {
        let u = busyUffd()
        guard let (m, r) = registeredRange(u) else { return false }
        emit("", "uffd \(uffds[u].name) unregister \(ref(m, r))")
        // The protection bits are not tracked further: `wp` stays set (conservative).
        for i in r { processes[0].pages[m][i].owner = nil }
        return true
    }
}
