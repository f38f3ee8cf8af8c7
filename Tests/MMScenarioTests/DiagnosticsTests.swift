// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMScenario

/// Errors for people: the exact position and message, exit status 2, nothing run.
final class DiagnosticsTests: XCTestCase {
    func run(_ text: String) -> CommandOutcome {
        MMLabSession.run(source: text, file: "t.mms")
    }

    func assertError(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let out = run(text)
        XCTAssertEqual(out.status, 2, file: file, line: line)
        XCTAssertEqual(out.output, expected + "\n", file: file, line: line)
        XCTAssertNil(out.report, "a static error runs nothing", file: file, line: line)
    }

    func testUnknownStatement() {
        assertError("mmap A anon private rw 4p\nfrobnicate A\n",
                    "t.mms:2:1: error: expected a statement (read, write, mmap, …), found 'frobnicate'")
    }

    func testBadRange() {
        assertError("mmap A anon private rw 4p\nread A[3..1]\n",
                    "t.mms:2:8: error: expected a page range whose end is not before its start, found 3..1")
    }

    func testPageOutOfBounds() {
        assertError("mmap A anon private rw 4p\nwrite A[2..4] = 0x1\n",
                    "t.mms:2:7: error: expected a page of A (4 pages: 0..3), found page 4 out of bounds")
    }

    func testUnknownName() {
        assertError("mmap A anon private rw 4p\nread B[0]\n",
                    "t.mms:2:6: error: expected a declared mapping, found unknown name 'B' (declared: A)")
    }

    func testMissingClosingBrace() {
        assertError("mmap A anon private rw 4p\nfork c\nin c {\n  read A[0]\n",
                    "t.mms:5:1: error: expected '}' to close the block opened at line 3, found end of file")
    }

    func testWrongKindOfName() {
        assertError("memfd F 4p\nread F[0]\n",
                    "t.mms:2:6: error: expected a mapping, found 'F', which is a file (map it with mmap first)")
        assertError("mmap A anon private rw 4p\npunch A[0]\n",
                    "t.mms:2:7: error: expected a file (memfd), found 'A', which is a mapping")
    }

    func testDuplicateName() {
        assertError("mmap A anon private rw 4p\nmmap A anon private rw 4p\n",
                    "t.mms:2:1: error: expected a new name, found 'A', which is already declared")
    }

    /// A `when` body runs under some designs only: no names declared in it, no blocks.
    func testWhenBodiesDeclareNothing() {
        assertError("when design pagemap.shmem_swap = none {\n  mmap A anon private rw 1p\n}\n",
                    "t.mms:2:3: error: expected no declaration inside 'when' (a name must exist under every design), found 'mmap'")
        assertError("fork c\nwhen design pagemap.shmem_swap = none {\n  in c {\n  }\n}\n",
                    "t.mms:3:3: error: expected a statement without a block inside 'when', found 'in'")
        assertError("when design pagemap.shmem_swap = none {\n  read A[0]\n}\n",
                    "t.mms:2:8: error: expected a declared mapping, found unknown name 'A' (none declared yet)")
    }

    /// `pin … exclusive` names the design switch it needs; `unpin` needs a pin.
    func testPinDiagnostics() {
        assertError("mmap A anon private rw 1p\npin P A[0] exclusive\n",
                    "t.mms:2:1: error: expected design gup.exclusive = on for 'pin … exclusive' (FOLL_EXCLUSIVE, the 2024 RFC that was not merged), found gup.exclusive = off (Linux 6.18)")
        assertError("mmap A anon private rw 1p\nunpin A\n",
                    "t.mms:2:1: error: expected a pin, found 'A', which is a mapping")
    }

    func testLaterIssuesAreNotImplementedYet() {
        assertError("mmap A anon private rw 4p\nfork c\nthread T {\n  in c {\n    read A[0]\n  }\n}\n",
                    "t.mms:4:3: error: a block inside a thread is not implemented yet (planned: a later issue)")
        assertError("kconfig MEMORY_FAILURE = y\nmmap A anon private rw 4p\npoison A[0]\n",
                    "t.mms:3:1: error: poison of RAM pages (memory_failure() on anon/page-cache folios) is not implemented yet (planned: a later issue)")
        assertError("guest_memfd G 1024p flags=mmap,init_shared huge=2M\n",
                    "t.mms:1:1: error: guest_memfd … huge=2M (2 MiB folios under guest_memfd.conversion = in_place, split by a partial conversion) is not implemented yet (planned: issue 13's huge-folio part; the model has order-0 folios only)")
        assertError("thread T {\n  thread U {\n  }\n}\n",
                    "t.mms:2:3: error: a thread inside a thread is not implemented yet (planned: a later issue)")
        assertError("guest_memfd G 4p flags=mmap\npunch G[4]\n", "t.mms:2:7: error: expected a page of G (4 pages: 0..3), found page 4 out of bounds")
    }

    func testUffdNamesAreChecked() {
        assertError("mmap A anon private rw 4p\nuffd U register A missing\n",
                    "t.mms:2:1: error: expected a userfaultfd, found 'U' (declared: A)")
        assertError("mmap A anon private rw 4p\nuffd U\nexpect event U pagefault A[0..1]\n",
                    "t.mms:3:26: error: expected one page (a page fault is reported for one address), found A[0..1]")
        assertError("mmap A anon private rw 4p\njoin A\n", "t.mms:2:1: error: expected a thread to join, found 'A', which is a mapping")
    }

    func testMainFlowBlockingForeverIsReported() {
        let out = run("mmap A anon private rw 4p\nuffd U\nuffd U register A missing\nread A[1]\n")
        XCTAssertEqual(out.status, 2)
        XCTAssertTrue(out.output.contains("t.mms:4:1: error: the main flow blocked forever: userfault at A[1], and no thread is left that could resolve it"), out.output)
    }

    func testJoinOfASleepingThreadFails() {
        let out = run("mmap A anon private rw 4p\nuffd U\nuffd U register A missing\nthread T {\n  read A[1]\n}\njoin T\n")
        XCTAssertEqual(out.status, 1)
        XCTAssertTrue(out.output.contains("thread T cannot finish: it sleeps at line 5 (userfault at A[1]) and nothing left can wake it"), out.output)
        XCTAssertTrue(out.output.contains("note: thread T still sleeps at line 5: userfault at A[1]"), out.output)
    }

    func testDesignAfterAnOperationIsRefused() {
        assertError("swap 4M\ndesign fault_around.uffd = never_skip\n",
                    "t.mms:2:1: error: expected design switches before the first operation, found one after it")
    }

    func testFailedExpectationNamesTheLineAndExits1() {
        let out = run("mmap A anon private rw 4p\nwrite A[0] = 0x5\nexpect read A[0] == 0x6\n")
        XCTAssertEqual(out.status, 1)
        XCTAssertTrue(out.output.contains("t.mms:3:1: expectation failed: A[0]: expected 0x6, found 0x5"), out.output)
        XCTAssertTrue(out.output.hasSuffix("summary: 1 expectations: 0 met, 1 failed\n"), out.output)
    }

    func testUnexpectedSignalIsAFailedExpectation() {
        let out = run("mmap A anon private r 4p\nwrite A[1] = 0x5\n")
        XCTAssertEqual(out.status, 1)
        XCTAssertTrue(out.output.contains("unexpected SIGSEGV (SEGV_ACCERR) at A[1]"), out.output)
        let ok = run("mmap A anon private r 4p\nwrite A[1] = 0x5 -> SIGSEGV\n")
        XCTAssertEqual(ok.status, 0, ok.output)
        let wrong = run("mmap A anon private r 4p\nwrite A[1] = 0x5 -> SIGBUS\n")
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.output.contains("expected SIGBUS, found SIGSEGV (SEGV_ACCERR) at A[1]"), wrong.output)
    }

    func testErrnoOutcome() {
        XCTAssertEqual(run("mmap A anon private rw 4p\nclear_refs 7 -> EINVAL\n").status, 0)
        let out = run("mmap A anon private rw 4p\nmadvise A dontneed -> EINVAL\n")
        XCTAssertEqual(out.status, 1)
        XCTAssertTrue(out.output.contains("expected EINVAL, found success"), out.output)
    }

    func testJSONLinesAreOneObjectPerStatementAndASummary() {
        let out = MMLabSession.run(source: "mmap A anon private rw 2p\nwrite A[0] = 0x1\npagemap A[0]\n",
                                   file: "t.mms", options: RunOptions(json: true))
        let lines = out.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[2], #"{"file":"t.mms","line":3,"column":1,"statement":"pagemap A[0]","process":"main","result":"ok","observations":[{"kind":"pagemap","ref":"A[0]","word":"0x8100000000000000","bits":["present","exclusive"],"identity":"frame #1"}],"expectations":[]}"#)
        XCTAssertTrue(lines[3].hasPrefix(#"{"summary":true,"file":"t.mms","backend":"model","met":0,"failed":0,"exit":0"#), String(lines[3]))
    }

    func testGarbageNeverCrashes() {
        var rng = SystemRandomNumberGenerator()
        _ = rng
        let seeds = ["mmap A anon private rw 4p\nwrite A = seq(0x1)\nmadvise A pageout\nexpect pagemap A swap=1\n",
                     "memfd F 4p\nmmap B F shared rw\npunch F[0..3]\nfork c\nin c {\n read B[0]\n}\n"]
        var state: UInt64 = 42
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        for i in 0..<600 {
            var bytes = Array(seeds[i % seeds.count].utf8)
            for _ in 0..<(1 + Int(next() % 4)) {
                let pos = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[pos] = UInt8(32 + next() % 95)
                case 1: bytes.remove(at: pos)
                default: bytes.insert(UInt8(32 + next() % 95), at: pos)
                }
                if bytes.isEmpty { bytes = [10] }
            }
            let out = MMLabSession.run(source: String(decoding: bytes, as: UTF8.self), file: "f.mms",
                                       options: RunOptions(internalChecks: true))
            XCTAssertTrue([0, 1, 2].contains(out.status))
            XCTAssertEqual(out.report?.problems ?? [], [], String(decoding: bytes, as: UTF8.self))
        }
    }

    /// `poison` under MEMORY_FAILURE is modelled on device-dax only: anon, memfd and
    /// guest_memfd mappings are refused before anything runs, at the statement; without
    /// MEMORY_FAILURE the statement is EINVAL for any memory and runs.
    func testPoisonOfRAMPagesIsRefusedUnderMemoryFailure() {
        let refusal = "poison of RAM pages (memory_failure() on anon/page-cache folios) is not implemented yet (planned: a later issue)"
        assertError("kconfig MEMORY_FAILURE = y\nmemfd F 4p\nmmap S F shared rw\nin main {\n  poison S[1..2] -> SIGBUS\n}\n",
                    "t.mms:5:3: error: " + refusal)
        assertError("kconfig MEMORY_FAILURE = y\nguest_memfd G 4p flags=mmap,init_shared\nmmap B G shared rw\npoison B[0]\n",
                    "t.mms:4:1: error: " + refusal)
        // A mapping of a dax device is accepted; a name that is not a mapping is an error as before.
        let dax = run("kconfig MEMORY_FAILURE = y\ndax D 2M align=2M\nmmap M D shared rw\npoison M[3] -> SIGBUS\n")
        XCTAssertEqual(dax.status, 0, dax.output)
        assertError("kconfig MEMORY_FAILURE = y\ndax D 2M align=2M\npoison D[0]\n",
                    "t.mms:3:8: error: expected a mapping, found 'D', which is a file (map it with mmap first)")
        let plain = run("mmap A anon private rw 4p\npoison A[0] -> EINVAL\n")
        XCTAssertEqual(plain.status, 0, plain.output)
    }
}
