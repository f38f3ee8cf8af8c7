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
                    guard pg.mapped, pg.mergeable != .no, pg.pte.contains(.anon) else { continue }
                    if pg.wp == .yes { procs[p].pages[m][i].wp = .unknown }
                    procs[p].pages[m][i].exclusive = false
                }
            }
        }
        if rng.percent(30) { _ = expectKSM() }
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

    /// `expect ksm` with the counters the model reports at this point of the scenario.
    mutating func expectKSM() -> Bool {
        guard indent.isEmpty, let counters = modelKSMCounters() else { return false }
        let wanted = counters.filter { c in
            c.1 >= 0 && (c.0 == "pages_shared" || c.0 == "pages_sharing" || (c.0 != "general_profit" ? rng.percent(45) : rng.percent(10)))
        }
        emit("expect ksm " + wanted.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        return true
    }

    /// The model's KSM counters after the scenario so far: the text with a probe `expect ksm`
    /// appended, run on the model.
    func modelKSMCounters() -> [(String, Int64)]? {
        let probe = "expect ksm " + KSMCounter.names.map { "\($0)=0" }.joined(separator: " ")
        let text = (lines + [probe]).joined(separator: "\n") + "\n"
        let outcome = MMLabSession.run(source: text, file: "random-\(seed).mms")
        guard let report = outcome.report, report.fatal == nil, let last = report.entries.last,
              last.statement.text == probe else { return nil }
        for o in last.observations {
            guard case .ksm(let values) = o else { continue }
            var out: [(String, Int64)] = []
            for v in values {
                let parts = v.split(separator: "=")
                guard parts.count == 2, let n = Int64(parts[1]) else { return nil }
                out.append((String(parts[0]), n))
            }
            return out.isEmpty ? nil : out
        }
        return nil
    }
}
