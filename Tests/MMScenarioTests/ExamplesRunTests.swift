// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest
@testable import MMExplore
@testable import MMScenario

/// The repository root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Every `.mms` file under examples/, sorted.
func exampleFiles() -> [URL] {
    let dir = repositoryRoot.appendingPathComponent("examples")
    guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
    return e.compactMap { $0 as? URL }.filter { $0.pathExtension == "mms" }
        .sorted { $0.path < $1.path }
}

/// Every example scenario runs on the model with the invariants checked after every
/// operation, meets all its expectations, and leaks nothing.
final class ExamplesRunTests: XCTestCase {
    func testEveryExamplePassesOnTheModel() throws {
        let files = exampleFiles()
        XCTAssertGreaterThanOrEqual(files.count, 20, "examples/ should hold the scenarios of the core issue")
        var expectations = 0
        for url in files {
            let text = try String(contentsOf: url, encoding: .utf8)
            let rel = String(url.path.dropFirst(repositoryRoot.path.count + 1))
            // Races are for `mmlab explore` (ExploreTests runs each with its stated verdict).
            if text.hasPrefix("# explore:") { continue }
            let out = MMLabSession.run(source: text, file: rel, options: RunOptions(internalChecks: true))
            XCTAssertEqual(out.status, 0, "\(rel):\n\(out.output)")
            XCTAssertEqual(out.report?.problems ?? [], [], rel)
            XCTAssertGreaterThan(out.report?.met ?? 0, 0, "\(rel) checks nothing")
            expectations += out.report?.met ?? 0
        }
        print("examples: \(files.count) scenarios, \(expectations) expectations met on the model")
    }

    /// The fast path of an access (Fault/FastAccess.swift) runs only without the invariant
    /// checks, which the test above turns on: every example's report — results, pagemap
    /// words, tokens read, expectations and the cost counters of `--stats` — is the same with
    /// the checks (the general steps for every access) and without (the fast path where it
    /// applies).
    func testEveryExampleReportsTheSameWithAndWithoutTheInvariantChecks() throws {
        var compared = 0
        for url in exampleFiles() {
            let text = try String(contentsOf: url, encoding: .utf8)
            if text.hasPrefix("# explore:") { continue }
            let rel = String(url.path.dropFirst(repositoryRoot.path.count + 1))
            let fast = MMLabSession.run(source: text, file: rel, options: RunOptions(stats: true))
            let steps = MMLabSession.run(source: text, file: rel, options: RunOptions(stats: true, internalChecks: true))
            XCTAssertEqual(fast.output, steps.output, rel)
            XCTAssertEqual(fast.status, steps.status, rel)
            compared += 1
        }
        XCTAssertGreaterThan(compared, 100)
    }

    /// Every example that states designs' answers in `when design K = V… { }` blocks meets
    /// them under each value it names (the design set as `mmlab compare` sets it), with the
    /// invariants on: the halves the default run skips are tested too.
    func testEveryWhenDesignBranchOfTheExamplesPasses() throws {
        var runs = 0
        for url in exampleFiles() {
            let text = try String(contentsOf: url, encoding: .utf8)
            if text.hasPrefix("# explore:") || !text.contains("when design ") { continue }
            let rel = String(url.path.dropFirst(repositoryRoot.path.count + 1))
            var variants: [(String, String)] = []
            for line in text.split(separator: "\n") {
                let t = line.drop { $0 == " " }
                guard t.hasPrefix("when design "), let eq = t.firstIndex(of: "="), let brace = t.lastIndex(of: "{") else { continue }
                let key = t[t.index(t.startIndex, offsetBy: 12)..<eq].trimmingCharacters(in: .whitespaces)
                for v in t[t.index(after: eq)..<brace].split(separator: ",") {
                    let value = v.trimmingCharacters(in: .whitespaces)
                    if !variants.contains(where: { $0 == (key, value) }) { variants.append((key, value)) }
                }
            }
            for (key, value) in variants {
                let kept = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
                    line.hasPrefix("design \(key) ") ? "# (design set by the test)" : String(line)
                }
                let source = "design \(key) = \(value)\n" + kept.joined(separator: "\n")
                let out = MMLabSession.run(source: source, file: rel, options: RunOptions(internalChecks: true))
                XCTAssertEqual(out.status, 0, "\(rel) under \(key) = \(value):\n\(out.output)")
                XCTAssertEqual(out.report?.problems ?? [], [], "\(rel) under \(key) = \(value)")
                runs += 1
            }
        }
        XCTAssertGreaterThan(runs, 10)
    }

    func testEveryExampleFolderHasAReadme() throws {
        let dir = repositoryRoot.appendingPathComponent("examples")
        for sub in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent(sub).path, isDirectory: &isDir),
                  isDir.boolValue else { continue }
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(sub).appendingPathComponent("README.md").path),
                          "examples/\(sub) has no README.md")
        }
    }

    func testRunsAreDeterministic() throws {
        for url in exampleFiles().prefix(8) {
            let text = try String(contentsOf: url, encoding: .utf8)
            let a = MMLabSession.run(source: text, file: "x.mms", options: RunOptions(json: true, stats: true))
            let b = MMLabSession.run(source: text, file: "x.mms", options: RunOptions(json: true, stats: true))
            XCTAssertEqual(a.output, b.output)
        }
    }
}
