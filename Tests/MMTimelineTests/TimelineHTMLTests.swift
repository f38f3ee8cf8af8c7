// SPDX-License-Identifier: Apache-2.0

import Foundation
import MMExplore
import MMLab
import MMScenario
@testable import MMTimeline
import XCTest

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func example(_ rel: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(rel), encoding: .utf8)
}

/// Every `.mms` file under examples/, sorted by path.
func exampleFiles() -> [String] {
    let dir = repositoryRoot.appendingPathComponent("examples")
    guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
    return e.compactMap { $0 as? URL }.filter { $0.pathExtension == "mms" }
        .map { String($0.path.dropFirst(repositoryRoot.path.count + 1)) }.sorted()
}

/// Occurrences of `needle` in `s`.
func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

/// The JSON the page's script reads, parsed.
func pageData(_ html: String) throws -> [String: Any] {
    let open = "<script type=\"application/json\" id=\"timeline-data\">"
    let start = try XCTUnwrap(html.range(of: open)).upperBound
    let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
    let obj = try JSONSerialization.jsonObject(with: Data(html[start..<end].utf8))
    return try XCTUnwrap(obj as? [String: Any])
}

/// What `--html` writes: its structure, from the model's runs of the examples.
final class TimelineHTMLTests: XCTestCase {
    /// A run of examples/fork/anon-cow.mms: one grid, a column per statement, a row per page
    /// of each process's mapping (grouped), the side column's data for every column, nothing
    /// fetched from the network.
    func testRunTimelineStructure() throws {
        let file = "examples/fork/anon-cow.mms"
        let out = MMLabSession.run(source: try example(file), file: file, options: RunOptions(timeline: true))
        XCTAssertEqual(out.status, 0)
        let t = try XCTUnwrap(out.timeline)
        let report = try XCTUnwrap(out.report)
        XCTAssertEqual(t.kind, .run)
        XCTAssertEqual(t.panels.count, 1)
        XCTAssertEqual(t.panels[0].columns.count, report.entries.count)
        let html = TimelineHTML.render(t)
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://") || html.contains(" src="),
                       "the page must not fetch anything")
        XCTAssertEqual(count("<section class=\"panel\"", in: html), 1)
        XCTAssertEqual(count("<th class=\"col", in: html), report.entries.count)
        // main:A and, after the fork, child:A: two groups of 4 pages.
        XCTAssertEqual(count("<tbody class=\"group\"", in: html), 2)
        XCTAssertTrue(html.contains("main: A <span class=\"n\">(4 pages)</span>"))
        XCTAssertTrue(html.contains("child: A <span class=\"n\">(4 pages)</span>"))
        XCTAssertEqual(count("<tr class=\"page\">", in: html), 8)
        // Before the fork the child's rows do not exist yet (hatched), after it they do.
        XCTAssertGreaterThan(count("class=\"gone\"", in: html), 0)
        // The frame COW shares after fork is one frame in both rows: the same key.
        XCTAssertTrue(html.contains("s-shared"), "A[0] is shared between parent and child after the fork")
        let data = try pageData(html)
        let panels = try XCTUnwrap(data["panels"] as? [[String: Any]])
        let columns = try XCTUnwrap(panels[0]["columns"] as? [[String: Any]])
        XCTAssertEqual(columns.count, report.entries.count)
        XCTAssertEqual(columns.first?["text"] as? String, report.entries.first?.statement.text)
        // Legend: every state class and mark.
        for s in PageStateClass.allCases { XCTAssertTrue(html.contains("<span class=\"sw s-\(s.rawValue)\"></span>"), s.rawValue) }
        for m in PageMark.allCases { XCTAssertTrue(html.contains("m-\(m.rawValue)\"></span>"), m.rawValue) }
    }

    /// A cell shares its data-k with every other cell that shows the same frame: after fork
    /// the parent's and the child's A[0] are one frame until the child writes.
    func testSameFrameSameKey() throws {
        let file = "examples/fork/anon-cow.mms"
        let out = MMLabSession.run(source: try example(file), file: file, options: RunOptions(timeline: true))
        let panel = try XCTUnwrap(out.timeline?.panels.first)
        let layout = TimelineHTML.layout(panel)
        var sharedColumns = 0
        for cells in layout.cells {
            guard let a = cells["A[0]"], let b = cells["child:A[0]"], a.state.stateClass == .shared else { continue }
            XCTAssertEqual(a.key, b.key)
            XCTAssertFalse(a.key.isEmpty)
            sharedColumns += 1
        }
        XCTAssertGreaterThan(sharedColumns, 0)
    }

    /// A failed expectation: its column's heading is red, the side column's data carries the
    /// message, the footer says how many failed.
    func testFailedExpectationIsRed() throws {
        let src = """
        scenario "a wrong expectation"
        mmap A anon private rw 2p
        write A[0] = 0x5
        expect pagemap A[0] present=0
        """
        let out = MMLabSession.run(source: src, file: "wrong.mms", options: RunOptions(timeline: true))
        XCTAssertEqual(out.status, 1)
        let html = TimelineHTML.render(try XCTUnwrap(out.timeline))
        XCTAssertEqual(count("<th class=\"col failed\"", in: html), 1)
        XCTAssertTrue(html.contains("x-failed"))
        XCTAssertTrue(html.contains("<li class=\"bad\">1 expectations: 0 met, 1 failed</li>"))
        let columns = try XCTUnwrap((try pageData(html)["panels"] as? [[String: Any]])?[0]["columns"] as? [[String: Any]])
        let last = try XCTUnwrap(columns.last?["expectations"] as? [[String: Any]])
        XCTAssertEqual(last.first?["met"] as? Bool, false)
        XCTAssertTrue((last.first?["message"] as? String ?? "").contains("expected present=0, found present=1"))
    }

    /// Text a scenario carries reaches the page escaped, and `</script>` cannot end the data.
    func testTextIsEscaped() throws {
        let src = """
        scenario "</script><b>bold</b> & more"
        mmap A anon private rw 1p
        """
        let out = MMLabSession.run(source: src, file: "esc.mms", options: RunOptions(timeline: true))
        let html = TimelineHTML.render(try XCTUnwrap(out.timeline))
        XCTAssertFalse(html.contains("<b>bold</b>"))
        XCTAssertTrue(html.contains("&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; more"))
        XCTAssertEqual(count("</script>", in: html), 2, "only the two script elements end")
        XCTAssertNoThrow(try pageData(html))
    }

    /// Every state class and mark a cell can have is drawn by the run of some example (and
    /// the pageout marker by the example that states the marker design's answer, under it).
    func testEveryStateClassIsUsedBySomeExample() throws {
        var used: [String: String] = [:]
        func collect(_ t: Timeline?, _ name: String) {
            for p in t?.panels ?? [] {
                for cells in TimelineHTML.layout(p).cells {
                    for c in cells.values {
                        if used[c.state.stateClass.rawValue] == nil { used[c.state.stateClass.rawValue] = name }
                        for m in c.state.marks where used["mark " + m.rawValue] == nil { used["mark " + m.rawValue] = name }
                    }
                }
            }
        }
        for file in exampleFiles() {
            let text = try example(file)
            if text.hasPrefix("# explore:") { continue }
            collect(MMLabSession.run(source: text, file: file, options: RunOptions(timeline: true)).timeline, file)
        }
        let marker = "examples/designs/shmem-swap-only-mapper.mms"
        collect(MMLabSession.compare(source: try example(marker), file: marker, designSpec: "pagemap.shmem_swap=marker",
                                     timeline: true).timeline, marker + " (marker)")
        for s in PageStateClass.allCases { XCTAssertNotNil(used[s.rawValue], "no example draws a \(s.rawValue) cell") }
        for m in PageMark.allCases { XCTAssertNotNil(used["mark " + m.rawValue], "no example draws the \(m.rawValue) mark") }
        for (k, v) in used.sorted(by: { $0.key < $1.key }) { print("timeline state \(k): first drawn by \(v)") }
    }

    /// Diff: cells that differ between the two sides are outlined in both, and only those.
    func testDiffOutlinesDifferingCells() {
        func col(_ words: [UInt64]) -> TimelineColumn {
            TimelineColumn(line: 3, text: "write A[0] = 0x1", process: "main", result: "success",
                           pages: words.enumerated().map { PageSample(process: "main", mapping: "A", page: $0.offset, word: $0.element) })
        }
        let ex = PM.present | PM.mmapExclusive
        let model = TimelinePanel(name: "model", zeroPFN: nil, columns: [col([0, 0]), col([ex | 5, 0])])
        let kernel = TimelinePanel(name: "linux", zeroPFN: nil, columns: [col([0, 0]), col([ex | 900, PM.swap | (1 << 5)])])
        let t = Timeline(kind: .diff, file: "d.mms", panels: [model, kernel])
        let html = TimelineHTML.render(t)
        XCTAssertEqual(count(" d\" data-p=\"0\"", in: html), 1, "model: A[1] in column 2")
        XCTAssertEqual(count(" d\" data-p=\"1\"", in: html), 1, "kernel: A[1] in column 2")
        XCTAssertTrue(html.contains("<div id=\"grids\" class=\"side-by-side\">"))
        // The PFNs differ (5 and 900) but both are the first frame seen: not a difference.
        let l = TimelineHTML.differences([TimelineHTML.layout(model), TimelineHTML.layout(kernel)], reference: 0)
        XCTAssertEqual(l[0][1], ["A[1]"])
        XCTAssertEqual(l[1][1], ["A[1]"])
        XCTAssertEqual(l[0][0], [])
    }

    /// Explore: the shortest counterexample step by step, the threads in lanes above the grid,
    /// the PTE changes of each step in the side column's data.
    func testExploreCounterexampleLanes() throws {
        let file = "examples/races/ksm-uffd-wp-618.mms"
        var o = ExploreOptions()
        o.jobs = 1
        let out = MMLabSession.explore(source: try example(file), file: file, options: o, timeline: true)
        XCTAssertEqual(out.status, 1)
        let t = try XCTUnwrap(out.timeline)
        XCTAssertEqual(t.kind, .explore)
        XCTAssertEqual(t.lanes, ["ksmd", "writer"])
        // The set-up, the 3 steps of token v1.011, the end.
        XCTAssertEqual(t.panels[0].columns.map { $0.label ?? "" }, ["0", "1", "2", "3", "end"])
        XCTAssertEqual(t.panels[0].columns.map { $0.thread ?? "-" }, ["-", "ksmd", "writer", "writer", "-"])
        XCTAssertTrue(t.summary.contains { $0.contains("replay token v1.011") })
        let html = TimelineHTML.render(t)
        XCTAssertEqual(count("<tr class=\"lane\">", in: html), 2)
        XCTAssertEqual(count("<td class=\"step\"", in: html), 3)
        XCTAssertTrue(html.contains("s-ksm"))
        let columns = try XCTUnwrap((try pageData(html)["panels"] as? [[String: Any]])?[0]["columns"] as? [[String: Any]])
        XCTAssertFalse((columns[1]["pte"] as? [String] ?? []).isEmpty, "the KSM merge changes PTEs")
        let end = try XCTUnwrap(columns.last?["expectations"] as? [[String: Any]])
        XCTAssertTrue(end.contains { ($0["met"] as? Bool) == false && ($0["message"] as? String ?? "").hasPrefix("no_silent_write:") })
    }

    /// Replay of a token draws the same steps as explore's counterexample.
    func testReplayTimeline() throws {
        let file = "examples/races/ksm-uffd-wp-618.mms"
        let out = MMLabSession.replay(source: try example(file), file: file, token: "v1.011", timeline: true)
        let t = try XCTUnwrap(out.timeline)
        XCTAssertEqual(t.kind, .replay)
        XCTAssertEqual(t.panels[0].columns.count, 5)
        XCTAssertEqual(t.summary, ["replay token v1.011"])
    }

    /// Compare: one grid per design, the cells that differ from the first design outlined.
    func testCompareOneGridPerDesign() throws {
        let file = "examples/designs/shmem-swap-only-mapper.mms"
        let out = MMLabSession.compare(source: try example(file), file: file,
                                       designSpec: "pagemap.shmem_swap=none,pagecache,marker", timeline: true)
        let t = try XCTUnwrap(out.timeline)
        XCTAssertEqual(t.panels.map(\.name), ["pagemap.shmem_swap=none", "pagemap.shmem_swap=pagecache", "pagemap.shmem_swap=marker"])
        let html = TimelineHTML.render(t)
        XCTAssertEqual(count("<section class=\"panel\"", in: html), 3)
        XCTAssertTrue(html.contains("<td class=\"s-swap d\""))
        XCTAssertTrue(html.contains("<td class=\"s-pageout d\""))
        // No column for the design lines compare puts first.
        XCTAssertFalse(t.panels[0].columns.contains { $0.line <= 0 })
    }

    /// The model's timeline does not change what the run reports: costs, output.
    func testRecordingChangesNothingElse() throws {
        let file = "examples/designs/shmem-swap-costs.mms"
        let plain = MMLabSession.run(source: try example(file), file: file, options: RunOptions(stats: true))
        let recorded = MMLabSession.run(source: try example(file), file: file, options: RunOptions(stats: true, timeline: true))
        XCTAssertEqual(plain.output, recorded.output)
    }
}
