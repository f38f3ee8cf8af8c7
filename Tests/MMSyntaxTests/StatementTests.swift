// SPDX-License-Identifier: Apache-2.0
//
// One test per statement form, asserting the exact AST.

import XCTest
@testable import MMSyntax

final class SetUpStatementTests: XCTestCase {
    func testScenarioTitle() {
        let source = #"scenario "a \"quoted\" \\ title # not a comment"  # a comment"#
        guard let scenario = parse(source), let s = scenario.statements.first else { return }
        let title = #"a "quoted" \ title # not a comment"#
        XCTAssertEqual(scenario.title, title)
        XCTAssertEqual(scenario.file, testFile)
        XCTAssertEqual(s.kind, .scenarioTitle(title))
        XCTAssertEqual(s.text, #"scenario "a \"quoted\" \\ title # not a comment""#)
        XCTAssertEqual(s.location, at(1, 1))
    }

    func testNoTitle() {
        XCTAssertNil(parse("swap 1M")?.title)
    }

    func testDesignEverySwitchAndValue() {
        for design in ScenarioVocabulary.designSwitches {
            for value in design.values {
                assertKind("design \(design.key) = \(value)", .design(key: design.key, value: value))
            }
        }
        XCTAssertEqual(ScenarioVocabulary.designSwitches.map(\.linuxDefault),
                       ["none", "marker", "skip_wp_minor", "off", "drop", "off", "full", "none"])
    }

    func testKconfig() {
        assertKind("kconfig MEM_SOFT_DIRTY = y", .kconfig(key: "MEM_SOFT_DIRTY", enabled: true))
        assertKind("kconfig MEM_SOFT_DIRTY=n", .kconfig(key: "MEM_SOFT_DIRTY", enabled: false))
    }

    func testSwapAndSizes() {
        assertKind("swap 64M", .swap(bytes: 64 << 20))
        assertKind("swap 16p", .swap(bytes: 16 * 4096))
        assertKind("swap 64K", .swap(bytes: 64 << 10))
        assertKind("swap 1G", .swap(bytes: 1 << 30))
        assertKind("swap 4096", .swap(bytes: 4096))
        assertKind("swap 0x1000", .swap(bytes: 0x1000))
        assertKind("swap 0x10p", .swap(bytes: 0x10 * 4096))
        assertKind("swap 1_000", .swap(bytes: 1000))
        assertKind("swap 0xffff_ffff", .swap(bytes: 0xffff_ffff))
        assertKind("swap 16G", .swap(bytes: 16 << 30))
        assertKind("swap 1T", .swap(bytes: 1 << 40))
        assertKind("swap 0x10T", .swap(bytes: 16 << 40))
        assertKind("swap 18446744073709551615", .swap(bytes: UInt64.max))
        assertKind("swap 4503599627370495p", .swap(bytes: 4_503_599_627_370_495 * 4096))
    }

    func testMemfd() {
        assertKind("memfd F 16p", .memfd(name: "F", bytes: 16 * 4096))
    }

    func testMmapAnon() {
        assertKind("mmap A anon private rw 16p",
                   .mmap(name: "A", backing: .anon, shared: false, prot: .rw,
                         bytes: 16 * 4096, offset: nil, align: nil))
    }

    func testMmapWholeObject() {
        assertKind("mmap B F shared rw",
                   .mmap(name: "B", backing: .object("F"), shared: true, prot: .rw,
                         bytes: nil, offset: nil, align: nil))
    }

    func testMmapWithOffset() {
        assertKind("mmap C F private r 8p offset=4p",
                   .mmap(name: "C", backing: .object("F"), shared: false, prot: .r,
                         bytes: 8 * 4096, offset: 4 * 4096, align: nil))
    }

    func testMmapOptionsInAnyOrder() {
        let expected = StatementKind.mmap(name: "D", backing: .object("G"), shared: true, prot: .none,
                                          bytes: 2 << 20, offset: 0, align: 64 << 10)
        assertKind("mmap D G shared none 2M offset=0 align=64K", expected)
        assertKind("mmap D G shared none align=64K offset=0 2M", expected)
        assertKind("mmap D G shared none offset = 0 2M align = 64K", expected)
    }

    func testGuestMemfd() {
        assertKind("guest_memfd G 512p flags=mmap,init_shared",
                   .guestMemfd(name: "G", bytes: 512 * 4096, flags: ["mmap", "init_shared"]))
        assertKind("guest_memfd G 2M", .guestMemfd(name: "G", bytes: 2 << 20, flags: []))
        assertKind("guest_memfd G 2M flags=mmap", .guestMemfd(name: "G", bytes: 2 << 20, flags: ["mmap"]))
        assertKind("guest_memfd G 1024p flags=mmap,init_shared huge=2M",
                   .guestMemfd(name: "G", bytes: 1024 * 4096, flags: ["mmap", "init_shared"], huge: 2 << 20))
        assertKind("expect guest_memfd G[0..3] private", .expectGuestMemfd(ref("G", 0, 3, column: 20), private: true))
    }

    func testDax() {
        assertKind("dax D 1G align=2M", .dax(name: "D", bytes: 1 << 30, align: 2 << 20))
    }
}

final class OperationStatementTests: XCTestCase {
    func testRead() {
        assertKind("read A[3]", .read(ref("A", 3, column: 6)))
        assertKind("read A", .read(ref("A", column: 6)))
        assertKind("read A[0..15]", .read(ref("A", 0, 15, column: 6)))
        assertKind("read A[0x2..0x4]", .read(ref("A", 2, 4, column: 6)))
        assertKind("read A [ 2 .. 2 ]", .read(ref("A", 2, 2, column: 6)))
    }

    func testWrite() {
        assertKind("write A[0..15] = 0x11", .write(ref("A", 0, 15, column: 7), .literal(0x11)))
        assertKind("write A[0..15] = seq(0x100)", .write(ref("A", 0, 15, column: 7), .seq(0x100)))
        assertKind("write A=7", .write(ref("A", column: 7), .literal(7)))
        assertKind("write A = 0xffff_ffff_ffff_ffff", .write(ref("A", column: 7), .literal(UInt64.max)))
    }

    func testMunmap() {
        assertKind("munmap A[4..7]", .munmap(ref("A", 4, 7, column: 8)))
    }

    func testMprotect() {
        assertKind("mprotect A[0..3] r", .mprotect(ref("A", 0, 3, column: 10), .r))
        assertKind("mprotect A rw", .mprotect(ref("A", column: 10), .rw))
        assertKind("mprotect A none", .mprotect(ref("A", column: 10), .none))
    }

    func testMadviseEveryAdvice() {
        for advice in ScenarioVocabulary.madviseAdvice {
            assertKind("madvise A[0..15] \(advice)", .madvise(ref("A", 0, 15, column: 9), advice: advice))
        }
        XCTAssertEqual(ScenarioVocabulary.madviseAdvice.count, 15)
    }

    func testPunch() {
        assertKind("punch F[8..15]", .punch(ref("F", 8, 15, column: 7)))
        assertKind("pread G[3]", .pread(ref("G", 3, 3, column: 7)))
        assertKind("pwrite F[3] = 0x5", .pwrite(ref("F", 3, 3, column: 8), .literal(0x5)))
        assertKind("pwrite F[0..3] = seq(0x10)", .pwrite(ref("F", 0, 3, column: 8), .seq(0x10)))
    }

    func testFork() {
        assertKind("fork child", .fork(child: "child"))
    }

    func testInProcessBlock() {
        let source = """
            fork child
            in child {   # the child
              read A[0]
              write A[1] = 2
            }
            """
        guard let scenario = parse(source) else { return }
        XCTAssertEqual(scenario.statements.count, 2)
        let block = scenario.statements[1]
        XCTAssertEqual(block.kind, .inProcess(name: "child", body: [
            Statement(kind: .read(ref("A", 0, line: 3, column: 8)), location: at(3, 3), text: "read A[0]"),
            Statement(kind: .write(ref("A", 1, line: 4, column: 9), .literal(2)), location: at(4, 3),
                      text: "write A[1] = 2"),
        ]))
        XCTAssertEqual(block.location, at(2, 1))
        XCTAssertEqual(block.text, "in child {")
        XCTAssertNil(block.outcome)
    }

    /// `when design K = V1,V2 { … }`: the body, the switch and its values (extension).
    func testWhenDesignBlock() {
        let source = """
            when design pagemap.shmem_swap = pagecache, exact {
              read A[0]
            }
            """
        guard let scenario = parse(source) else { return }
        XCTAssertEqual(scenario.statements.count, 1)
        XCTAssertEqual(scenario.statements[0].kind, .when(key: "pagemap.shmem_swap", values: ["pagecache", "exact"], body: [
            Statement(kind: .read(ref("A", 0, line: 2, column: 8)), location: at(2, 3), text: "read A[0]"),
        ]))
        assertError("when design pagemap.shmem_swap = sometimes {\n}\n",
                    "t.mms:1:34: error: expected a value of pagemap.shmem_swap (none, pagecache, exact or marker), found 'sometimes'")
        assertError("when pagemap.shmem_swap = none {\n}\n",
                    "t.mms:1:6: error: expected 'design' after 'when' (design), found 'pagemap.shmem_swap'")
        assertError("when design pagemap.shmem_swap = none, none {\n}\n",
                    "t.mms:1:40: error: expected 'none' at most once, found a second 'none'")
    }

    func testClearRefs() {
        assertKind("clear_refs 4", .clearRefs(4))
    }

    func testKsm() {
        assertKind("ksm run", .ksmRun)
        assertKind("ksm scan 2", .ksmScan(2))
        assertKind("ksm use_zero_pages on", .ksmUseZeroPages(true))
        assertKind("ksm use_zero_pages off", .ksmUseZeroPages(false))
        assertKind("prctl memory_merge on", .prctlMemoryMerge(true))
        assertKind("prctl memory_merge off", .prctlMemoryMerge(false))
    }

    func testPoison() {
        assertKind("poison D[3]", .poison(ref("D", 3, column: 8)))
    }
}

final class UffdStatementTests: XCTestCase {
    func testCreate() {
        assertKind("uffd U", .uffdCreate(name: "U", features: []))
        assertKind("uffd U features=wp_unpopulated,event_fork",
                   .uffdCreate(name: "U", features: ["wp_unpopulated", "event_fork"]))
        assertKind("uffd U features=\(ScenarioVocabulary.uffdFeatures.joined(separator: ","))",
                   .uffdCreate(name: "U", features: ScenarioVocabulary.uffdFeatures))
        XCTAssertEqual(ScenarioVocabulary.uffdFeatures.count, 17)
    }

    func testRegister() {
        assertKind("uffd U register B[0..15] wp", .uffdRegister(uffd: "U", ref("B", 0, 15, column: 17), modes: ["wp"]))
        assertKind("uffd U register B missing,wp,minor",
                   .uffdRegister(uffd: "U", ref("B", column: 17), modes: ["missing", "wp", "minor"]))
    }

    func testUnregister() {
        assertKind("uffd U unregister B", .uffdUnregister(uffd: "U", ref("B", column: 19)))
    }

    func testWriteProtect() {
        assertKind("uffd U wp B[0..15]",
                   .uffdWriteProtect(uffd: "U", ref("B", 0, 15, column: 11), protect: true, dontwake: false))
        assertKind("uffd U wp B dontwake",
                   .uffdWriteProtect(uffd: "U", ref("B", column: 11), protect: true, dontwake: true))
        assertKind("uffd U unwp B[4]",
                   .uffdWriteProtect(uffd: "U", ref("B", 4, column: 13), protect: false, dontwake: false))
        assertKind("uffd U unwp B[4] dontwake",
                   .uffdWriteProtect(uffd: "U", ref("B", 4, column: 13), protect: false, dontwake: true))
    }

    func testCopy() {
        assertKind("uffd U copy A[2] = 0x22",
                   .uffdCopy(uffd: "U", ref("A", 2, column: 13), .literal(0x22), wp: false, dontwake: false))
        assertKind("uffd U copy A[2..3] = seq(5) wp",
                   .uffdCopy(uffd: "U", ref("A", 2, 3, column: 13), .seq(5), wp: true, dontwake: false))
        assertKind("uffd U copy A = 1 dontwake wp",
                   .uffdCopy(uffd: "U", ref("A", column: 13), .literal(1), wp: true, dontwake: true))
    }

    func testZeropage() {
        assertKind("uffd U zeropage A[3]", .uffdZeropage(uffd: "U", ref("A", 3, column: 17), dontwake: false))
        assertKind("uffd U zeropage A[3] dontwake", .uffdZeropage(uffd: "U", ref("A", 3, column: 17), dontwake: true))
    }

    func testContinue() {
        assertKind("uffd U continue B[5]",
                   .uffdContinue(uffd: "U", ref("B", 5, column: 17), wp: false, dontwake: false))
        assertKind("uffd U continue B[5] wp dontwake",
                   .uffdContinue(uffd: "U", ref("B", 5, column: 17), wp: true, dontwake: true))
    }

    func testPoison() {
        assertKind("uffd U poison A[6]", .uffdPoison(uffd: "U", ref("A", 6, column: 15), dontwake: false))
        assertKind("uffd U poison A[6] dontwake", .uffdPoison(uffd: "U", ref("A", 6, column: 15), dontwake: true))
    }

    func testWake() {
        assertKind("uffd U wake A[0..1]", .uffdWake(uffd: "U", ref("A", 0, 1, column: 13)))
    }
}

final class ThreadStatementTests: XCTestCase {
    func testThreadAndJoin() {
        let source = """
            thread T1 {
              write B[4] = 0x33
            }
            join T1
            """
        guard let scenario = parse(source) else { return }
        XCTAssertEqual(scenario.statements.map(\.kind), [
            .thread(name: "T1", body: [
                Statement(kind: .write(ref("B", 4, line: 2, column: 9), .literal(0x33)), location: at(2, 3),
                          text: "write B[4] = 0x33"),
            ]),
            .join(name: "T1"),
        ])
        XCTAssertEqual(scenario.statements.map(\.text), ["thread T1 {", "join T1"])
    }

    func testKeywordsAsNames() {
        // The example of seed 001 names a thread `punch`.
        let source = """
            thread punch  {
              punch F[8..15]
            }
            """
        guard let s = statement(source) else { return }
        XCTAssertEqual(s.kind, .thread(name: "punch", body: [
            Statement(kind: .punch(ref("F", 8, 15, line: 2, column: 9)), location: at(2, 3), text: "punch F[8..15]"),
        ]))
    }

    func testNestedBlocks() {
        let source = """
            thread T {
              in child {
                thread U {
                }
              }
            }
            """
        assertKind(source, .thread(name: "T", body: [
            Statement(kind: .inProcess(name: "child", body: [
                Statement(kind: .thread(name: "U", body: []), location: at(3, 5), text: "thread U {"),
            ]), location: at(2, 3), text: "in child {"),
        ]))
    }

    func testNestingUpToTheLimit() {
        let depth = ScenarioParser.maximumBlockDepth
        let source = String(repeating: "thread T {\n", count: depth) + String(repeating: "}\n", count: depth)
        XCTAssertNotNil(parse(source))
    }
}

final class ObservationStatementTests: XCTestCase {
    func testPagemap() {
        assertKind("pagemap B[0..3]", .pagemap(ref("B", 0, 3, column: 9)))
    }

    func testPagemapScan() {
        assertKind("exit", .exitProcess)
        assertKind("pagemap_scan B", .pagemapScan(ref("B", column: 14), flags: []))
        assertKind("pagemap_scan B wp_matching check_wpasync",
                   .pagemapScan(ref("B", column: 14), flags: ["wp_matching", "check_wpasync"]))
    }

    func testExpectPagemapWord() {
        assertKind("expect pagemap B[0] = 0x420000000000003f",
                   .expectPagemapWord(ref("B", 0, column: 16), 0x4200_0000_0000_003f))
    }

    func testExpectPagemapFields() {
        assertKind("expect pagemap B[0..15] present=0 swap=1 uffd_wp=1 file=0 exclusive=0 soft_dirty=0 guard=0",
                   .expectPagemapFields(ref("B", 0, 15, column: 16), [
                       .bit(name: "present", value: false), .bit(name: "swap", value: true),
                       .bit(name: "uffd_wp", value: true), .bit(name: "file", value: false),
                       .bit(name: "exclusive", value: false), .bit(name: "soft_dirty", value: false),
                       .bit(name: "guard", value: false),
                   ]))
    }

    func testExpectPagemapFrames() {
        assertKind("expect pagemap A[0] frame=same(B[0])",
                   .expectPagemapFields(ref("A", 0, column: 16), [.frameSame(ref("B", 0, column: 32))]))
        assertKind("expect pagemap A[0] frame=new present=1",
                   .expectPagemapFields(ref("A", 0, column: 16), [.frameNew, .bit(name: "present", value: true)]))
        assertKind("expect pagemap A[0] frame=zero", .expectPagemapFields(ref("A", 0, column: 16), [.frameZero]))
    }

    func testExpectRead() {
        assertKind("expect read B[4] == 0x33", .expectRead(ref("B", 4, column: 13), .literal(0x33)))
        assertKind("expect read B == seq(0x100)", .expectRead(ref("B", column: 13), .seq(0x100)))
    }

    func testExpectEvents() {
        assertKind("expect event U pagefault B[4] wp write",
                   .expectEvent(uffd: "U", .pagefault(ref("B", 4, column: 26), flags: ["wp", "write"])))
        assertKind("expect event U pagefault B[4]",
                   .expectEvent(uffd: "U", .pagefault(ref("B", 4, column: 26), flags: [])))
        assertKind("expect event U pagefault B[4] write minor wp",
                   .expectEvent(uffd: "U", .pagefault(ref("B", 4, column: 26), flags: ["write", "minor", "wp"])))
        assertKind("expect event U fork", .expectEvent(uffd: "U", .fork))
        assertKind("expect event U remove B[0..3]", .expectEvent(uffd: "U", .remove(ref("B", 0, 3, column: 23))))
        assertKind("expect event U unmap B[8..15]", .expectEvent(uffd: "U", .unmap(ref("B", 8, 15, column: 22))))
        assertKind("expect event U remap", .expectEvent(uffd: "U", .remap))
    }

    func testExpectNoEvent() {
        assertKind("expect no event U", .expectNoEvent(uffd: "U"))
    }

    func testExpectKsm() {
        assertKind("expect ksm pages_shared=16 pages_sharing=0x10",
                   .expectKSM([NamedValue(name: "pages_shared", value: 16),
                               NamedValue(name: "pages_sharing", value: 16)]))
        let all = ScenarioVocabulary.ksmCounters
        assertKind("expect ksm " + all.map { "\($0)=1" }.joined(separator: " "),
                   .expectKSM(all.map { NamedValue(name: $0, value: 1) }))
    }

    func testExpectPagemapScan() {
        assertKind("expect pagemap_scan B[0..15] written=0..3,8,10..15 swapped=none present=4",
                   .expectPagemapScan(ref("B", 0, 15, column: 21), [
                       ScanCategoryExpectation(category: "written", ranges: [0...3, 8...8, 10...15]),
                       ScanCategoryExpectation(category: "swapped", ranges: []),
                       ScanCategoryExpectation(category: "present", ranges: [4...4]),
                   ]))
        for category in ScenarioVocabulary.pagemapScanCategories {
            assertKind("expect pagemap_scan B \(category)=none",
                       .expectPagemapScan(ref("B", column: 21), [ScanCategoryExpectation(category: category, ranges: [])]))
        }
    }

    func testChecks() {
        assertKind("check no_silent_write", .check("no_silent_write"))
        assertKind("check no_lost_write", .check("no_lost_write"))
        assertKind("check consistent", .check("consistent"))
    }
}

final class OutcomeAndLayoutTests: XCTestCase {
    func testErrnoOutcome() {
        guard let s = statement("  madvise A[0] pageout -> EINVAL   # must fail") else { return }
        XCTAssertEqual(s.kind, .madvise(ref("A", 0, column: 11), advice: "pageout"))
        XCTAssertEqual(s.outcome, .errno("EINVAL"))
        XCTAssertEqual(s.outcomeLocation, at(1, 24))
        XCTAssertEqual(s.location, at(1, 3))
        XCTAssertEqual(s.text, "madvise A[0] pageout -> EINVAL")
    }

    func testSignalOutcome() {
        guard let s = statement("read A[3]->SIGBUS") else { return }
        XCTAssertEqual(s.kind, .read(ref("A", 3, column: 6)))
        XCTAssertEqual(s.outcome, .signal("SIGBUS"))
        XCTAssertEqual(s.outcomeLocation, at(1, 10))
    }

    func testEveryErrnoAndSignal() {
        for name in ScenarioVocabulary.errnos {
            XCTAssertEqual(statement("munmap A -> \(name)")?.outcome, .errno(name))
        }
        for name in ScenarioVocabulary.signals {
            XCTAssertEqual(statement("write A = 1 -> \(name)")?.outcome, .signal(name))
        }
    }

    func testOutcomesOnSetUpAndUffd() {
        let lines = [
            "swap 1G -> ENOMEM", "memfd F 1p -> ENOMEM", "mmap A anon private rw 1p -> ENOMEM",
            "mmap A F shared rw -> EACCES", "guest_memfd G 2M flags=mmap -> EINVAL", "dax D 1G align=2M -> ENODEV",
            "uffd U -> EPERM", "uffd U features=move -> EINVAL", "uffd U register A wp -> EINVAL",
            "uffd U copy A = 1 wp -> EEXIST", "uffd U wp A dontwake -> ENOENT", "uffd U wake A -> EINVAL",
            "fork c -> ENOMEM", "clear_refs 4 -> EINVAL", "ksm run -> EPERM", "ksm scan 2 -> EPERM",
            "poison A -> EHWPOISON", "punch F -> EOPNOTSUPP", "mprotect A r -> EACCES",
        ]
        for line in lines {
            XCTAssertNotNil(statement(line)?.outcome, line)
        }
    }

    func testStatementTextAndLocations() {
        let source = "\n\t# only a comment\n   \n\tread A[1]#comment\nwrite   A  =  2   \n"
        guard let scenario = parse(source) else { return }
        XCTAssertEqual(scenario.statements.map(\.text), ["read A[1]", "write   A  =  2"])
        XCTAssertEqual(scenario.statements.map(\.location), [at(4, 2), at(5, 1)])
    }

    func testCRLFLineEndingsAndByteOrderMark() {
        guard let scenario = parse("\u{FEFF}read A\r\nread B\r\n") else { return }
        XCTAssertEqual(scenario.statements.map(\.kind), [.read(ref("A", column: 6)), .read(ref("B", line: 2, column: 6))])
    }

    func testEmptyScenario() {
        XCTAssertEqual(parse("")?.statements.count, 0)
        XCTAssertEqual(parse("\n  # nothing\n\n")?.statements.count, 0)
    }

    func testSeed001Example() {
        let source = """
            scenario "fault-around maps a page behind uffd-wp during a hole punch"
            design uffd_wp.file_zap = drop
            design fault_around.uffd = never_skip
            memfd F 16p
            mmap A F shared rw
            write A = 0x1
            uffd U register A wp
            uffd U wp A
            thread punch  {
              punch F[8..15]
            }
            thread reader {
              read A[12]
            }
            thread writer {
              write A[9] = 0x2
            }
            check no_silent_write
            """
        guard let scenario = parse(source) else { return }
        XCTAssertEqual(scenario.title, "fault-around maps a page behind uffd-wp during a hole punch")
        XCTAssertEqual(scenario.statements.count, 12)
        XCTAssertEqual(scenario.statements.last?.kind, .check("no_silent_write"))
        XCTAssertEqual(scenario.statements[8].location, at(9, 1))
    }
}
