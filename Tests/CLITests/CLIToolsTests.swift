// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

/// `--version`, the shell completion scripts, and (CLIJSONTests.swift) the JSON of every
/// command: what tools built on mmlab read.
extension CLISnapshotTests {
    /// The git commit of the checkout the tests run in, or nil outside one.
    static func checkoutCommit() -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", root.path, "rev-parse", "HEAD"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testVersion() throws {
        let r = try runCLI(["--version"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(3)), ["mmlab 0.1.0", "models: Linux 6.18 memory management", "language: .mms version 0"])
        XCTAssertEqual(lines.count, 4, r.out)
        let commitLine = lines.last ?? ""
        if let head = Self.checkoutCommit() {
            // Built from this checkout: its commit, marked when tracked files had changes.
            XCTAssertTrue(commitLine == "commit: \(head)" || commitLine == "commit: \(head)-modified",
                          "expected the commit \(head), found '\(commitLine)'")
        } else {
            XCTAssertEqual(commitLine, "commit: unknown (not built from a git checkout)")
        }
    }

    /// The completion scripts complete scenario files only (`*.mms`) where a scenario is expected.
    func testCompletionScriptsOfferScenarioFiles() throws {
        let expected = ["bash": "-fX '!*.@(mms)'", "zsh": "_files -g '\\''*.mms'\\''", "fish": "*.\\'mms\\'"]
        for shell in ["bash", "zsh", "fish"] {
            let r = try runCLI(["--generate-completion-script", shell])
            XCTAssertEqual(r.status, 0, r.err)
            for sub in ["run", "explore", "replay", "live", "diff", "compare"] {
                XCTAssertTrue(r.out.contains(sub), "\(shell): no completion for \(sub)")
            }
            // One scenario argument per subcommand.
            let n = r.out.components(separatedBy: expected[shell]!).count - 1
            XCTAssertEqual(n, 6, "\(shell): expected *.mms completion for the 6 scenario arguments, found \(n)")
        }
    }
}
