// SPDX-License-Identifier: Apache-2.0
//
// The model's throughput on the workloads that Benchmarks/kernel/kernel_bench.c runs on the
// live kernel (see docs/performance.md):
//
//   anon write faults   first touch (a store) of each page of a 4 GiB private anon mapping:
//                       1 Mi faults, each allocating and zeroing a frame
//   anon read faults    a load from each page of a fresh 4 GiB private anon mapping:
//                       1 Mi faults, each mapping the shared zero page
//   shmem read faults   a load from each page of a 1 GiB shared memfd mapping whose page
//                       cache was filled beforehand through another mapping: fault-around
//                       maps 16 pages per fault, so 16 Ki faults for 256 Ki pages
//   pagemap read        one /proc/PID/pagemap word for each page of the populated 4 GiB
//                       mapping: 1 Mi words
//
// Only the pass itself is measured (benchmark.startMeasurement()/stopMeasurement()); the
// setup (a fresh Kernel, mmap, populating) is not. Each pass also reports a custom metric,
// the rate in operations per second (faults/s, pages/s, words/s), and the write-fault pass
// reports `Kernel.stateBytes` divided by the pages it populated (bytes of model state per
// populated page).

import Benchmark
import Foundation
import MMLab
import MMExplore
import MMScenario

/// Pages in the 4 GiB anon mapping (1 Mi).
let anonPages = 1 << 20
/// Pages in the 1 GiB memfd (256 Ki).
let shmemPages = 1 << 18

enum Rates {
    static let faultsPerSecond = BenchmarkMetric.custom("faults/s", polarity: .prefersLarger, useScalingFactor: false)
    static let pagesPerSecond = BenchmarkMetric.custom("pages/s", polarity: .prefersLarger, useScalingFactor: false)
    static let wordsPerSecond = BenchmarkMetric.custom("pagemap words/s", polarity: .prefersLarger, useScalingFactor: false)
    static let bytesPerPage = BenchmarkMetric.custom("state bytes/populated page", polarity: .prefersSmaller,
                                                     useScalingFactor: false)
    static let bytesPerPageX100 = BenchmarkMetric.custom("state bytes/populated page x100", polarity: .prefersSmaller,
                                                         useScalingFactor: false)
    static let stateBytes = BenchmarkMetric.custom("model state bytes", polarity: .prefersSmaller, useScalingFactor: false)
    static let executionsPerSecond = BenchmarkMetric.custom("executions/s", polarity: .prefersLarger, useScalingFactor: false)
    static let executions = BenchmarkMetric.custom("executions (with reduction)", polarity: .prefersSmaller, useScalingFactor: false)
    static let plainExecutions = BenchmarkMetric.custom("executions (plain enumeration)", polarity: .prefersSmaller,
                                                        useScalingFactor: false)
}

/// A race scenario from examples/races, found from this file's path.
func raceScenario(_ name: String) -> (String, String) {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent("examples/races/\(name)").path
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fatalError("cannot read \(path)") }
    return (text, path)
}

/// A fresh machine with one process and an unpopulated 4 GiB private anon mapping.
func anonSetup() -> (Kernel, MMID, UInt64) {
    var k = Kernel()
    let mm = k.createProcess(name: "bench")
    guard case .success(let base) = k.mmap(mm, length: UInt64(anonPages) << 12, prot: .rw, shared: false, target: .anon)
    else { fatalError("mmap failed") }
    return (k, mm, base)
}

/// Writes an 8-byte token to each page: one write fault (first touch) per page.
@inline(never)
func writeEachPage(_ k: inout Kernel, _ mm: MMID, _ base: UInt64, pages: Int) {
    for i in 0..<pages {
        let r = k.access(mm, base + UInt64(i) << 12, store: UInt64(i) | 1)
        if case .ok = r { continue }
        fatalError("store to page \(i): \(r)")
    }
}

/// Reads each page once.
@inline(never)
func readEachPage(_ k: inout Kernel, _ mm: MMID, _ base: UInt64, pages: Int) -> UInt64 {
    var sum: UInt64 = 0
    for i in 0..<pages {
        guard case .ok(let t) = k.access(mm, base + UInt64(i) << 12, store: nil) else { fatalError("load from page \(i)") }
        sum &+= t
    }
    return sum
}

/// Elapsed seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
        timeUnits: .milliseconds,
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(60),
        maxIterations: 10
    )
    let base = Benchmark.defaultConfiguration.metrics

    Benchmark("anon write fault 1Mi pages (4 GiB)",
              configuration: .init(metrics: base + [Rates.faultsPerSecond, Rates.bytesPerPage, Rates.bytesPerPageX100])) {
        benchmark in
        var (k, mm, addr) = anonSetup()
        let faults0 = k.costs.faults
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        writeEachPage(&k, mm, addr, pages: anonPages)
        let t = seconds(since: start)
        benchmark.stopMeasurement()
        let faults = k.costs.faults - faults0
        precondition(faults == anonPages, "expected one fault per page, got \(faults)")
        benchmark.measurement(Rates.faultsPerSecond, Int(Double(faults) / t))
        let populated = k.frames.allocatedCount
        precondition(populated == anonPages)
        benchmark.measurement(Rates.bytesPerPage, k.stateBytes / populated)
        benchmark.measurement(Rates.bytesPerPageX100, k.stateBytes * 100 / populated)
        blackHole(k)
    }

    Benchmark("anon read fault (zero page) 1Mi pages (4 GiB)",
              configuration: .init(metrics: base + [Rates.faultsPerSecond])) { benchmark in
        var (k, mm, addr) = anonSetup()
        let faults0 = k.costs.faults
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        let sum = readEachPage(&k, mm, addr, pages: anonPages)
        let t = seconds(since: start)
        benchmark.stopMeasurement()
        let faults = k.costs.faults - faults0
        precondition(faults == anonPages && sum == 0, "expected one zero-page fault per page, got \(faults)")
        benchmark.measurement(Rates.faultsPerSecond, Int(Double(faults) / t))
        blackHole(k)
    }

    Benchmark("shmem read fault with fault-around 256Ki pages (1 GiB memfd)",
              configuration: .init(metrics: base + [Rates.faultsPerSecond, Rates.pagesPerSecond])) { benchmark in
        var k = Kernel()
        let mm = k.createProcess(name: "bench")
        guard case .success(let ino) = k.memfdCreate(name: "f", bytes: UInt64(shmemPages) << 12),
              case .success(let writer) = k.mmap(mm, length: UInt64(shmemPages) << 12, prot: .rw, shared: true,
                                                 target: .file(ino)),
              case .success(let reader) = k.mmap(mm, length: UInt64(shmemPages) << 12, prot: .r, shared: true,
                                                 target: .file(ino))
        else { fatalError("memfd setup failed") }
        // Fill the page cache through the first mapping (not measured).
        writeEachPage(&k, mm, writer, pages: shmemPages)
        let faults0 = k.costs.faults
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        let sum = readEachPage(&k, mm, reader, pages: shmemPages)
        let t = seconds(since: start)
        benchmark.stopMeasurement()
        let faults = k.costs.faults - faults0
        precondition(faults == shmemPages / k.config.faultAroundPages && sum != 0,
                     "expected one fault per fault-around window, got \(faults)")
        benchmark.measurement(Rates.faultsPerSecond, Int(Double(faults) / t))
        benchmark.measurement(Rates.pagesPerSecond, Int(Double(shmemPages) / t))
        blackHole(k)
    }

    Benchmark("pagemap read 1Mi words (populated 4 GiB)",
              configuration: .init(metrics: base + [Rates.wordsPerSecond])) { benchmark in
        var (k, mm, addr) = anonSetup()
        writeEachPage(&k, mm, addr, pages: anonPages)
        benchmark.startMeasurement()
        let start = ContinuousClock.now
        var present = 0
        // Read as a user does: pread() of 4096 words at a time.
        var i = 0
        while i < anonPages {
            let n = min(4096, anonPages - i)
            for w in k.pagemapRead(mm, start: addr + UInt64(i) << 12, count: n) { present &+= Int(truncatingIfNeeded: w >> 63) }
            i += n
        }
        let t = seconds(since: start)
        benchmark.stopMeasurement()
        precondition(present == anonPages, "expected every page present, got \(present)")
        benchmark.measurement(Rates.wordsPerSecond, Int(Double(anonPages) / t))
        blackHole(k)
    }

    // Sparse state (issue 14, goal 2): what one page of a 1 TiB object costs, in time (the
    // benchmark's wall clock) and in model state (reported), whatever the object's size.
    Benchmark("sparse: 1 TiB memfd, one page written",
              configuration: .init(metrics: base + [Rates.stateBytes])) { benchmark in
        benchmark.startMeasurement()
        var k = Kernel()
        let mm = k.createProcess(name: "bench")
        guard case .success(let ino) = k.memfdCreate(name: "f", bytes: 1 << 40),
              case .success(let a) = k.mmap(mm, length: 1 << 40, prot: .rw, shared: true, target: .file(ino)),
              case .ok = k.access(mm, a + (12345 << 12), store: 5),
              case .ok(5) = k.access(mm, a + (12345 << 12), store: nil)
        else { fatalError("1 TiB memfd failed") }
        benchmark.stopMeasurement()
        benchmark.measurement(Rates.stateBytes, k.stateBytes)
        blackHole(k)
    }

    Benchmark("sparse: mprotect, fork, munmap of 1 TiB anon with one page",
              configuration: .init(metrics: base + [Rates.stateBytes])) { benchmark in
        var k = Kernel()
        let mm = k.createProcess(name: "bench")
        guard case .success(let a) = k.mmap(mm, length: 1 << 40, prot: .rw, shared: false, target: .anon),
              case .ok = k.access(mm, a + (12345 << 12), store: 7)
        else { fatalError("1 TiB anon failed") }
        benchmark.startMeasurement()
        guard k.mprotect(mm, start: a, length: 1 << 40, prot: .r) == nil else { fatalError("mprotect failed") }
        let child = k.fork(mm, childName: "child")
        guard k.munmap(mm, start: a, length: 1 << 40) == nil, k.munmap(child, start: a, length: 1 << 40) == nil
        else { fatalError("munmap failed") }
        benchmark.stopMeasurement()
        benchmark.measurement(Rates.stateBytes, k.stateBytes)
        blackHole(k)
    }

    for (name, file) in [("seed 001 under 6.18", "seed001-618.mms"), ("seed 001 under the old designs", "seed001-old-designs.mms"),
                         ("transact (writers vs WP_ASYNC scan-and-reset)", "transact.mms"),
                         ("uffd-stress in small (faults vs UFFDIO_COPY per page)", "uffd-stress-small.mms"),
                         ("stores vs UFFDIO_WRITEPROTECT per PTE table", "wp-tables.mms"),
                         ("stores vs MADV_DONTNEED per PTE table", "dontneed-tables.mms"),
                         ("COW across two processes", "fork-cow.mms"),
                         ("transact across two PTE tables (scan per table)", "transact-tables.mms")] {
        Benchmark("explore \(name)",
                  configuration: .init(metrics: base + [Rates.executionsPerSecond, Rates.executions, Rates.plainExecutions],
                                       maxIterations: 5)) { benchmark in
            let (text, path) = raceScenario(file)
            var options = ExploreOptions()
            options.measurePlainEnumeration = false
            benchmark.startMeasurement()
            let start = ContinuousClock.now
            let (_, result) = MMLabSession.exploration(source: text, file: path, options: options)
            let t = seconds(since: start)
            benchmark.stopMeasurement()
            guard let r = result else { fatalError("explore failed on \(path)") }
            benchmark.measurement(Rates.executionsPerSecond, Int(Double(r.executions) / t))
            benchmark.measurement(Rates.executions, r.executions)
            var plain = ExploreOptions()
            plain.reduction = false
            plain.measurePlainEnumeration = false
            let (_, full) = MMLabSession.exploration(source: text, file: path, options: plain)
            benchmark.measurement(Rates.plainExecutions, full?.executions ?? 0)
        }
    }
}
