// SPDX-License-Identifier: Apache-2.0
//
// What `replay` and explore's counterexamples print of a step (the kernel functions it ran,
// the PTEs it changed), and how explore tells final states apart.

import MMLab
import MMScenario

/// A step with its trace: the kernel functions it ran and the PTEs that changed.
struct TracedStep {
    var thread: String
    var statement: String
    var line: Int
    var action: String
    /// PTEs that changed: "A[9]: 0x0 → 0x8000…".
    var pteChanges: [String]
}

/// The PTEs of every named page, for trace diffs (none PTEs left out).
func pteSnapshot(_ runner: ScenarioRunner<ModelBackend>) -> [String: UInt64] {
    var out: [String: UInt64] = [:]
    for p in runner.touchedPages {
        let pte = runner.backend.kernel.mms[Int(p.process)].pageTables.pte(p.address)
        if !pte.isNone { out[p.label] = pte.raw }
    }
    return out
}

/// Thread `t` takes one step, traced.
func tracedStep(_ runner: inout ScenarioRunner<ModelBackend>, _ t: Int) -> TracedStep {
    let before = pteSnapshot(runner)
    runner.backend.kernel.trace = []
    let r = runner.stepThread(t)
    var record = TracedStep(thread: r.thread, statement: r.statement, line: r.line, action: r.action, pteChanges: [])
    if let notes = runner.backend.kernel.trace, !notes.isEmpty {
        var collapsed: [(String, Int)] = []
        for n in notes {
            if let last = collapsed.last, last.0 == n { collapsed[collapsed.count - 1].1 += 1 } else { collapsed.append((n, 1)) }
        }
        record.action += ": " + collapsed.map { $0.1 > 1 ? "\($0.0) ×\($0.1)" : $0.0 }.joined(separator: "; ")
    }
    runner.backend.kernel.trace = nil
    record.pteChanges = pteChanges(before, pteSnapshot(runner))
    return record
}

/// The PTEs that changed between two snapshots, in page order. Runs of more than 8
/// neighbouring PTEs that changed the same way (the same bits before and after, frames aside)
/// print as one line, so a step over a whole table stays readable; shorter runs are listed one
/// by one.
func pteChanges(_ before: [String: UInt64], _ after: [String: UInt64]) -> [String] {
    func order(_ k: String) -> (String, Int) {
        guard let open = k.lastIndex(of: "["), let n = Int(k[k.index(after: open)...].dropLast()) else { return (k, 0) }
        return (String(k[..<open]), n)
    }
    var out: [String] = []
    var run: (name: String, first: Int, last: Int, b: UInt64, a: UInt64, key: String)? = nil
    var pending: [String] = []
    func flush() {
        guard let r = run else { return }
        if r.last - r.first < 8 {
            out += pending
        } else {
            out.append("\(r.name)[\(r.first)..\(r.last)]: \(hex(r.b)) → \(hex(r.a)) "
                + "(shown for \(r.key); \(r.last - r.first + 1) PTEs, the same bits each)")
        }
        run = nil
        pending = []
    }
    for key in Set(before.keys).union(after.keys).sorted(by: { order($0) < order($1) }) where before[key] != after[key] {
        let (name, n) = order(key)
        let b = before[key] ?? 0, a = after[key] ?? 0
        let line = "\(key): \(hex(b)) → \(hex(a))"
        if let r = run, r.name == name, r.last + 1 == n,
           (r.b & ~PTE.pfnMask, r.a & ~PTE.pfnMask) == (b & ~PTE.pfnMask, a & ~PTE.pfnMask) {
            run!.last = n
            pending.append(line)
            continue
        }
        flush()
        run = (name, n, n, b, a, key)
        pending = [line]
    }
    flush()
    return out
}

extension Explorer {
    /// A hash of an execution's final state: for every named mapping (its names hashed once),
    /// each page not in its default state (touchedPages(of:): a PTE that is not none, or
    /// something cached behind it; every other page maps nothing and reads 0) with its PTE bits
    /// (frames aside) and token; and the threads' positions. Two final states hash alike
    /// exactly when the same named pages have the same PTE bits and tokens. The hasher is
    /// StableHasher, so that shards run in other processes can merge their sets.
    static func fingerprint(_ runner: ScenarioRunner<ModelBackend>) -> UInt64 {
        var h = StableHasher()
        let kernel = runner.backend.kernel
        for m in runner.namedMappings {
            h.combine(m.processName)
            h.combine(m.mapping)
            let pages = runner.touchedPages(of: m)
            h.combine(pages.count)
            for page in pages {
                let address = m.address + UInt64(page) * pageSize
                let pte = kernel.mms[Int(m.process)].pageTables.pte(address)
                h.combine(page)
                h.combine(pte.raw & ~PTE.pfnMask)
                h.combine(kernel.peekToken(m.process, address))
            }
        }
        for t in runner.threadPositions { h.combine(t.pc); h.combine(t.finished) }
        return h.finalized
    }
}
