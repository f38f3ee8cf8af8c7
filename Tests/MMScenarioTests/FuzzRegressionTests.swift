// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest
@testable import MMFuzz
@testable import MMScenario

/// The coverage-guided fuzzer's harness (MMFuzz.FuzzHarness, driven by Fuzz/run.sh) on the
/// inputs it must keep passing: every example, and every input that once broke a property
/// (Tests/MMScenarioTests/Fixtures/fuzz/, each with a comment saying what it found).
final class FuzzRegressionTests: XCTestCase {
    func fixtures() -> [URL] {
        let dir = repositoryRoot.appendingPathComponent("Tests/MMScenarioTests/Fixtures/fuzz")
        let files = (try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.pathExtension == "mms" }.sorted { $0.path < $1.path }
    }

    func testEveryFuzzFindingStaysFixed() throws {
        let files = fixtures()
        XCTAssertGreaterThanOrEqual(files.count, 2, "the fuzz findings are kept")
        for url in files {
            let bytes = Array(try Data(contentsOf: url))
            let v = FuzzHarness.check(bytes)
            XCTAssertEqual(v.problems, [], "\(url.lastPathComponent) (\(v.stage))")
            // Each finding is a scenario whose stated outcomes hold on the model (exit 0), or
            // one that must stop with an error (`# expect-status: 2`), never a model problem.
            let text = String(decoding: bytes, as: UTF8.self)
            let want = text.hasPrefix("# expect-status: 2") ? Int32(2) : 0
            let out = MMLabSession.run(source: text, file: url.lastPathComponent, options: RunOptions(internalChecks: true))
            XCTAssertEqual(out.status, want, "\(url.lastPathComponent):\n\(out.output)")
            XCTAssertEqual(out.report?.problems ?? [], [], url.lastPathComponent)
            if want == 2 { XCTAssertTrue(out.output.contains("which exited at line"), out.output) }
        }
    }

    func testEveryExamplePassesTheHarness() throws {
        var ran = 0
        for url in exampleFiles() {
            let v = FuzzHarness.check(Array(try Data(contentsOf: url)))
            XCTAssertEqual(v.problems, [], "\(url.path) (\(v.stage))")
            if v.stage == "ran" || v.stage == "explored" { ran += 1 }
        }
        XCTAssertGreaterThan(ran, 60, "most examples run within the harness's bounds")
    }

    func testTheHarnessBoundsWhatOneInputDoesNotTheSizes() {
        // 16 TiB mapped, three pages touched: runs.
        let small = "mmap A anon private rw 16384G\nwrite A[0] = 0x1\nwrite A[4294967295] = 0x2\nmunmap A\n"
        XCTAssertEqual(FuzzHarness.check(Array(small.utf8)).stage, "ran")
        // Every page of a 16 TiB mapping written: not run (the harness's bound, not the model's).
        let big = "mmap A anon private rw 16384G\nwrite A = 0x1\n"
        XCTAssertTrue(FuzzHarness.check(Array(big.utf8)).stage.hasPrefix("not run: write A = 0x1"))
        // A diagnostic is checked for its place and shape.
        let bad = "mmap A anon private rw 16p\nwrite A[3..1] = 0x1\n"
        XCTAssertEqual(FuzzHarness.check(Array(bad.utf8)).stage, "parse error")
        XCTAssertEqual(FuzzHarness.check(Array(bad.utf8)).problems, [])
    }

    func testTheDictionaryHoldsTheLanguage() {
        let d = Set(FuzzHarness.dictionary)
        for w in ["mmap", "uffd", "pagemap_scan", "EOVERFLOW", "wp_unpopulated", "guard_install", "->"] {
            XCTAssertTrue(d.contains(w), w)
        }
    }
}
