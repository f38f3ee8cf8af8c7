// SPDX-License-Identifier: Apache-2.0
//
// KSM: `ksm run`, `ksm scan N`, the knobs, `prctl memory_merge`, and `expect ksm`, whose
// values are the model's (the one thing the generator asks the model: it has no simulation of
// the stable and unstable trees of its own).

import MMLab
import MMScenario

extension ScenarioGenerator {
    mutating func ksmRun() -> Bool {
        emit("ksm run")
        ksmRunning = true
        return true
    }

    /// `ksm scan N`: pages of mergeable VMAs may now be merged. A merge write-protects the
    /// page that becomes the KSM page keeping its PTE bits (write_protect_page()), and maps it
    /// into the other PTEs with a new PTE (replace_page()): whether a uffd-wp bit survives is
    /// not the generator's to know, nor which frames were freed.
    mutating func ksmScan() -> Bool {
        if plan.zeroPages && rng.percent(8) {
            emit("ksm use_zero_pages off")
        }
        emit("ksm scan \(rng.pick([1, 1, 2, 2, 3]))")
        ksmScanned = true
        freeing()
        for p in alive where procs[p].ksmRegistered {
            for m in mappings.indices where mappings[m].kind.ksmCompatible {
                for i in procs[p].pages[m].indices {
                    let pg = procs[p].pages[m][i]
                    // A pinned page is not merged (its refcount says a device may write it).
                    guard pg.mapped, pg.mergeable != .no, pg.pte.contains(.anon), pg.pinned != .yes else { continue }
                    if pg.wp == .yes { procs[p].pages[m][i].wp = .unknown }
                    procs[p].pages[m][i].exclusive = false
                    if plan.zeroPages { procs[p].pages[m][i].zero = pg.zero.or(.yes) }   // use_zero_pages
                }
            }
        }
        if rng.percent(30) { _ = expectKSM() }
        return true
    }

    /// KSM × uffd-wp: an anonymous private range of main with the same content, registered
    /// wp by a synchronous userfaultfd, write-protected, made mergeable: the next scans merge
    /// it, and which PTEs keep the uffd-wp bit is up to replace_page().
    mutating func ksmWPSetUp() -> Bool {
        let sync = uffds.indices.filter { uffds[$0].alive && uffds[$0].process == 0 && !uffds[$0].async && !uffds[$0].sigbus }
        guard !sync.isEmpty else { return false }
        let u = rng.pick(sync)
        let anon = mappings.indices.filter { mappings[$0].kind == .anonPrivate }
        guard !anon.isEmpty else { return false }
        let m = rng.pick(anon)
        let n = mappings[m].pages
        let first = rng.below(max(1, n - 2))
        let r = first...min(n - 1, first + rng.between(1, 5))
        for i in r {
            let pg = procs[0].pages[m][i]
            guard pg.mapped, pg.prot == .rw, pg.owner == nil || pg.owner == u else { return false }
        }
        if r.contains(where: { procs[0].pages[m][$0].owner == nil }) {
            guard register(u, m, r), r.allSatisfy({ procs[0].pages[m][$0].modes.contains(.wp) }) else { return false }
        }
        guard r.allSatisfy({ procs[0].pages[m][$0].modes.contains(.wp) }) else { return false }
        // The content first (stores that must not trap), then the protection.
        for i in r where faults(0, m, i, store: true) != [.ok] { return false }
        let tok = rng.pick(["0x5", "0x77", "0x0"])
        emit("write \(ref(m, r)) = \(tok)")
        for i in r { accessed(0, m, i, store: true) }
        guard writeProtect(u, 0, m, r, protect: true, dontwake: false) else { return false }
        emit("madvise \(ref(m, r)) mergeable")
        apply(advice: "mergeable", 0, m, Array(r))
        if !ksmRunning { _ = ksmRun() }
        if rng.percent(60) { _ = ksmScan() }
        return true
    }

    /// `prctl memory_merge on|off` in main: on registers the process and makes every
    /// compatible VMA mergeable, now and later (MMF_VM_MERGE_ANY); off unmerges them all.
    mutating func prctl() -> Bool {
        let on = !procs[0].mergeAny || rng.percent(20)
        emit("prctl memory_merge \(on ? "on" : "off")")
        procs[0].mergeAny = on
        if on { procs[0].ksmRegistered = true }
        for m in mappings.indices where mappings[m].kind.ksmCompatible {
            for i in procs[0].pages[m].indices where procs[0].pages[m][i].mapped {
                procs[0].pages[m][i].mergeable = on ? .yes : .no
                if !on { notExclusive(0, m, i) }
            }
        }
        if !on && ksmScanned { freeing() }
        return true
    }

    /// `expect ksm` with the counters the model reports at this point of the scenario: a
    /// probe listing every counter now, its values filled in by `fillKSMProbes()`.
    mutating func expectKSM() -> Bool {
        guard indent.isEmpty else { return false }
        let wanted = KSMCounter.names.filter { c in
            c == "pages_shared" || c == "pages_sharing" || (c != "general_profit" ? rng.percent(45) : rng.percent(10))
        }
        ksmProbes.append((lines.count, wanted))
        emit(Self.ksmProbe)
        return true
    }

    static var ksmProbe: String { "expect ksm " + KSMCounter.names.map { "\($0)=0" }.joined(separator: " ") }

    /// Runs the finished scenario on the model once and writes, in place of each probe, the
    /// counters it chose with the values the model reported there (a probe whose values the
    /// model did not report, or a negative one, is left out: it changes nothing).
    mutating func fillKSMProbes() {
        guard !ksmProbes.isEmpty else { return }
        // `check consistent` only turns on the model's invariant checks: not needed here.
        let text = lines.map { $0.hasSuffix("check consistent") ? "" : $0 }.joined(separator: "\n") + "\n"
        let report = MMLabSession.run(source: text, file: "random-\(seed).mms").report
        var remove: [Int] = []
        for (index, wanted) in ksmProbes {
            var values: [String: Int64] = [:]
            if let e = report?.entries.first(where: { $0.statement.location.line == index + 1 }) {
                for o in e.observations {
                    guard case .ksm(let list) = o else { continue }
                    for v in list {
                        let parts = v.split(separator: "=")
                        if parts.count == 2, let n = Int64(parts[1]) { values[String(parts[0])] = n }
                    }
                }
            }
            let shown = wanted.compactMap { c in values[c].flatMap { $0 >= 0 ? "\(c)=\($0)" : nil } }
            if shown.isEmpty { remove.append(index) } else { lines[index] = "expect ksm " + shown.joined(separator: " ") }
        }
        for i in remove.reversed() { lines.remove(at: i) }
    }
}
