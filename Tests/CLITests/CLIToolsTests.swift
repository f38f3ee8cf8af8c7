// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

/// `--version`, the shell completion scripts, and (CLIJSONTests.swift) the JSON of every
/// command: what tools built on mmlab read.
extension CLISnapshotTests {
    /// Runs git in the checkout the tests run in: its output, or nil when git fails.
    static func git(_ args: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", root.path] + args
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
        if Self.git(["rev-parse", "HEAD"]) != nil {
            // Built from this checkout: a commit of it, marked when tracked files had changes.
            // `swift build` writes the commit of HEAD; `swift test` alone does not rerun the
            // plugin, so after a commit without a `swift build` it may be an ancestor of HEAD.
            let commit = commitLine.hasPrefix("commit: ") ? String(commitLine.dropFirst(8)) : ""
            let hash = commit.hasSuffix("-modified") ? String(commit.dropLast(9)) : commit
            XCTAssertEqual(hash.count, 40, "expected a commit, found '\(commitLine)'")
            XCTAssertTrue(hash.allSatisfy { $0.isHexDigit }, "expected a commit, found '\(commitLine)'")
            XCTAssertNotNil(Self.git(["merge-base", "--is-ancestor", hash, "HEAD"]),
                            "expected HEAD or an ancestor of it, found '\(commitLine)'")
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
