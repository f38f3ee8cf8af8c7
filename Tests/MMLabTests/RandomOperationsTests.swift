// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest
@testable import MMLab

/// Seeded random sequences of operations over anon and shmem memory in several processes,
/// with the model's invariants checked after every operation and no leak at the end.
final class RandomOperationsTests: XCTestCase {
    /// Operations per seed.
    static let steps = 150

    /// The seeds: 40 in CI; `MMLAB_RANDOM_OPS=N` runs enough seeds for N operations (the long
    /// run outside CI, docs/reliability.md), from `MMLAB_RANDOM_OPS_SEED` (default 1) on.
    static var seeds: [UInt64] {
        let env = ProcessInfo.processInfo.environment
        let first = env["MMLAB_RANDOM_OPS_SEED"].flatMap { UInt64($0) } ?? 1
        let count = env["MMLAB_RANDOM_OPS"].flatMap { Int($0) }.map { ($0 + steps - 1) / steps } ?? 40
        return (0..<UInt64(count)).map { (first + $0) &* 7919 }
    }

    func testInvariantsHoldOverRandomOperations() {
        let seeds = Self.seeds
        var ops = 0
        var failures = 0
        for seed in seeds {
            var rng = SplitMix64(seed: seed)
            var t = TestKernel(swapMiB: UInt64.random(in: 0...1, using: &rng) == 0 ? 0 : 1)
            var procs: [MMID] = [t.mm]
            let f = t.memfd(32)
            var maps: [(base: UInt64, pages: Int)] = []
            maps.append((t.anon(32), 32))
            maps.append((t.map(f, pages: 32), 32))
            maps.append((t.map(f, pages: 32, shared: false), 32))
            var log: [String] = []
            for step in 0..<Self.steps {
                let p = procs[Int.random(in: 0..<procs.count, using: &rng)]
                let (base, pages) = maps[Int.random(in: 0..<maps.count, using: &rng)]
                let lo = Int.random(in: 0..<pages, using: &rng)
                let n = Int.random(in: 1...min(6, pages - lo), using: &rng)
                let a = base + UInt64(lo) << 12, len = UInt64(n) << 12
                let op = Int.random(in: 0..<19, using: &rng)
                log.append("op \(op) mm \(p) map@\(String(base, radix: 16)) pages \(lo)+\(n)")
                switch op {
                case 0, 1, 2: _ = t.k.access(p, a, store: UInt64(step))
                case 3, 4: _ = t.k.access(p, a, store: nil)
                case 5: _ = t.k.madvise(p, start: a, length: len, advice: .pageout)
                case 6: _ = t.k.madvise(p, start: a, length: len, advice: .dontneed)
                case 7: _ = t.k.fallocatePunchHole(f, offset: UInt64(lo) << 12, length: len)
                case 8: if procs.count < 4 { procs.append(t.k.fork(p, childName: "c\(step)")) }
                case 9: _ = t.k.mprotect(p, start: a, length: len, prot: [.r, .rw, .none][Int.random(in: 0..<3, using: &rng)])
                case 10: _ = t.k.madvise(p, start: a, length: len, advice: .remove)
                case 11: _ = t.k.madvise(p, start: a, length: len, advice: .populate_write)
                case 12: _ = t.k.madvise(p, start: a, length: len, advice: .cold)
                case 13: _ = t.k.madvise(p, start: a, length: len, advice: .free)
                case 14: _ = t.k.madvise(p, start: a, length: len, advice: .guard_install)
                case 15: _ = t.k.madvise(p, start: a, length: len, advice: .guard_remove)
                case 16: _ = t.k.pread(f, offset: UInt64(lo) << 12)
                case 17: _ = t.k.madvise(p, start: a, length: len, advice: [.wipeonfork, .dontfork, .dofork, .keeponfork][Int.random(in: 0..<4, using: &rng)])
                default:
                    if procs.count > 1 && Int.random(in: 0..<4, using: &rng) == 0 {
                        let victim = procs.removeLast()
                        t.k.exitMM(victim)
                    } else {
                        _ = t.k.munmap(p, start: a, length: len)
                    }
                }
                ops += 1
                if !t.k.invariantViolations.isEmpty {
                    XCTFail("seed \(seed) step \(step): \(t.k.invariantViolations.prefix(3))\n" + log.suffix(12).joined(separator: "\n"))
                    failures += 1
                    break
                }
            }
            t.tearDownAndAssertNoLeaks()
            if failures >= 5 { break }
        }
        print("random operations: \(ops) operations over \(seeds.count) seeds, invariants checked after each, \(failures) violations")
    }

    func testTheInvariantCheckerCatchesACorruptedRefcount() {
        var t = TestKernel()
        let a = t.anon(1)
        t.write(a, 1)
        let pfn = PFN(t.pfn(a))
        t.k.frames[pfn].refcount += 1
        XCTAssertFalse(t.k.verifyInvariants().isEmpty)
        t.k.frames[pfn].refcount -= 1
        t.k.frames[pfn].mapcount = 2
        XCTAssertTrue(t.k.verifyInvariants().contains { $0.contains("mapcount") })
    }
}
