// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

/// The command line's output, pinned by snapshot files under Snapshots/. Set
/// MMLAB_RECORD_SNAPSHOTS=1 to rewrite them after an intended change.
final class CLISnapshotTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The mmlab executable is not where `swift build` puts it: the tests fail (they do not
    /// skip), since a CLI test that cannot run checks nothing.
    struct MissingExecutable: Error, CustomStringConvertible {
        var searched: [String]
        var description: String {
            "the mmlab executable was not found (looked in \(searched.joined(separator: ", "))); "
                + "build it with 'swift build' before running the CLI tests"
        }
    }

    /// The mmlab executable built next to this test bundle.
    var executable: URL {
        get throws {
            var dir = Bundle.main.bundleURL
            var searched: [String] = []
            for _ in 0..<3 {
                let candidate = dir.appendingPathComponent("mmlab")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                searched.append(dir.path)
                dir = dir.deletingLastPathComponent()
            }
            throw MissingExecutable(searched: searched)
        }
    }

    func runCLI(_ args: [String]) throws -> (out: String, err: String, status: Int32) {
        let p = Process()
        p.executableURL = try executable
        p.arguments = args
        p.currentDirectoryURL = Self.root
        // Help text wraps at the terminal's width: pin it.
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "100"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), p.terminationStatus)
    }

    func assertSnapshot(_ name: String, _ args: [String], status: Int32, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try runCLI(args)
        XCTAssertEqual(r.status, status, r.out + r.err, file: file, line: line)
        let actual = "$ mmlab \(args.joined(separator: " "))\n" + r.out + (r.err.isEmpty ? "" : "--- stderr\n" + r.err)
            + "--- exit \(r.status)\n"
        let url = Self.root.appendingPathComponent("Tests/CLITests/Snapshots/\(name).txt")
        if ProcessInfo.processInfo.environment["MMLAB_RECORD_SNAPSHOTS"] == "1" {
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = (try? String(contentsOf: url, encoding: .utf8)) ?? "(no snapshot recorded)"
        XCTAssertEqual(actual, expected, "snapshot \(name) differs; rerun with MMLAB_RECORD_SNAPSHOTS=1 if intended",
                       file: file, line: line)
    }

    func testRunAnonPageout() throws {
        try assertSnapshot("run-anon-pageout", ["run", "examples/swap/anon-pageout.mms"], status: 0)
    }

    func testRunForkCOW() throws {
        try assertSnapshot("run-fork-cow", ["run", "examples/fork/anon-cow.mms"], status: 0)
    }

    func testRunJSONWithStats() throws {
        try assertSnapshot("run-punch-json", ["run", "--json", "--stats", "examples/shmem/punch-hole.mms"], status: 0)
    }

    func testRunStats() throws {
        try assertSnapshot("run-fault-around-stats", ["run", "--stats", "examples/shmem/fault-around.mms"], status: 0)
    }

    func testParseErrorExits2() throws {
        try assertSnapshot("run-parse-error", ["run", "Tests/CLITests/Fixtures/bad-range.mms"], status: 2)
    }

    func testFailedExpectationExits1() throws {
        try assertSnapshot("run-failed-expectation", ["run", "Tests/CLITests/Fixtures/failing.mms"], status: 1)
    }

    func testMissingFileExits2() throws {
        try assertSnapshot("run-missing-file", ["run", "Tests/CLITests/Fixtures/does-not-exist.mms"], status: 2)
    }

    func testExploreSeed001OldDesigns() throws {
        try assertSnapshot("explore-seed001-old", ["explore", "examples/races/seed001-old-designs.mms"], status: 1)
    }

    /// Shards run as separate processes by `xargs -P` (as GNU parallel, a Slurm job array or
    /// a Kubernetes Indexed Job would run them) and merged print what one run prints; the
    /// counts table and `--jobs` too.
    func testExploreShardsWithXargsMergeIntoOneRun() throws {
        let mmlab = try executable.path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmlab-shards-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for file in ["examples/races/seed001-old-designs.mms", "examples/races/transact-tables.mms"] {
            let whole = try runCLI(["explore", file, "--compare", "--jobs", "1"])
            let script = "export MMLAB=\"$0\" FILE=\"$1\" DIR=\"$2\"; "
                + "seq 0 3 | xargs -P 2 -I{} sh -c '\"$MMLAB\" explore \"$FILE\" --compare --shard {}/4 --json > \"$DIR\"/{}.json'"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script, mmlab, file, dir.path]
            p.currentDirectoryURL = Self.root
            try p.run()
            p.waitUntilExit()
            let merged = try runCLI(["explore", "--merge"] + (0..<4).map { dir.appendingPathComponent("\($0).json").path })
            XCTAssertEqual(merged.out, whole.out, file)
            XCTAssertEqual(merged.status, whole.status, file)
            let jobs = try runCLI(["explore", file, "--compare", "--jobs", "2"])
            XCTAssertEqual(jobs.out, whole.out, file)
        }
    }

    func testExploreSeed001Linux618() throws {
        try assertSnapshot("explore-seed001-618", ["explore", "examples/races/seed001-618.mms"], status: 0)
    }

    func testReplay() throws {
        try assertSnapshot("replay-seed001-old", ["replay", "examples/races/seed001-old-designs.mms", "--schedule", "v1.10022"], status: 1)
    }

    func testDaxMetadataStats() throws {
        try assertSnapshot("run-dax-metadata-dedup", ["run", "--stats", "examples/dax/metadata-dedup.mms"], status: 0)
    }

    /// The machine-check signals with their si_addr_lsb and si_addr (as a page name).
    func testDaxPoison2M() throws {
        try assertSnapshot("run-dax-poison-2m", ["run", "examples/dax/poison-2m.mms"], status: 0)
    }

    func testCompareShmemSwapDesigns() throws {
        try assertSnapshot("compare-shmem-swap", ["compare", "examples/shmem/pageout.mms", "--design",
                                                  "pagemap.shmem_swap=none,pagecache"], status: 0)
    }

    /// Seed 002's headline: two VMs' memfd guest memory under 6.18 and under ksm.file_pages = on
    /// (the counters, the frames freed, the aliases' metadata).
    func testCompareKSMFilePages() throws {
        try assertSnapshot("compare-ksm-file-two-vms", ["compare", "examples/designs/ksm-file-two-vms.mms", "--design",
                                                        "ksm.file_pages=off,on"], status: 0)
    }

    /// Seed 003: struct page bytes at 4 KiB, 2 MiB and 1 GiB alignment and for 1 TiB, and the
    /// services device-dax keeps or loses, per dax.memmap design.
    func testCompareDaxMemmap() throws {
        try assertSnapshot("compare-dax-memmap", ["compare", "examples/designs/dax-memmap.mms", "--design",
                                                  "dax.memmap=full,dedup,none"], status: 0)
    }

    /// Seed 004: the VMM-with-VFIO case under 6.18 and the in-place conversion, with its counters.
    func testCompareGuestMemfdConversion() throws {
        try assertSnapshot("compare-gmem-vmm-vfio", ["compare", "examples/designs/gmem-vmm-vfio.mms", "--design",
                                                     "guest_memfd.conversion=none,in_place"], status: 0)
    }

    func testCompareRefusesUnknownValues() throws {
        try assertSnapshot("compare-bad-value", ["compare", "examples/shmem/pageout.mms", "--design",
                                                 "pagemap.shmem_swap=sometimes"], status: 2)
    }

    /// Every subcommand's --help, so a change to an option's name, default or help is seen.
    /// `--html FILE` prints the same report and writes the page.
    func testRunHTML() throws {
        let page = Self.root.appendingPathComponent(".build/cli-run-timeline.html")
        try? FileManager.default.removeItem(at: page)
        try assertSnapshot("run-fork-cow-html", ["run", "examples/fork/anon-cow.mms", "--html", ".build/cli-run-timeline.html"], status: 0)
        let html = try String(contentsOf: page, encoding: .utf8)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains("<h1>mmlab run <code>examples/fork/anon-cow.mms</code></h1>"))
    }

    /// A page that cannot be written is an error (exit 2) after the report; `diff --all` and
    /// `--random` take no `--html`.
    func testHTMLErrors() throws {
        try assertSnapshot("run-html-unwritable", ["run", "examples/fork/anon-cow.mms", "--html", "/nonexistent/t.html"], status: 2)
        try assertSnapshot("diff-all-html", ["diff", "--all", "examples", "--html", "t.html"], status: 64)
    }

    /// explore --html of a scenario whose checks fail: the text is unchanged.
    func testExploreHTML() throws {
        try assertSnapshot("explore-seed001-old-html", ["explore", "examples/races/seed001-old-designs.mms", "--jobs", "1",
                                                        "--html", ".build/cli-explore-timeline.html"], status: 1)
        let html = try String(contentsOf: Self.root.appendingPathComponent(".build/cli-explore-timeline.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<tr class=\"lane\">"))
    }

    func testHelp() throws {
        try assertSnapshot("help", ["--help"], status: 0)
        for sub in ["run", "explore", "replay", "live", "diff", "compare"] {
            try assertSnapshot("help-\(sub)", [sub, "--help"], status: 0)
        }
    }

    func testDiffWithoutAFileIsAUsageError() throws {
        try assertSnapshot("diff-no-file", ["diff"], status: 64)
    }

    func testLiveParseErrorInJSON() throws {
        try assertSnapshot("live-parse-error-json", ["live", "--json", "Tests/CLITests/Fixtures/bad-range.mms"], status: 2)
    }

    func testReplayRefusesABadToken() throws {
        try assertSnapshot("replay-bad-token", ["replay", "examples/races/seed001-old-designs.mms", "--schedule", "zz"], status: 2)
    }
}
