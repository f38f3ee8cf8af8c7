// SPDX-License-Identifier: Apache-2.0
//
// Hashes of explorer states that are the same in every process and on every machine (so
// that shards run on different machines can merge their sets of states): a 64-bit hasher of
// our own (Swift's Hasher is seeded per process), and a walk over the whole runner by
// reflection, so that nothing the model keeps escapes the hash as the model grows.

import MMLab
import MMScenario

/// A 64-bit hasher with a fixed seed: the same input hashes alike in every process.
struct StableHasher {
    private(set) var state: UInt64 = 0x9e37_79b9_7f4a_7c15

    /// Mixes one word in (the finaliser of SplitMix64 over the running state).
    mutating func combine(_ v: UInt64) {
        var z = state ^ (v &+ 0x9e37_79b9_7f4a_7c15 &+ (state << 6) &+ (state >> 2))
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        state = z ^ (z >> 31)
    }
    mutating func combine(_ v: Int) { combine(UInt64(bitPattern: Int64(v))) }
    mutating func combine(_ v: UInt64?) { if let v { combine(1); combine(v) } else { combine(0) } }
    mutating func combine(_ v: Bool) { combine(UInt64(v ? 1 : 2)) }
    mutating func combine(_ s: String) {
        combine(s.utf8.count)
        var word: UInt64 = 0, n = 0
        for b in s.utf8 {
            word = word << 8 | UInt64(b)
            n += 1
            if n == 8 { combine(word); word = 0; n = 0 }
        }
        if n > 0 { combine(word) }
    }
    var finalized: UInt64 { state }
}

/// The hash of everything an explored state holds that decides its future and its verdicts:
/// the kernel (every field but the cost counters, the trace buffer and the constant design
/// and configuration), the threads (program counters, tasks in progress, sleeping), the
/// scenario's names (mappings, processes, userfaultfds, pins), the check's bookkeeping
/// (the kernel's write checks and invariant violations, inside the kernel) and the
/// expectations that failed so far. The statements' own reports (results, in the order the
/// threads ran them) are left out: what a later verdict reads of them is whether and how an
/// expectation failed, and that is hashed (as a sorted list).
enum StateHash {
    /// Fields left out wherever they occur: counters of work done, the trace buffer, and what
    /// never changes during an exploration.
    static let skipped: Set<String> = ["costs", "trace", "internalChecks", "design", "config", "scenario", "statements",
                                       "report", "current", "currentThread", "statement"]

    static func hash(_ runner: ScenarioRunner<ModelBackend>) -> UInt64 {
        var h = StableHasher()
        walk(runner, &h)
        for m in runner.failedExpectationMessages.sorted() { h.combine(m) }
        return h.finalized
    }

    /// Hashes a value by its structure: integers, strings and arrays of integers directly,
    /// dictionaries and sets without regard to their order, everything else by its stored
    /// properties (or its enum case and payload).
    static func walk(_ value: Any, _ h: inout StableHasher) {
        switch value {
        case let v as Int: h.combine(v); return
        case let v as UInt64: h.combine(v); return
        case let v as UInt32: h.combine(UInt64(v)); return
        case let v as Int32: h.combine(Int(v)); return
        case let v as UInt16: h.combine(UInt64(v)); return
        case let v as UInt8: h.combine(UInt64(v)); return
        case let v as Int64: h.combine(Int(v)); return
        case let v as Bool: h.combine(v); return
        case let v as String: h.combine(v); return
        case let v as [UInt64]: h.combine(v.count); for x in v { h.combine(x) }; return
        case let v as [UInt32]: h.combine(v.count); for x in v { h.combine(UInt64(x)) }; return
        case let v as [Int]: h.combine(v.count); for x in v { h.combine(x) }; return
        case let v as [UInt8]: h.combine(v.count); for x in v { h.combine(UInt64(x)) }; return
        case let v as [Bool]: h.combine(v.count); for x in v { h.combine(x) }; return
        default: break
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .dictionary?, .set?:
            // Order-free: the sum of the elements' own hashes.
            var sum: UInt64 = 0
            for child in mirror.children {
                var e = StableHasher()
                walk(child.value, &e)
                sum = sum &+ e.finalized
            }
            h.combine(mirror.children.count)
            h.combine(sum)
        case .optional?:
            if let child = mirror.children.first { h.combine(1); walk(child.value, &h) } else { h.combine(0) }
        case .enum?:
            h.combine(String(describing: type(of: value)))
            if let child = mirror.children.first {
                h.combine(child.label ?? "")
                walk(child.value, &h)
            } else {
                h.combine(String(describing: value))
            }
        case .collection?, .tuple?:
            h.combine(mirror.children.count)
            for child in mirror.children { walk(child.value, &h) }
        default:
            var m: Mirror? = mirror
            var any = false
            while let cur = m {
                for child in cur.children {
                    if let l = child.label, skipped.contains(l) { continue }
                    any = true
                    walk(child.value, &h)
                }
                m = cur.superclassMirror
            }
            if !any { h.combine(String(describing: value)) }
        }
    }
}
