// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest
@testable import MMExplore
@testable import MMScenario

/// `explore` as text, exit status and the explorer's result.
func exploreTriple(source: String, file: String, options: ExploreOptions = ExploreOptions()) -> (String, Int32, ExploreResult?) {
    let (o, r) = MMLabSession.exploration(source: source, file: file, options: options)
    return (o.output, o.status, r)
}

/// `replay` as text and exit status.
func replayPair(source: String, file: String, token: String) -> (String, Int32) {
    let o = MMLabSession.replay(source: source, file: file, token: token)
    return (o.output, o.status)
}

/// `mmlab explore` and `mmlab replay`: races are found, absent races are not reported,
/// results and traces are reproducible.
final class ExploreTests: XCTestCase {
    func load(_ path: String) throws -> String {
        try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
    }

    func explore(_ path: String, _ options: ExploreOptions = ExploreOptions()) throws -> (String, Int32, ExploreResult) {
        let (out, status, result) = exploreTriple(source: try load(path), file: path, options: options)
        return (out, status, try XCTUnwrap(result, out))
    }

    func testFindsTheBugOfADeliberatelyBrokenDesign() throws {
        let (out, status, r) = try explore("Tests/MMScenarioTests/Fixtures/dontneed-drop.mms")
        XCTAssertEqual(status, 1, out)
        let v = try XCTUnwrap(r.verdicts.first { $0.name == "no_silent_write" })
        XCTAssertGreaterThan(v.failingExecutions, 0)
        XCTAssertTrue(out.contains("check no_silent_write: FAILS"), out)
        XCTAssertTrue(out.contains("replay token: v1."), out)
        XCTAssertTrue(r.exhaustive)
    }

    func testReportsNothingWhereNoRaceExists() throws {
        let (out, status, r) = try explore("Tests/MMScenarioTests/Fixtures/dontneed-618.mms")
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("check no_silent_write: holds on all \(r.executions) executions (exhaustive)"), out)
    }

    func testSeed001() throws {
        let (old, s1, _) = try explore("examples/races/seed001-old-designs.mms")
        XCTAssertEqual(s1, 1, old)
        XCTAssertTrue(old.contains("unmap_mapping_range"), old)
        XCTAssertTrue(old.contains("shmem_truncate_range"), old)
        let (new, s2, _) = try explore("examples/races/seed001-618.mms")
        XCTAssertEqual(s2, 0, new)
        let (armed, s3, _) = try explore("examples/races/seed001-skip-armed-drop.mms")
        XCTAssertEqual(s3, 1, "the 2020 patch alone does not close the hole:\n\(armed)")
    }

    func testResultsAreDeterministic() throws {
        let (a, _, _) = try explore("examples/races/seed001-old-designs.mms")
        let (b, _, _) = try explore("examples/races/seed001-old-designs.mms")
        XCTAssertEqual(a, b)
    }

    func testReplayReproducesTheTraceByteForByte() throws {
        let path = "examples/races/seed001-old-designs.mms"
        let (out, _, r) = try explore(path)
        let schedule = try XCTUnwrap(r.verdicts.first { $0.name == "no_silent_write" }?.shortest)
        let token = ReplayToken.encode(schedule)
        XCTAssertEqual(ReplayToken.decode(token), schedule)
        let (replay1, status1) = replayPair(source: try load(path), file: path, token: token)
        let (replay2, _) = replayPair(source: try load(path), file: path, token: token)
        XCTAssertEqual(status1, 1, replay1)
        XCTAssertEqual(replay1, replay2)
        // Every step line of the explore trace appears in the replay, in order.
        let exploreSteps = out.split(separator: "\n").filter { $0.contains("  —  ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        let replaySteps = replay1.split(separator: "\n").filter { $0.contains("  —  ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(exploreSteps, replaySteps)
        XCTAssertTrue(replay1.contains("check no_silent_write: FAILS"), replay1)
    }

    func testBadTokensAreRefused() throws {
        let path = "examples/races/seed001-618.mms"
        let (out, status) = replayPair(source: try load(path), file: path, token: "nonsense")
        XCTAssertEqual(status, 2)
        XCTAssertTrue(out.contains("expected a replay token like v1.0121, found 'nonsense'"), out)
        let (out2, status2) = replayPair(source: try load(path), file: path, token: "v1.9")
        XCTAssertEqual(status2, 2)
        XCTAssertTrue(out2.contains("cannot run here"), out2)
    }

    func testReductionExploresFewerExecutionsWithTheSameVerdicts() throws {
        var plain = ExploreOptions()
        plain.reduction = false
        let (_, _, full) = try explore("examples/races/seed001-old-designs.mms", plain)
        let (_, _, reduced) = try explore("examples/races/seed001-old-designs.mms")
        XCTAssertLessThan(reduced.executions, full.executions)
        XCTAssertEqual(reduced.verdicts.map { $0.failingExecutions > 0 }, full.verdicts.map { $0.failingExecutions > 0 })
        XCTAssertEqual(reduced.distinctFinalStates, full.distinctFinalStates)
    }

    func testBoundsAndSampling() throws {
        var bounded = ExploreOptions()
        bounded.preemptionBound = 0
        let (out, _, r) = try explore("examples/races/seed001-old-designs.mms", bounded)
        XCTAssertFalse(r.exhaustive)
        XCTAssertTrue(out.contains("bounded (preemption bound 0)"), out)
        var random = ExploreOptions()
        random.randomExecutions = 25
        random.seed = 7
        let (a, _, ra) = try explore("examples/races/seed001-old-designs.mms", random)
        let (b, _, _) = try explore("examples/races/seed001-old-designs.mms", random)
        XCTAssertEqual(ra.executions, 25)
        XCTAssertEqual(a, b, "the same seed gives the same executions")
        XCTAssertTrue(a.contains("seed 7"), a)
    }

    func testEveryRaceExampleHasItsStatedVerdict() throws {
        for url in exampleFiles() where url.path.contains("/races/") {
            let rel = String(url.path.dropFirst(repositoryRoot.path.count + 1))
            let text = try String(contentsOf: url, encoding: .utf8)
            let fails = text.hasPrefix("# explore: fails")
            XCTAssertTrue(fails || text.hasPrefix("# explore: holds"), "\(rel) states no verdict")
            let (out, status, _) = exploreTriple(source: text, file: rel)
            XCTAssertEqual(status, fails ? 1 : 0, out)
        }
    }

    func testUffdStressInSmall() throws {
        let (out, status, _) = try explore("examples/races/uffd-stress-small.mms")
        XCTAssertEqual(status, 0, out)
    }

    /// UFFDIO_WRITEPROTECT runs one PTE table per step under mmap_lock held for read: a store
    /// of another thread may come between two tables, a munmap (mmap_lock for write) may not.
    func testWriteProtectStepsPerTableAndHoldsMmapLock() throws {
        let path = "examples/races/wp-tables.mms"
        guard case .success(let (start, _, _)) = MMLabSession.exploreStart(try load(path), file: path) else {
            return XCTFail("set-up failed")
        }
        var runner = start
        XCTAssertEqual(runner.enabledThreads(), [0, 1, 2])
        let first = tracedStep(&runner, 0)
        XCTAssertTrue(first.action.contains("uffd_wp_range(main, 0x7f0000000000..0x7f0000200000, wp)"), first.action)
        XCTAssertEqual(first.pteChanges, ["A[0]: 0x8000000000001067 → 0x8000000000001465"])
        XCTAssertEqual(runner.enabledThreads(), [0, 1], "the munmap waits for mmap_lock")
        XCTAssertEqual(runner.whyNotEnabled(2), "unmapper takes mmap_lock(mm0) for write, which tracker holds for read")
        _ = runner.stepThread(1)   // the store to A[600] lands before its table is protected
        let last = tracedStep(&runner, 0)
        XCTAssertTrue(last.action.contains("0x7f0000200000..0x7f0000400000"), last.action)
        XCTAssertEqual(runner.enabledThreads(), [1, 2], "the walk ended and released mmap_lock")
        let (out, status) = replayPair(source: try load(path), file: path, token: "v1.02")
        XCTAssertEqual(status, 2)
        XCTAssertTrue(out.contains("unmapper takes mmap_lock(mm0) for write, which tracker holds for read"), out)
    }

    /// A hole punch holds i_mmap_rwsem for read from its first zap to its last: an mmap of the
    /// file (which links the VMA under i_mmap_rwsem for write) waits; a fault does not.
    func testPunchHoldsIMmapRwsemBetweenItsZaps() throws {
        let source = """
        memfd F 16p
        mmap A F shared rw
        write A = 0x1
        fork child
        in child {
          read A[0]
        }
        thread punch {
          punch F[0..15]
        }
        thread mapper {
          mmap B F shared rw
        }
        thread reader {
          read A[3]
        }
        """
        guard case .success(let (start, _, _)) = MMLabSession.exploreStart(source, file: "t.mms") else {
            return XCTFail("set-up failed")
        }
        var runner = start
        let zap = tracedStep(&runner, 0)   // zaps main's mapping; child's is next
        XCTAssertEqual(zap.pteChanges.count, 1, "16 PTEs zapped the same way print as one line (runs of up to 8 are listed): \(zap.pteChanges)")
        XCTAssertTrue(zap.pteChanges.first?.hasPrefix("A[0..15]: ") ?? false, "\(zap.pteChanges)")
        XCTAssertEqual(runner.enabledThreads(), [0, 2])
        XCTAssertTrue(runner.whyNotEnabled(1).contains("i_mmap_rwsem"), runner.whyNotEnabled(1))
        _ = runner.stepThread(0)   // zaps the child's mapping
        XCTAssertEqual(runner.enabledThreads(), [0, 1, 2], "the truncate step runs without i_mmap_rwsem")
    }

    /// MADV_DONTNEED zaps one PTE table per step: a store can come between two tables, so a
    /// later store is discarded while an earlier one survives (a fourth final state).
    func testDontneedStepsPerTable() throws {
        let path = "examples/races/dontneed-tables.mms"
        let (out, status, r) = try explore(path)
        XCTAssertEqual(status, 0, out)
        XCTAssertEqual(r.distinctFinalStates, 4, out)
        guard case .success(let (start, post, checks)) = MMLabSession.exploreStart(try load(path), file: path) else {
            return XCTFail("set-up failed")
        }
        let (lines, end, err) = MMLabSession.traceSchedule(start, [0, 1, 1, 1, 0])
        XCTAssertNil(err)
        XCTAssertTrue(lines[0].contains("zap_page_range_single(main, 0x7f0000000000..0x7f0000200000)"), lines[0])
        XCTAssertTrue(lines.last { $0.contains("zapper") }?.contains("0x7f0000200000..0x7f0000400000") ?? false, "\(lines)")
        var runner = end
        XCTAssertTrue(runner.enabledThreads().isEmpty)
        let a = runner.mappings["A"]!.address
        XCTAssertEqual(runner.backend.kernel.peekToken(runner.backend.mainProcess, a), 0x2, "the earlier store survives")
        XCTAssertEqual(runner.backend.kernel.peekToken(runner.backend.mainProcess, a + 600 * 4096), 0x0, "the later one is discarded")
        _ = runner.finishExecution(post: post, checks: checks)
    }

    /// UFFDIO_COPY fills one page per step: a fault on the next page can come in between.
    func testCopyFillsOnePagePerStep() throws {
        let path = "examples/races/uffd-stress-small.mms"
        guard case .success(let (start, _, _)) = MMLabSession.exploreStart(try load(path), file: path) else {
            return XCTFail("set-up failed")
        }
        var runner = start
        let first = tracedStep(&runner, 2)
        XCTAssertTrue(first.action.hasPrefix("userfaultfd_copy"), first.action)
        XCTAssertEqual(first.pteChanges.count, 1, "\(first.pteChanges)")
        XCTAssertTrue(first.pteChanges[0].hasPrefix("A[0]: 0x0 → "), "\(first.pteChanges)")
        XCTAssertEqual(runner.heldLocks(2), [.mmapLock(0)])
        let load = tracedStep(&runner, 1)   // f2 reads A[0], already filled
        XCTAssertEqual(load.action, "load A[0] reads 0x10")
        let second = tracedStep(&runner, 2)
        XCTAssertTrue(second.pteChanges.first?.hasPrefix("A[1]: 0x0 → ") ?? false, "\(second.pteChanges)")
        XCTAssertEqual(runner.heldLocks(2), [], "the copy ended")
    }

    /// Threads of a forked child (`in child { thread … }`) are interleaved with main's.
    func testThreadsOfAChildProcess() throws {
        let (out, status, r) = try explore("examples/races/fork-cow.mms")
        XCTAssertEqual(status, 0, out)
        XCTAssertEqual(r.threads, ["pw", "cr"])
        XCTAssertGreaterThan(r.executions, 1)
        let (trace, _) = replayPair(source: try load("examples/races/fork-cow.mms"),
                                             file: "examples/races/fork-cow.mms", token: "v1.0001111")
        XCTAssertTrue(trace.contains("PTE child:A[1]: 0x8000000000002045 → 0x8000000000004067"), trace)
        XCTAssertTrue(trace.contains("do_wp_page → wp_page_copy"), trace)
        let mixed = """
        mmap A anon private rw 1p
        fork child
        in child {
          read A[0]
          thread t {
            read A[0]
          }
        }
        """
        let (text, code, _) = exploreTriple(source: mixed, file: "m.mms")
        XCTAssertEqual(code, 2)
        XCTAssertTrue(text.contains("m.mms:4:3: error: expected only threads in a process block that explore interleaves, found 'read A[0]'"), text)
    }

    /// PAGEMAP_SCAN walks one PTE table per step: here the range ends one table and begins
    /// the next, so the scan is two steps and holds mmap_lock in between.
    func testPagemapScanStepsPerTable() throws {
        let path = "examples/races/transact-tables.mms"
        let (trace, status) = replayPair(source: try load(path), file: path, token: "v1.22")
        XCTAssertEqual(status, 0, trace)
        XCTAssertTrue(trace.contains("pagemap_scan_pmd_entry(main, 0x7f00001fe000..0x7f0000200000)"), trace)
        XCTAssertTrue(trace.contains("pagemap_scan_pmd_entry(main, 0x7f0000200000..0x7f0000206000)"), trace)
        guard case .success(let (start, _, _)) = MMLabSession.exploreStart(try load(path), file: path) else {
            return XCTFail("set-up failed")
        }
        var runner = start
        _ = runner.stepThread(2)
        XCTAssertEqual(runner.heldLocks(2), [.mmapLock(0)])
        _ = runner.stepThread(2)
        XCTAssertEqual(runner.heldLocks(2), [])
        XCTAssertTrue(runner.threads[2].finished)
    }
}
