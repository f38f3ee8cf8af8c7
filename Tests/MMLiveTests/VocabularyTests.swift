// SPDX-License-Identifier: Apache-2.0
//
// One vocabulary: every word the language accepts (statement keywords, advice, userfaultfd
// features and modes, page-fault flags, pagemap bits, PAGEMAP_SCAN categories, KSM counters,
// errnos, signals, design switches, kconfig options) is defined once in MMUAPI or
// ScenarioVocabulary, and each is either handled by both backends or refused by name. No
// kernel is needed: the model runs the word, the live backend's own translation and refusal
// rules are asked about it.

import MMLab
import MMScenario
import MMSyntax
import XCTest
@testable import MMLive

final class VocabularyTests: XCTestCase {
    /// Runs a scenario on the model: it must not be refused unless the refusal names `word`.
    func assertModelHandles(_ source: String, word: String, file: StaticString = #filePath, line: UInt = #line) {
        let out = MMLabSession.run(source: source, file: "vocab.mms")
        if out.status == 2 {
            XCTAssertTrue(out.output.contains("not implemented yet") && out.output.contains(word),
                          "the model neither runs '\(word)' nor refuses it by name:\n\(source)\n\(out.output)", file: file, line: line)
        } else {
            XCTAssertTrue(out.status == 0 || out.status == 1, "'\(word)': exit \(out.status)\n\(out.output)", file: file, line: line)
        }
    }

    /// The live backend's verdict on a scenario before it runs anything: nil (it runs it) or
    /// its refusal, which must name `word`.
    func assertLiveHandles(_ source: String, word: String, file: StaticString = #filePath, line: UInt = #line) {
        guard case .success(let (scenario, checked)) = MMLabSession.prepare(source, file: "vocab.mms") else {
            return   // the model already said why (refused by the checker, by name)
        }
        for refusal in [LiveSession.designRefusal(scenario, checked), LiveSession.statementRefusal(scenario)] {
            if let r = refusal { XCTAssertTrue(r.contains(word), "live refuses '\(word)' without naming it: \(r)", file: file, line: line) }
        }
    }

    /// A sample statement for every keyword of the language (after a common prologue), so a new
    /// keyword cannot be added without saying how both backends treat it.
    static let prologue = """
    memfd F 8p
    mmap A anon private rw 8p
    mmap B F shared rw
    uffd U features=sigbus
    uffd U register A[0..7] missing

    """
    static let samples: [String: String] = [
        "scenario": "scenario \"a title\"",
        "design": "design uffd_wp.file_zap = marker",
        "kconfig": "kconfig MEM_SOFT_DIRTY = n",
        "swap": "swap 1M",
        "memfd": "memfd G 4p",
        "mmap": "mmap C anon private r 4p",
        "guest_memfd": "guest_memfd M 4p flags=mmap,init_shared",
        "dax": "dax D 2M align=2M",
        "read": "read B[0]",
        "write": "write B[1] = 0x5",
        "munmap": "munmap B[7]",
        "mprotect": "mprotect B[6] r",
        "madvise": "madvise B[2] pageout",
        "punch": "punch F[3]",
        "pread": "pread F[0]",
        "pwrite": "pwrite F[1..2] = seq(0x30)",
        "fork": "fork child",
        "exit": "fork child\nin child {\n  exit\n}",
        "in": "fork child\nin child {\n  read B[0]\n}",
        "when": "when design pagemap.shmem_swap = none, marker {\n  read B[0]\n}",
        "pin": "pin P B[0..1]",
        "convert": "convert F[0] private -> ENOTTY",
        "unpin": "pin P B[0]\nunpin P",
        "clear_refs": "clear_refs 1",
        "prctl": "prctl memory_merge on",
        "ksm": "ksm run",
        "poison": "poison B[0] -> EINVAL",
        "uffd": "uffd V features=thread_id",
        "thread": "thread T {\n  read B[0]\n}",
        "join": "thread T {\n  read B[0]\n}\njoin T",
        "pagemap": "pagemap B[0]",
        "pagemap_scan": "pagemap_scan B[0..3]",
        "expect": "expect pagemap B[5] present=0",
        "check": "check consistent",
    ]

    func testEveryStatementKeywordIsHandledOrRefusedByName() throws {
        XCTAssertEqual(Set(Self.samples.keys), Set(ScenarioVocabulary.statements),
                       "every statement keyword needs a sample here (and an answer from both backends)")
        for keyword in ScenarioVocabulary.statements {
            // Switches and options come before the first operation.
            let sample = Self.samples[keyword] ?? ""
            let source = ["scenario", "design", "kconfig"].contains(keyword)
                ? sample + "\n" + Self.prologue : Self.prologue + sample + "\n"
            assertModelHandles(source, word: keyword)
            assertLiveHandles(source, word: keyword)
        }
    }

    func testEveryAdviceIsAKernelAdviceThatBothBackendsTake() {
        XCTAssertEqual(ScenarioVocabulary.madviseAdvice, Advice.allCases.map(\.rawValue))
        for advice in Advice.allCases {
            XCTAssertGreaterThan(advice.value, 0, "\(advice): the live backend passes MADV_* by number")
            let source = Self.prologue + "madvise B[0..3] \(advice.rawValue)\n"
            assertModelHandles(source, word: advice.rawValue)
            assertLiveHandles(source, word: advice.rawValue)
        }
    }

    func testEveryDesignSwitchValueRunsOnTheModelOrIsRefusedByName() {
        XCTAssertEqual(ScenarioVocabulary.designSwitches.map(\.key), Design.switches.map(\.key))
        for sw in Design.switches {
            for value in sw.values {
                var d = Design()
                XCTAssertTrue(d.set(sw.key, value), "\(sw.key) = \(value)")
                XCTAssertEqual(d.value(of: sw.key), value)
                XCTAssertEqual(d.isLinux618, value == sw.values[0], "the first value of \(sw.key) is Linux 6.18's")
                let source = "design \(sw.key) = \(value)\n" + Self.prologue + "read B[0]\n"
                assertModelHandles(source, word: "\(sw.key) = \(value)")
                // Live runs only 6.18's designs and must say which switch it refuses.
                assertLiveHandles(source, word: "\(sw.key) = \(value)")
            }
        }
    }

    func testKconfigOptionsAreTheModelsOptions() {
        XCTAssertEqual(ScenarioVocabulary.kconfigOptions, KernelConfig.options)
        for option in KernelConfig.options {
            var c = KernelConfig()
            XCTAssertTrue(c.set(option, true), option)
            XCTAssertNotEqual(c, KernelConfig(), "\(option) changes the model's configuration")
            assertModelHandles("kconfig \(option) = y\n" + Self.prologue + "read B[0]\n", word: option)
        }
    }

    func testUserfaultfdWordsHaveTheirUAPIValues() {
        XCTAssertEqual(ScenarioVocabulary.uffdFeatures, UffdFeatures.names.map(\.0))
        var all: UffdFeatures = []
        for (name, bit) in UffdFeatures.names {
            XCTAssertEqual(bit.rawValue.nonzeroBitCount, 1, name)
            all.insert(bit)
            assertModelHandles("mmap A anon private rw 4p\nuffd U features=\(name)\n", word: name)
        }
        XCTAssertEqual(all, .all, "every UFFD_FEATURE_* 6.18 advertises has a name")
        XCTAssertEqual(ScenarioVocabulary.uffdRegisterModes, UffdRegisterMode.names.map(\.0))
        for (name, mode) in UffdRegisterMode.names {
            XCTAssertEqual(UffdRegisterMode(names: [name]), mode)
            assertModelHandles("mmap A anon private rw 4p\nuffd U features=sigbus\nuffd U register A[0..3] \(name)\n", word: name)
        }
        XCTAssertEqual(ScenarioVocabulary.pagefaultFlags, UffdMessage.flagNames.map(\.0))
    }

    func testObservationWordsHaveOneDefinition() {
        XCTAssertEqual(ScenarioVocabulary.pagemapBits, PM.names.map(\.name))
        XCTAssertEqual(Set(PagemapWord.bits.map(\.name)), Set(PM.names.map(\.name)), "reports print every bit the language names")
        XCTAssertEqual(ScenarioVocabulary.pagemapScanCategories, PageCategory.names.map(\.0))
        XCTAssertEqual(PageCategory.names.reduce(UInt64(0)) { $0 | $1.1 }, PageCategory.all)
        XCTAssertEqual(ScenarioVocabulary.ksmCounters, KSMCounter.names)
        XCTAssertEqual(LiveBackend.ksmCounterNames, KSMCounter.names, "the live backend reads every counter")
        XCTAssertEqual(Kernel().ksmCounters.map(\.0), KSMCounter.names, "the model reports every counter, in order")
        XCTAssertEqual(ScenarioVocabulary.guestMemfdFlags, GuestMemfdFlags.names.map(\.0))
    }

    func testErrnosAndSignalsAreTheKernelsNumbers() {
        XCTAssertEqual(ScenarioVocabulary.errnos, Errno.allCases.map(\.description))
        for e in Errno.allCases {
            XCTAssertEqual(Errno(name: e.description), e)
            XCTAssertEqual(Errno(rawValue: e.rawValue), e, "the live backend maps the kernel's number back")
        }
        XCTAssertEqual(ScenarioVocabulary.signals, SignalInfo.Signal.allCases.map(\.rawValue))
    }
}
