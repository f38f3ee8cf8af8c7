// SPDX-License-Identifier: Apache-2.0
//
// The deviations list and the statement-by-statement comparison (no kernel needed), the
// live backend's refusals, and — as root on Linux — the differential test: every example
// scenario on the model and on the kernel, with no unlisted difference (KSM included where
// the kernel has it), and the host restored.

import CMMLinux
import Foundation
import MMScenario
import XCTest
@testable import MMLive
#if canImport(Glibc)
import Glibc
#endif

/// The package folder that holds this test file.
private let packageDirectory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent()  // MMLiveTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // the package

final class DeviationsTests: XCTestCase {
    func testParsesSectionsLinesAndRanges() throws {
        let text = """
        # Known deviations
        Prose, ignored.
            ## an indented example is prose too

        ## PFN recycling
        - scenario: examples/shmem/punch-hole.mms
        - lines: 18, 20-22
        - why: the allocator's free lists

        ## everything in one file
        - scenario: `examples/x.mms`
        - lines: all

        # Another top-level heading ends the list
        - scenario: not/a/section.mms
        """
        let list = try Deviations.parse(text)
        XCTAssertEqual(list.count, 2)
        XCTAssertEqual(list[0].title, "PFN recycling")
        XCTAssertEqual(list[0].lines, [18, 20, 21, 22])
        XCTAssertEqual(list[0].why, "the allocator's free lists")
        XCTAssertNil(list[1].lines)
        XCTAssertTrue(list[0].covers(file: "./examples/shmem/punch-hole.mms", line: 21))
        XCTAssertTrue(list[0].covers(file: "/work/main/examples/shmem/punch-hole.mms", line: 18))
        XCTAssertFalse(list[0].covers(file: "examples/shmem/punch-hole.mms", line: 19))
        XCTAssertFalse(list[0].covers(file: "examples/shmem/other-punch-hole.mms", line: 18))
        XCTAssertTrue(list[1].covers(file: "examples/x.mms", line: 1234))
        XCTAssertEqual(Deviations.find(list, file: "examples/x.mms", line: 3)?.title, "everything in one file")
    }

    func testRejectsSectionsWithoutScenarioOrLines() {
        XCTAssertThrowsError(try Deviations.parse("## t\n- lines: 3\n")) { XCTAssertTrue("\($0)".contains("scenario")) }
        XCTAssertThrowsError(try Deviations.parse("## t\n- scenario: a.mms\n")) { XCTAssertTrue("\($0)".contains("lines")) }
        XCTAssertThrowsError(try Deviations.parse("## t\n- scenario: a.mms\n- lines: 3-x\n")) {
            XCTAssertEqual(($0 as? DeviationsError)?.line, 3)
        }
    }

    func testTheRepositoryListParses() throws {
        let path = packageDirectory.appendingPathComponent("docs/deviations.md").path
        let list = try LiveDiff.loadDeviations(path)
        for d in list {
            XCTAssertTrue(FileManager.default.fileExists(atPath: packageDirectory.appendingPathComponent(d.scenario).path),
                          "deviation '\(d.title)' names \(d.scenario), which does not exist")
        }
    }
}

final class CompareTests: XCTestCase {
    let source = """
    scenario "compare"
    mmap A anon private rw 4p
    write A[0] = 0x11
    pagemap A[0]
    expect read A[0] == 0x11
    """

    func modelReport() throws -> RunReport {
        try XCTUnwrap(MMLabSession.run(source: source, file: "examples/t.mms").report)
    }

    func testIdenticalReportsAgree() throws {
        let r = try modelReport()
        XCTAssertTrue(LiveDiff.compare(model: r, kernel: r, deviations: []).isEmpty)
    }

    func testADifferentObservationIsReportedWithBothSides() throws {
        let model = try modelReport()
        var kernel = model
        let i = try XCTUnwrap(kernel.entries.firstIndex { $0.statement.location.line == 4 })
        guard case .pagemap(let ref, var d) = kernel.entries[i].observations[0] else { return XCTFail("a pagemap observation") }
        d.identity = "frame #9"
        kernel.entries[i].observations[0] = .pagemap(ref: ref, d)
        let diffs = LiveDiff.compare(model: model, kernel: kernel, deviations: [])
        XCTAssertEqual(diffs.count, 1)
        XCTAssertEqual(diffs.first?.line, 4)
        XCTAssertTrue(diffs.first?.model.contains { $0.contains("frame #1") } ?? false, "\(diffs)")
        XCTAssertTrue(diffs.first?.kernel.contains { $0.contains("frame #9") } ?? false, "\(diffs)")
        XCTAssertNil(diffs.first?.known)

        let listed = try Deviations.parse("## test\n- scenario: examples/t.mms\n- lines: 4\n")
        let known = LiveDiff.compare(model: model, kernel: kernel, deviations: listed)
        XCTAssertEqual(known.first?.known?.title, "test")
        let result = DiffResult(file: "examples/t.mms", differences: known, compared: 5)
        XCTAssertEqual(result.status, 0, "a listed difference does not fail")
        XCTAssertTrue(LiveDiff.render(result, deviationsPath: nil).contains("known (docs/deviations.md: test)"))
    }

    func testAFailedExpectationAndAMissingTailDiffer() throws {
        let model = try modelReport()
        var kernel = model
        let i = try XCTUnwrap(kernel.entries.firstIndex { $0.statement.location.line == 5 })
        kernel.entries[i].expectations[0].met = false
        kernel.entries[i].expectations[0].message = "A[0]: expected 0x11, found 0x0"
        var diffs = LiveDiff.compare(model: model, kernel: kernel, deviations: [])
        XCTAssertEqual(diffs.map(\.line), [5])
        XCTAssertTrue(diffs[0].kernel.contains("expectation FAILED: A[0]: expected 0x11, found 0x0"))
        kernel = model
        kernel.entries.removeLast()
        diffs = LiveDiff.compare(model: model, kernel: kernel, deviations: [])
        XCTAssertEqual(diffs.first?.kernel, ["not run (the run stopped earlier)"])
        let result = DiffResult(file: "examples/t.mms", differences: diffs)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.verdict.hasPrefix("differs (1 unlisted"))
        XCTAssertTrue(LiveDiff.render(result, deviationsPath: nil).contains("UNLISTED"))
    }
}

final class LiveRefusalTests: XCTestCase {
    func testADesignThatIsNotTheKernelsIsSkipped() {
        let o = LiveSession.run(source: "design uffd_wp.file_zap = drop\nmmap A anon private rw 1p\n", file: "t.mms")
        XCTAssertEqual(o.status, 3, o.output)
        XCTAssertTrue(o.output.contains("skipped: "), o.output)
        if LiveSession.hostRefusal() == nil {
            XCTAssertTrue(o.output.contains("design uffd_wp.file_zap = drop (line 1) is not Linux 6.18's"), o.output)
        } else {
            XCTAssertTrue(o.output.contains("not root") || o.output.contains("not Linux"), o.output)
        }
    }

    func testACheckErrorIsAnErrorNotASkip() {
        let o = LiveSession.run(source: "read A[0]\n", file: "t.mms")
        XCTAssertEqual(o.status, 2)
        XCTAssertNotNil(o.error)
    }

    /// Under `kconfig MEMORY_FAILURE = y`, `poison` would poison host RAM on a kernel that has
    /// CONFIG_MEMORY_FAILURE: refused whatever the kernel, before anything runs. Without it,
    /// `poison` is not refused (the kernel gives EINVAL).
    func testPoisonUnderMemoryFailureIsRefused() throws {
        let source = "kconfig MEMORY_FAILURE = y\ndax D 2M align=2M\nmmap M D shared rw\npoison M[3] -> SIGBUS\n"
        guard case .success(let (scenario, checked)) = MMLabSession.prepare(source, file: "t.mms") else {
            return XCTFail("the scenario checks")
        }
        let why = try XCTUnwrap(LiveSession.poisonRefusal(scenario, checked))
        XCTAssertTrue(why.hasPrefix("'poison' (line 4) under kconfig MEMORY_FAILURE = y would inject a memory failure into host RAM"), why)
        let o = LiveSession.run(source: source, file: "t.mms")
        XCTAssertEqual(o.status, 3, o.output)
        if LiveSession.hostRefusal() == nil { XCTAssertTrue(o.output.contains("skipped: 'poison' (line 4)"), o.output) }

        let plain = "mmap A anon private rw 1p\npoison A[0] -> EINVAL\n"
        guard case .success(let (s2, c2)) = MMLabSession.prepare(plain, file: "t.mms") else { return XCTFail("the scenario checks") }
        XCTAssertNil(LiveSession.poisonRefusal(s2, c2))
        XCTAssertNil(LiveSession.statementRefusal(s2))
    }

    func testWithoutRootEverythingIsSkipped() throws {
        guard mml_is_linux() != 0, mml_geteuid() != 0 else { throw XCTSkip("this test needs a user that is not root") }
        let o = LiveSession.run(source: "mmap A anon private rw 1p\n", file: "t.mms")
        XCTAssertEqual(o.status, 3)
        XCTAssertTrue(o.output.contains("skipped: not root"), o.output)
    }
}

/// The differential test: needs root on Linux, as on the reference machine and its CI.
final class LiveDifferentialTests: XCTestCase {
    override func setUpWithError() throws {
        if let why = LiveSession.hostRefusal() {
            print("live tests skipped: \(why)")
            throw XCTSkip("live tests skipped: \(why)")
        }
    }

    func readPageCluster() -> String? { readSmallFile("/proc/sys/vm/page-cluster") }

    func testEveryExampleAgreesWithTheKernel() throws {
        let examples = packageDirectory.appendingPathComponent("examples").path
        let listPath = packageDirectory.appendingPathComponent("docs/deviations.md").path
        let list = try LiveDiff.loadDeviations(listPath)
        let pageCluster = readPageCluster()
        let swaps = mml_active_swaps()
        let knobs = readKSMKnobs()
        let zeroPages = readSmallFile("\(LiveBackend.ksmDirectory)/ksm_zero_pages")
        let r = LiveDiff.diffAll(directory: examples, deviations: list, deviationsPath: "docs/deviations.md")
        print(r.text)
        XCTAssertFalse(r.results.isEmpty, "examples/ holds scenarios")
        for one in r.results {
            XCTAssertNil(one.error, "\(one.file): \(one.error ?? "")")
            XCTAssertEqual(one.unlisted, 0, LiveDiff.render(one, deviationsPath: "docs/deviations.md"))
        }
        XCTAssertGreaterThan(r.results.filter { $0.skipped == nil && $0.error == nil }.count, 0,
                             "at least one scenario ran on the kernel")
        // userfaultfd, threads, exit, PAGEMAP_SCAN and (with KVM) guest_memfd run on the kernel too.
        let kvm = FileManager.default.fileExists(atPath: "/dev/kvm") ? ["guest_memfd"] : []
        // KSM runs on the kernel wherever it has /sys/kernel/mm/ksm.
        let ksm = LiveBackend.kernelHasKSM ? ["ksm"] : []
        for folder in ["userfaultfd", "markers", "pagemap_scan", "selftests"] + kvm + ksm {
            let here = r.results.filter { $0.file.contains("/examples/\(folder)/") }
            XCTAssertFalse(here.isEmpty, "examples/\(folder) holds scenarios")
            for one in here {
                // A scenario that would leak host state says so in its header (`# live: skip:`).
                if let why = one.skipped, why.hasPrefix("the scenario says not to run it live") { continue }
                // So does one that needs a kernel option this kernel is built without
                // (examples/ksm/soft-dirty-merge.mms needs CONFIG_MEM_SOFT_DIRTY).
                if let why = one.skipped, why.hasPrefix("kconfig "), why.contains("but this kernel is built without") { continue }
                XCTAssertNil(one.skipped, "\(one.file) runs on the kernel: \(one.skipped ?? "")")
            }
        }
        XCTAssertEqual(readPageCluster(), pageCluster, "vm.page-cluster is restored")
        XCTAssertEqual(mml_active_swaps(), swaps, "swap devices are restored")
        XCTAssertEqual(readKSMKnobs(), knobs, "the KSM knobs are restored")
        XCTAssertEqual(readSmallFile("\(LiveBackend.ksmDirectory)/ksm_zero_pages"), zeroPages,
                       "the examples that run live leave no KSM zero page (and leak no count)")
        XCTAssertTrue(try FileManager.default.contentsOfDirectory(atPath: HostSetup.swapDirectory)
            .filter { $0.hasPrefix("mmlab-live-swap.\(getpid()).") }.isEmpty, "swap files are removed")
    }

    /// The KSM knobs the live backend may change, as /sys/kernel/mm/ksm shows them.
    func readKSMKnobs() -> [String: String] {
        var out: [String: String] = [:]
        for k in ["run", "pages_to_scan", "sleep_millisecs", "smart_scan", "use_zero_pages", "advisor_mode",
                  "max_page_sharing", "merge_across_nodes"] {
            out[k] = readSmallFile("\(LiveBackend.ksmDirectory)/\(k)")
        }
        return out
    }

    /// Other processes registered with KSM (their pages and counters are host-wide).
    func otherKSMUsers() -> Bool {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        return pids.contains { $0 != getpid() && LiveBackend.usesKSM($0) }
    }

    func testKSMScansExactlyAndRestoresTheKnobs() throws {
        guard LiveBackend.kernelHasKSM else { throw XCTSkip("this kernel has no /sys/kernel/mm/ksm") }
        let knobs = readKSMKnobs()
        let quiet = !otherKSMUsers()
        let source = """
        mmap A anon private rw 4p
        mmap B anon private rw 4p
        write A = 0x5
        write B = seq(0x10)
        madvise A mergeable
        madvise B mergeable
        ksm scan 1
        expect ksm full_scans=0
        ksm run
        ksm scan 1
        expect ksm full_scans=1 pages_shared=0 pages_sharing=0
        ksm scan 1
        expect ksm full_scans=2 pages_shared=1 pages_sharing=3 pages_unshared=4 pages_volatile=0
        ksm scan 3
        expect ksm full_scans=5 pages_shared=1 pages_sharing=3
        """
        let o = LiveSession.run(source: source, file: "t.mms")
        if quiet {
            XCTAssertEqual(o.status, 0, o.output)
        } else {
            print("other processes use KSM: only the scan count is checked\n\(o.output)")
            XCTAssertFalse(o.output.contains("error"), o.output)
        }
        XCTAssertEqual(readKSMKnobs(), knobs, "the KSM knobs are restored")
        if quiet {
            // run=2 at the end dropped the run's rmap items and KSM pages.
            for c in ["pages_shared", "pages_sharing", "pages_unshared", "pages_volatile"] {
                XCTAssertEqual(readSmallFile("\(LiveBackend.ksmDirectory)/\(c)"), "0\n", c)
            }
        }
    }

    func testSoftDirtyIsRefusedWhenTheKernelLacksIt() throws {
        let o = LiveSession.run(source: "kconfig MEM_SOFT_DIRTY = y\nmmap A anon private rw 1p\nwrite A[0] = 0x1\n", file: "t.mms")
        let w = try LiveWorker.spawn(name: "probe", cpu: nil)
        let written = try w.probe().get().writtenWord
        XCTAssertNil(w.end())
        if written & (1 << 55) == 0 {
            XCTAssertEqual(o.status, 3, o.output)
            XCTAssertTrue(o.output.contains("built without CONFIG_MEM_SOFT_DIRTY"), o.output)
        } else {
            XCTAssertEqual(o.status, 0, o.output)
        }
    }

    func testALiveRunRestoresTheHost() throws {
        let pageCluster = readPageCluster()
        let swaps = mml_active_swaps()
        let source = "swap 16M\nmmap A anon private rw 2p\nwrite A[0] = 0x31\nmadvise A[0] pageout\nexpect pagemap A[0] swap=1\nfork child\n"
        let o = LiveSession.run(source: source, file: "t.mms")
        if swaps > 0 {
            XCTAssertTrue(o.standardError.contains { $0.contains("already had") }, "\(o.standardError)")
        }
        XCTAssertEqual(o.status, 0, o.output)
        XCTAssertEqual(readPageCluster(), pageCluster)
        XCTAssertEqual(mml_active_swaps(), swaps)
        XCTAssertTrue(o.output.contains("[linux "), o.output)
    }
}
