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
