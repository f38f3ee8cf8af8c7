// SPDX-License-Identifier: Apache-2.0

import Foundation
import MMExplore
import MMScenario
import MMTimeline
import XCTest

/// The page in a real browser: headless Chromium (the Debian package; `.ci/run` installs it
/// when it runs as root) loads it with no console message (so no error) and no uncaught
/// exception, its script fills the side column, and a screenshot of it is not blank.
final class BrowserTests: XCTestCase {
    /// The browser, or nil when none is installed.
    static var chromium: String? {
        let env = ProcessInfo.processInfo.environment
        if let c = env["MMLAB_CHROMIUM"], FileManager.default.isExecutableFile(atPath: c) { return c }
        for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        where FileManager.default.isExecutableFile(atPath: c) { return c }
        return nil
    }

    func browser() throws -> String {
        guard let c = Self.chromium else {
            let why = "browser tests skipped: no headless Chromium (install the Debian package chromium; .ci/run does as root)"
            print(why)
            throw XCTSkip(why)
        }
        return c
    }

    /// Runs the browser on `args`; standard output and error, after at most two minutes.
    func run(_ browser: String, _ args: [String]) throws -> (out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        // As root Chromium needs --no-sandbox; its own profile directory keeps runs apart.
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("mmlab-chromium-\(getpid())-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        p.arguments = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                       "--hide-scrollbars", "--user-data-dir=\(profile.path)", "--enable-logging=stderr", "--v=0"] + args
        // Output to files (a pipe left unread could stall it); a watchdog ends a browser that hangs.
        let outURL = profile.appendingPathExtension("out"), errURL = profile.appendingPathExtension("err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        let watchdog = DispatchWorkItem { [p] in if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        p.waitUntilExit()
        watchdog.cancel()
        XCTAssertFalse(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGTERM, "the browser did not finish within 2 minutes")
        let o = (try? Data(contentsOf: outURL)) ?? Data(), e = (try? Data(contentsOf: errURL)) ?? Data()
        return (String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// The width and height of a PNG (its IHDR chunk), or nil when it is not one.
    static func pngSize(_ d: Data) -> (Int, Int)? {
        let b = [UInt8](d.prefix(24))
        guard b.count == 24, b[0..<8] == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], b[12..<16] == [0x49, 0x48, 0x44, 0x52] else { return nil }
        func be(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        return (be(16), be(20))
    }

    /// Console messages and uncaught exceptions in Chromium's log. Its log line does not say
    /// a message's level (console.error logs as INFO:CONSOLE), and the page logs nothing, so
    /// every console message counts.
    static func consoleErrors(_ log: String) -> [String] {
        log.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") || $0.contains("Uncaught ") }
    }

    func page(_ name: String, _ t: Timeline) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmlab-timeline-\(getpid())-\(name).html")
        XCTAssertNil(TimelineHTML.write(t, to: url.path))
        return url
    }

    func testPagesLoadWithoutConsoleErrors() throws {
        let b = try browser()
        var pages: [(String, Timeline)] = []
        let cow = "examples/fork/anon-cow.mms"
        pages.append(("run", try XCTUnwrap(MMLabSession.run(source: try example(cow), file: cow, options: RunOptions(timeline: true)).timeline)))
        let race = "examples/races/ksm-uffd-wp-618.mms"
        var o = ExploreOptions()
        o.jobs = 1
        pages.append(("explore", try XCTUnwrap(MMLabSession.explore(source: try example(race), file: race, options: o, timeline: true).timeline)))
        let design = "examples/designs/shmem-swap-only-mapper.mms"
        pages.append(("compare", try XCTUnwrap(MMLabSession.compare(source: try example(design), file: design,
                                                                    designSpec: "pagemap.shmem_swap=none,marker", timeline: true).timeline)))
        for (name, t) in pages {
            let url = try page(name, t)
            defer { try? FileManager.default.removeItem(at: url) }
            let r = try run(b, ["--dump-dom", url.absoluteString])
            XCTAssertEqual(Self.consoleErrors(r.err), [], "\(name): console errors")
            // The script ran: it selected the first column (the first failing one) and filled the side column.
            XCTAssertTrue(r.out.contains("<aside id=\"side\" aria-live=\"polite\"><h3>"), "\(name): the side column is empty:\n\(r.out.prefix(400))")
            XCTAssertTrue(r.out.contains("class=\"col selc\"") || r.out.contains("class=\"col failed selc\""), "\(name): no column selected")
        }
    }

    /// A console error is caught: the check above can fail.
    func testConsoleErrorsAreSeen() throws {
        let b = try browser()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mmlab-timeline-\(getpid())-broken.html")
        try Data("<!DOCTYPE html><html><body><script>console.error('boom'); notAFunction();</script></body></html>".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let r = try run(b, ["--dump-dom", url.absoluteString])
        XCTAssertEqual(Self.consoleErrors(r.err).count, 2, r.err)
    }

    /// A screenshot of the page is a PNG of the window's size, far from the blank page's.
    func testScreenshotIsNotBlank() throws {
        let b = try browser()
        let file = "examples/designs/shmem-swap-only-mapper.mms"
        let t = try XCTUnwrap(MMLabSession.compare(source: try example(file), file: file,
                                                   designSpec: "pagemap.shmem_swap=none,pagecache,marker", timeline: true).timeline)
        let url = try page("shot", t)
        defer { try? FileManager.default.removeItem(at: url) }
        let dir = FileManager.default.temporaryDirectory
        let shot = dir.appendingPathComponent("mmlab-timeline-\(getpid()).png")
        let blank = dir.appendingPathComponent("mmlab-blank-\(getpid()).png")
        defer { try? FileManager.default.removeItem(at: shot); try? FileManager.default.removeItem(at: blank) }
        let blankPage = dir.appendingPathComponent("mmlab-blank-\(getpid()).html")
        try Data("<!DOCTYPE html><html><body></body></html>".utf8).write(to: blankPage)
        defer { try? FileManager.default.removeItem(at: blankPage) }
        _ = try run(b, ["--window-size=1200,800", "--screenshot=\(shot.path)", url.absoluteString])
        _ = try run(b, ["--window-size=1200,800", "--screenshot=\(blank.path)", blankPage.absoluteString])
        let png = try Data(contentsOf: shot), empty = try Data(contentsOf: blank)
        XCTAssertEqual(Self.pngSize(png)?.0, 1200)
        XCTAssertEqual(Self.pngSize(png)?.1, 800)
        XCTAssertEqual(Self.pngSize(empty)?.0, 1200)
        // A blank window compresses to a few kilobytes; the grids, legend and text to far more.
        XCTAssertGreaterThan(png.count, 8 * empty.count, "the screenshot looks blank (\(png.count) bytes, a blank page \(empty.count))")
        print("browser screenshot: \(png.count) bytes, blank page \(empty.count) bytes")
    }
}
