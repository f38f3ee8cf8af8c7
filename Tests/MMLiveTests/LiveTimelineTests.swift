// SPDX-License-Identifier: Apache-2.0

import Foundation
@testable import MMLive
import MMScenario
import XCTest

private let timelineRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `live --html` and `diff --html` on the kernel (as root): the kernel's grid is drawn from its
/// own pagemap words, KSM frames from /proc/kpageflags.
final class LiveTimelineTests: XCTestCase {
    override func setUpWithError() throws {
        if let why = LiveSession.hostRefusal() {
            print("live tests skipped: \(why)")
            throw XCTSkip("live tests skipped: \(why)")
        }
    }

    func source(_ rel: String) throws -> String {
        try String(contentsOf: timelineRoot.appendingPathComponent(rel), encoding: .utf8)
    }

    /// After ksmd merged the pages of examples/ksm/merge.mms, the kernel's cells are KSM
    /// pages, as the model's are.
    func testLiveTimelineShowsKSMFrames() throws {
        let file = "examples/ksm/merge.mms"
        let out = LiveSession.run(source: try source(file), file: file, options: LiveOptions(timeline: true))
        XCTAssertEqual(out.status, 0, out.output)
        let t = try XCTUnwrap(out.timeline)
        XCTAssertEqual(t.kind, .live)
        XCTAssertEqual(t.panels.count, 1)
        XCTAssertTrue(t.panels[0].name.hasPrefix("linux"))
        XCTAssertTrue(t.panels[0].columns.contains { $0.pages.contains(where: \.ksm) }, "no KSM frame seen on the kernel")
    }

    /// diff --html: model and kernel, one grid each, with as many columns as statements.
    func testDiffTimelineHasBothSides() throws {
        let file = "examples/fork/anon-cow.mms"
        let r = LiveDiff.diff(source: try source(file), file: file, deviations: [], timeline: true)
        XCTAssertNil(r.error)
        XCTAssertNil(r.skipped)
        XCTAssertEqual(r.panels.count, 2)
        XCTAssertEqual(r.panels[0].name, "model")
        XCTAssertEqual(r.panels[0].columns.count, r.panels[1].columns.count)
        let t = LiveDiff.timeline(r, title: nil, deviationsPath: nil)
        XCTAssertEqual(t.summary.first, "\(file): model and \(r.backend) agree on all \(r.compared) statements")
    }
}
