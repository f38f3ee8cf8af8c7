// SPDX-License-Identifier: Apache-2.0

import Foundation
@testable import MMLive
import MMScenario
import XCTest

/// `mmlab import` of a process this test starts (Tests/ImportHelper, a known layout): the
/// scenario's statements, and `mmlab run` of it meets its generated expectations.
final class ImportTests: XCTestCase {
    func testImportOfAKnownLayout() throws {
        guard geteuid() == 0 else {
            print("live tests skipped: mmlab import needs root (PFNs in pagemap)")
            throw XCTSkip("live tests skipped: mmlab import needs root (PFNs in pagemap)")
        }
        var dir = Bundle.main.bundleURL
        var helper: URL? = nil
        for _ in 0..<3 {
            let c = dir.appendingPathComponent("mmlab-import-helper")
            if FileManager.default.isExecutableFile(atPath: c.path) { helper = c; break }
            dir = dir.deletingLastPathComponent()
        }
        let exe = try XCTUnwrap(helper, "mmlab-import-helper was not built (swift build builds it)")
        let p = Process()
        p.executableURL = exe
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        defer { try? input.fileHandleForWriting.close(); p.waitUntilExit() }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let d = output.fileHandleForReading.availableData
            if d.isEmpty { break }
            line += d
        }
        let words = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        XCTAssertEqual(words.first, "ready")
        guard words.count == 3 else { return XCTFail("the helper said \(words)") }
        let out = ProcessImport.command(pid: String(p.processIdentifier), range: "\(words[1])-\(words[2])", maxPages: nil, only: nil)
        XCTAssertEqual(out.status, 0, out.standardError.joined(separator: "\n"))
        let text = out.output
        for statement in [
            "memfd F0 4p", "mmap M0 anon private rw 8p", "mmap M1 anon private none 8p", "mmap M2 F0 shared rw 4p",
            "mmap M4 F0 shared r 4p", "mmap M6 anon private r 2p", "mmap M7 anon private none 30p",
            "write M0[0..3] = seq(0x10000)", "read M0[4]", "write M2[0..1] = seq(0x10004)", "read M4[0..1]", "read M6[0]",
            "expect pagemap M0[4] frame=zero", "expect pagemap M4[0] frame=same(M2[0])", "expect pagemap M4[1] frame=same(M2[1])",
        ] {
            XCTAssertTrue(text.contains("\n" + statement), "missing: \(statement)\n\(text)")
        }
        let run = MMLabSession.run(source: text, file: "imported.mms", options: RunOptions(internalChecks: true))
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(run.report?.failed, 0)
        XCTAssertGreaterThanOrEqual(run.report?.met ?? 0, 12)
    }
}
