// SPDX-License-Identifier: Apache-2.0
//
// The host journal: its format (written, read back, restore order, what a reader refuses),
// without root; and, as root, a live run killed with SIGKILL half-way, whose host settings
// come back through its guardian, and with the guardian killed too, through the next run.

import CMMLinux
import Foundation
import MMScenario
import XCTest
@testable import MMLive
#if canImport(Glibc)
import Glibc
#endif

/// The start time (field 22 of /proc/PID/stat) and state of a process, or nil when it is gone.
private func procStat(_ pid: Int32) -> (start: String, state: String)? {
    guard let text = readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 19 else { return nil }
    return (String(fields[19]), String(fields[0]))
}

/// Whether `pid` still runs as the process that started at `start` (a zombie does not run).
private func stillRuns(_ pid: Int32, start: String) -> Bool {
    guard let s = procStat(pid) else { return false }
    return s.start == start && s.state != "Z" && s.state != "X"
}

/// The journal's lines as mml_journal_read gives them, or its error.
private func readJournal(_ path: String) -> (lines: [String], status: Int32, why: String) {
    var buf = [CChar](repeating: 0, count: 65536)
    var why = [CChar](repeating: 0, count: 512)
    let r = mml_journal_read(path, &buf, Int32(buf.count), &why, Int32(why.count))
    let lines = r > 0 ? cText(buf).split(separator: "\n").map(String.init) : []
    return (lines, r, cText(why))
}

final class HostJournalFormatTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        guard mml_is_linux() != 0 else { throw XCTSkip("the host journal exists on Linux only") }
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmlab-journal-\(getpid())-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if !dir.isEmpty { try? FileManager.default.removeItem(atPath: dir) }
    }

    func testWritesAndReadsBackInRestoreOrder() throws {
        let me = getpid(), parent = getppid()
        guard let r = mml_record_create(me, parent) else { return XCTFail("no record") }
        defer { mml_record_destroy(r) }
        let journal = "\(dir)/mmlab-host-journal"
        // In the order a run makes them: a worker, swap 0, the KSM knobs of ksmPrepare, swap 1,
        // vm.page-cluster, another sysctl, a child worker.
        XCTAssertEqual(mml_record_add_worker(r, me), 0)
        XCTAssertEqual(mml_record_add_swap(r, "\(dir)/mmlab-live-swap.\(me).0"), 0)
        for (knob, old) in [("run", "0"), ("advisor_mode", "none"), ("smart_scan", "1"), ("use_zero_pages", "0"),
                            ("pages_to_scan", "100"), ("sleep_millisecs", "20")] {
            XCTAssertEqual(mml_record_add_ksm(r, knob, old), 0, knob)
        }
        // A knob set again keeps its first (the host's) value.
        XCTAssertEqual(mml_record_add_ksm(r, "sleep_millisecs", "1000"), 1)
        mml_record_set_unmerge(r, 1)
        XCTAssertEqual(mml_record_add_swap(r, "\(dir)/mmlab-live-swap.\(me).1"), 0)
        XCTAssertEqual(mml_record_add_sysctl(r, "vm.page-cluster", "3"), 0)
        XCTAssertEqual(mml_record_add_sysctl(r, "vm.page-cluster", "0"), 1)
        XCTAssertEqual(mml_record_add_sysctl(r, "vm.swappiness", "60"), 0)
        XCTAssertEqual(mml_record_add_worker(r, parent), 0)
        XCTAssertEqual(mml_record_write(r, journal, 1), 0)

        let start = try XCTUnwrap(procStat(me)?.start), parentStart = try XCTUnwrap(procStat(parent)?.start)
        let boot = try XCTUnwrap(readSmallFile("/proc/sys/kernel/random/boot_id")).prefix(36)
        let read = readJournal(journal)
        XCTAssertGreaterThan(read.status, 0, read.why)
        XCTAssertEqual(read.lines, [
            "owner \(me) \(start) \(boot)",
            "guardian \(parent) \(parentStart)",
            "worker \(me) \(start)",
            "worker \(parent) \(parentStart)",
            "swap \(dir)/mmlab-live-swap.\(me).1",
            "swap \(dir)/mmlab-live-swap.\(me).0",
            "ksm run 2",
            "ksm sleep_millisecs 20",
            "ksm pages_to_scan 100",
            "ksm use_zero_pages 0",
            "ksm smart_scan 1",
            "ksm advisor_mode none",
            "ksm run 0",
            "sysctl vm.swappiness 60",
            "sysctl vm.page-cluster 3",
        ])
        // The file itself: private, complete, and no temporary file left beside it.
        let text = try String(contentsOfFile: journal, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("mmlab-host-journal 1\nowner \(me) "), text)
        XCTAssertTrue(text.hasSuffix("\nsysctl vm.page-cluster 3\nend\n"), text)
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: journal)[.posixPermissions] as? Int)
        XCTAssertEqual(mode, 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["mmlab-host-journal"])

        // Written again (not durably) after a change: replaced as a whole.
        mml_record_set_unmerge(r, 0)
        XCTAssertEqual(mml_record_write(r, journal, 0), 0)
        XCTAssertFalse(readJournal(journal).lines.contains("ksm run 2"))
        XCTAssertEqual(readJournal(journal).lines.count, 14)
    }

    func testRecordRefusesWhatAJournalCannotHold() throws {
        guard let r = mml_record_create(getpid(), 0) else { return XCTFail("no record") }
        defer { mml_record_destroy(r) }
        XCTAssertEqual(mml_record_add_ksm(r, "../../../etc/x", "1"), -EINVAL)
        XCTAssertEqual(mml_record_add_ksm(r, "run", "1 2"), -EINVAL)
        XCTAssertEqual(mml_record_add_sysctl(r, "vm..page-cluster", "3"), -EINVAL)
        XCTAssertEqual(mml_record_add_sysctl(r, "vm/page-cluster", "3"), -EINVAL)
        XCTAssertEqual(mml_record_add_sysctl(r, "vm.page-cluster", ""), -EINVAL)
        XCTAssertEqual(mml_record_add_swap(r, "/var/tmp/a b"), -EINVAL)
        XCTAssertEqual(mml_record_add_worker(r, 0x3fffff), -ESRCH, "no such process")
        for i in 0..<8 { XCTAssertEqual(mml_record_add_swap(r, "/var/tmp/mmlab-live-swap.1.\(i)"), 0) }
        XCTAssertEqual(mml_record_add_swap(r, "/var/tmp/mmlab-live-swap.1.8"), -ENOSPC)
    }

    /// Writes `text` as a journal file (mode 0600) and reads it back.
    func check(_ text: String, mode: Int = 0o600) throws -> (lines: [String], status: Int32, why: String) {
        let path = "\(dir)/mmlab-host-journal"
        try? FileManager.default.removeItem(atPath: path)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(path, mode_t(mode)), 0)
        return readJournal(path)
    }

    func testReaderRefusesJournalsNoRunWrote() throws {
        let head = "mmlab-host-journal 1\nowner 123 456 e8a6d6cd-c9cb-44da-aa13-9fbdf418024f\nguardian 0 0\n"
        XCTAssertEqual(readJournal("\(dir)/absent").status, 0, "no journal")
        let good = try check(head + "worker 9 10\nswap \(dir)/mmlab-live-swap.123.0\nksm run 0\nsysctl vm.page-cluster 3\nend\n")
        XCTAssertEqual(good.lines.count, 6, good.why)

        let cases: [(String, String)] = [
            ("mmlab-host-journal 2\n" + head.split(separator: "\n", maxSplits: 1)[1] + "end\n",
             "line 1: expected 'mmlab-host-journal 1', found 'mmlab-host-journal 2'"),
            (head + "sysctl vm.page-cluster 3\n", "the journal is cut off (no 'end' line)"),
            (head + "sysctl vm.page-cluster 3", "line 4: the line does not end (the journal is cut off)"),
            (head + "end\nksm run 0\n", "line 5: nothing may follow 'end', found 'ksm run 0'"),
            (head + "swap /etc/passwd\nend\n", "line 4: expected 'swap PATH' with a live run's swap file beside the journal"),
            (head + "swap \(dir)/mmlab-live-swap.1.0.0\nend\n", "line 4: expected 'swap PATH'"),
            (head + "ksm ../../../etc/shadow 1\nend\n", "line 4: expected 'ksm KNOB VALUE'"),
            (head + "sysctl kernel..core_pattern 1\nend\n", "line 4: expected 'sysctl NAME VALUE'"),
            (head + "sysctl vm.page-cluster  3\nend\n", "line 4: expected words separated by single spaces"),
            (head + "worker 0 5\nend\n", "line 4: expected 'worker PID START'"),
            (head + "rm -rf /\nend\n", "line 4: expected worker, swap, ksm, sysctl or end"),
            ("mmlab-host-journal 1\nguardian 0 0\nend\n", "line 2: expected 'owner PID START BOOT-ID'"),
        ]
        for (text, why) in cases {
            let r = try check(text)
            XCTAssertEqual(r.status, -EINVAL, text)
            XCTAssertTrue(r.why.hasPrefix(why), "\(r.why) for\n\(text)")
        }
        let writable = try check(head + "end\n", mode: 0o666)
        XCTAssertEqual(writable.status, -EINVAL)
        XCTAssertEqual(writable.why, "others may write it")
        let link = "\(dir)/link"
        XCTAssertEqual(symlink("\(dir)/mmlab-host-journal", link), 0)
        XCTAssertEqual(readJournal(link).why, "it is a symbolic link")
    }
}

/// A live run killed with SIGKILL half-way (as root, with the built mmlab executable).
final class HostJournalKillTests: XCTestCase {
    /// The host settings a live run changes, as the host shows them.
    struct HostState: Equatable {
        var pageCluster: String?
        var ksm: [String: String]
        var mmlabSwaps: [String]
        var journal: Bool
    }

    static let knobs = ["run", "pages_to_scan", "sleep_millisecs", "smart_scan", "use_zero_pages", "advisor_mode",
                        "max_page_sharing"]
    let ksm = LiveBackend.kernelHasKSM

    override func setUpWithError() throws {
        if let why = LiveSession.hostRefusal() {
            print("live tests skipped: \(why)")
            throw XCTSkip("live tests skipped: \(why)")
        }
        if mml_active_swaps() > 0 {
            print("live tests skipped: the host has swap active, so a live run makes no swap file of its own")
            throw XCTSkip("the host has swap active, so a live run makes no swap file of its own")
        }
        if !ksm { print("this kernel has no /sys/kernel/mm/ksm: the SIGKILL tests check swap and vm.page-cluster only") }
    }

    func hostState() -> HostState {
        let swaps = (readSmallFile("/proc/swaps") ?? "").split(separator: "\n").dropFirst()
            .compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0.contains("mmlab-live-swap.") }
        var knobs: [String: String] = [:]
        if ksm { for k in Self.knobs { knobs[k] = readSmallFile("\(LiveBackend.ksmDirectory)/\(k)") } }
        return HostState(pageCluster: readSmallFile("/proc/sys/vm/page-cluster"), ksm: knobs, mmlabSwaps: swaps,
                         journal: FileManager.default.fileExists(atPath: HostSetup.journalPath))
    }

    /// The host state while no live run changes it: read holding the host lock (another
    /// worktree's run may be going on).
    func quietHostState() throws -> HostState {
        let fd = open(HostSetup.lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw XCTSkip("cannot open \(HostSetup.lockPath)") }
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        return hostState()
    }

    /// The mmlab executable built next to this test bundle.
    func executable() throws -> URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("mmlab")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw XCTSkip("the mmlab executable was not found beside \(Bundle.main.bundleURL.path); run swift build first")
    }

    /// A scenario that swaps, uses KSM (where the kernel has it), forks, and then runs for
    /// seconds: it is always killed long before its end.
    var scenario: String {
        var lines = ["scenario \"killed half-way\"", "swap 16M", "mmap A anon private rw 16p", "mmap B anon private rw 16p",
                     "write A = seq(0x100)", "write B = seq(0x100)"]
        if ksm { lines += ["madvise A mergeable", "madvise B mergeable", "ksm run", "ksm scan 2"] }
        lines.append("fork child")
        for i in 1...5000 { lines += ["write A[0..3] = seq(0x\(String(i, radix: 16)))", "madvise A[0..3] pageout"] }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A run stopped half-way: its process, the journal's lines, its workers and guardian.
    struct StoppedRun {
        var process: Process
        var standardError: Pipe
        var journal: [String]
        var workers: [(pid: Int32, start: String)]
        var guardian: (pid: Int32, start: String)
    }

    /// Starts `mmlab live` of the scenario and stops it (SIGSTOP) once the journal and the
    /// host show every change made: the swap file on, vm.page-cluster 0, the KSM knobs set,
    /// both workers (main and its child) running.
    func startAndStop(file: String) throws -> StoppedRun {
        let p = Process()
        p.executableURL = try executable()
        p.arguments = ["live", file]
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        var lines: [String] = []
        func changed() -> Bool {
            lines = readJournal(HostSetup.journalPath).lines
            guard lines.first?.hasPrefix("owner \(p.processIdentifier) ") == true,
                  lines.filter({ $0.hasPrefix("worker ") }).count == 2,
                  lines.contains(where: { $0.hasPrefix("swap ") }), lines.contains(where: { $0.hasPrefix("sysctl vm.page-cluster ") }),
                  !ksm || lines.contains(where: { $0.hasPrefix("ksm pages_to_scan ") }),
                  readSmallFile("/proc/sys/vm/page-cluster") == "0\n", !hostState().mmlabSwaps.isEmpty else { return false }
            return !ksm || readSmallFile("\(LiveBackend.ksmDirectory)/pages_to_scan") == "\(LiveBackend.ksmPagesToScan)\n"
        }
        while !changed() {
            guard p.isRunning, Date() < deadline else {
                p.terminate()
                throw XCTSkip("the live run ended or took over 120 s before its changes showed (another run held the lock?)")
            }
            usleep(1000)
        }
        XCTAssertEqual(kill(p.processIdentifier, SIGSTOP), 0)
        // Stopped: the journal must still be there (the run had not reached its end).
        lines = readJournal(HostSetup.journalPath).lines
        XCTAssertTrue(lines.first?.hasPrefix("owner \(p.processIdentifier) ") == true, "the run was still going: \(lines)")
        func pidStart(_ line: String) -> (Int32, String) {
            let w = line.split(separator: " ")
            return (Int32(w[1]) ?? 0, String(w[2]))
        }
        let workers = lines.filter { $0.hasPrefix("worker ") }.map(pidStart)
        let guardian = pidStart(try XCTUnwrap(lines.first { $0.hasPrefix("guardian ") }))
        for w in workers { XCTAssertTrue(stillRuns(w.0, start: w.1), "worker \(w.0) runs") }
        XCTAssertTrue(stillRuns(guardian.0, start: guardian.1), "the guardian runs")
        XCTAssertEqual(readSmallFile("/proc/\(guardian.0)/comm"), "mmlab-guardian\n")
        return StoppedRun(process: p, standardError: err, journal: lines, workers: workers, guardian: guardian)
    }

    func scenarioFile() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mmlab-killed-\(getpid()).mms").path
        try scenario.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The journal's lines for the host values before the run.
    func expectedSteps(_ before: HostState, _ run: StoppedRun) {
        XCTAssertTrue(run.journal.contains("sysctl vm.page-cluster \(before.pageCluster?.trimmingCharacters(in: .newlines) ?? "")"),
                      "the journal holds the host's vm.page-cluster: \(run.journal)")
        if ksm {
            XCTAssertTrue(run.journal.contains("ksm pages_to_scan \(before.ksm["pages_to_scan"]?.trimmingCharacters(in: .newlines) ?? "")"),
                          "the journal holds the host's pages_to_scan: \(run.journal)")
            XCTAssertEqual(run.journal.last(where: { $0.hasPrefix("ksm ") })?.hasPrefix("ksm run "), true, "run goes back last")
        }
    }

    /// Every setting as before, no worker left, no swap file, no journal.
    func assertRestored(_ before: HostState, _ run: StoppedRun, file: StaticString = #filePath, line: UInt = #line) throws {
        let after = try quietHostState()
        XCTAssertEqual(after, before, "the host is as before the run", file: file, line: line)
        XCTAssertFalse(after.journal, "the journal is gone", file: file, line: line)
        for w in run.workers {
            XCTAssertFalse(stillRuns(w.pid, start: w.start), "worker \(w.pid) is gone", file: file, line: line)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: HostSetup.swapDirectory)
            .filter { $0.hasPrefix("mmlab-live-swap.\(run.process.processIdentifier).") || $0.hasPrefix("mmlab-host-journal") }
        XCTAssertEqual(leftovers, [], "no swap file or journal left in \(HostSetup.swapDirectory)", file: file, line: line)
    }

    func testTheGuardianRestoresTheHostAfterSIGKILL() throws {
        let began = Date()
        let before = try quietHostState()
        XCTAssertFalse(before.journal, "no journal before the test")
        let run = try startAndStop(file: try scenarioFile())
        expectedSteps(before, run)

        let killed = Date()
        XCTAssertEqual(kill(run.process.processIdentifier, SIGKILL), 0)
        // The guardian restores, then removes the journal, then exits.
        var restoredAfter: TimeInterval?, exitedAfter: TimeInterval?
        while exitedAfter == nil && Date().timeIntervalSince(killed) < 30 {
            if restoredAfter == nil && !FileManager.default.fileExists(atPath: HostSetup.journalPath) {
                restoredAfter = Date().timeIntervalSince(killed)
            }
            if !stillRuns(run.guardian.pid, start: run.guardian.start) { exitedAfter = Date().timeIntervalSince(killed) }
            usleep(200)
        }
        XCTAssertNotNil(restoredAfter, "the guardian removed the journal within 30 s")
        XCTAssertNotNil(exitedAfter, "the guardian exited within 30 s")
        run.process.waitUntilExit()
        XCTAssertEqual(run.process.terminationReason, .uncaughtSignal)
        XCTAssertEqual(run.process.terminationStatus, SIGKILL)
        let stderr = String(decoding: run.standardError.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(stderr.contains("the live run (pid \(run.process.processIdentifier)) ended without restoring the host; "
            + "its guardian (pid \(run.guardian.pid)) restored it: "), stderr)
        XCTAssertTrue(stderr.contains("vm.page-cluster=\(before.pageCluster?.trimmingCharacters(in: .newlines) ?? "")"), stderr)
        XCTAssertTrue(stderr.contains("turned off and deleted"), stderr)
        try assertRestored(before, run)
        print(String(format: "the guardian had the host restored (journal removed) %.1f ms after SIGKILL and exited "
                     + "after %.1f ms; the test took %.2f s", (restoredAfter ?? -1) * 1000, (exitedAfter ?? -1) * 1000,
                     Date().timeIntervalSince(began)))
    }

    func testTheNextRunRestoresWhenTheGuardianWasKilledToo() throws {
        let began = Date()
        let before = try quietHostState()
        XCTAssertFalse(before.journal, "no journal before the test")
        let run = try startAndStop(file: try scenarioFile())
        expectedSteps(before, run)

        XCTAssertEqual(kill(run.guardian.pid, SIGKILL), 0)
        XCTAssertEqual(kill(run.process.processIdentifier, SIGKILL), 0)
        run.process.waitUntilExit()
        // Take the host lock at once (as the next run does), so that no other run starts on
        // the settings the killed run left.
        while mml_host_lock(HostSetup.lockPath, 0) != 0 { usleep(1000) }
        defer { mml_host_unlock() }  // (the next run's restore releases it; this is for a failure before)
        let left = hostState()
        XCTAssertTrue(left.journal, "nobody restored: the journal is still there")
        XCTAssertEqual(left.pageCluster, "0\n", "vm.page-cluster is still the killed run's")
        // Another live run (of another checkout on this host) may have taken the lock first
        // and restored the journal itself: then there is nothing left for this test to check.
        guard let swapFile = left.mmlabSwaps.first, left.journal else {
            return XCTFail("another live run restored the killed run's journal before this test took the host lock")
        }
        _ = run.standardError.fileHandleForReading.readDataToEndOfFile()

        // The next live run (holding the lock already): restores before it saves anything.
        let next = LiveSession.run(source: "swap 16M\nmmap A anon private rw 2p\nwrite A[0] = 0x31\nmadvise A[0] pageout\n"
            + "expect pagemap A[0] swap=1\n", file: "next.mms")
        XCTAssertEqual(next.status, 0, next.output + next.standardError.joined(separator: "\n"))
        let note = next.standardError.first { $0.contains("ended without restoring the host") } ?? ""
        XCTAssertTrue(note.hasPrefix("note: the live run of pid \(run.process.processIdentifier) ended without restoring the host; "
            + "restored from its journal \(HostSetup.journalPath): "), next.standardError.joined(separator: "\n"))
        XCTAssertTrue(note.contains("swap file \(swapFile) turned off and deleted"), note)
        XCTAssertTrue(note.contains("vm.page-cluster=\(before.pageCluster?.trimmingCharacters(in: .newlines) ?? "")"), note)
        if ksm {
            XCTAssertTrue(note.contains("ksm pages_to_scan=\(before.ksm["pages_to_scan"]?.trimmingCharacters(in: .newlines) ?? "")"), note)
        }
        // The next run saved the host's values, not the killed run's: its own restore gave them back.
        try assertRestored(before, run)
        print(String(format: "restored by the next run's start-up; the test took %.2f s", Date().timeIntervalSince(began)))
    }
}
