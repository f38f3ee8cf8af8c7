// SPDX-License-Identifier: Apache-2.0
//
// Every diagnostic, with its exact text: file:line:column, what was expected, what was found.

import Foundation
import XCTest
@testable import MMSyntax

final class StructureDiagnosticTests: XCTestCase {
    func testUnknownStatement() {
        assertError("swap 1M\n\nfrobnicate A",
                    "t.mms:3:1: error: expected a statement (read, write, mmap, …), found 'frobnicate'")
        assertError("  42", "t.mms:1:3: error: expected a statement (read, write, mmap, …), found '42'")
        assertError("READ A", "t.mms:1:1: error: expected a statement (read, write, mmap, …), found 'READ' "
                    + "(keywords are lower case)")
    }

    func testTrailingJunk() {
        assertError("read A[0] B", "t.mms:1:11: error: expected end of line, found 'B'")
        assertError("fork child now", "t.mms:1:12: error: expected end of line, found 'now'")
        assertError("expect no event U V", "t.mms:1:19: error: expected end of line, found 'V'")
        assertError("munmap A -> EINVAL x", "t.mms:1:20: error: expected end of line, found 'x'")
        assertError("read A {", "t.mms:1:8: error: expected end of line, found '{'")
    }

    func testMissingClosingBrace() {
        assertError("thread T1 {\n  read A\n", "t.mms:3:1: error: expected '}' to close the block opened at line 1, found end of file")
        assertError("thread T1 {\n  in child {\n    read A\n}",
                    "t.mms:4:2: error: expected '}' to close the block opened at line 1, found end of file")
    }

    func testStrayClosingBrace() {
        assertError("read A\n  }\n", "t.mms:2:3: error: expected a statement (read, write, mmap, …), found '}' that closes no block")
        assertError("thread T {\n}\n}", "t.mms:3:1: error: expected a statement (read, write, mmap, …), found '}' that closes no block")
    }

    func testBracesStandAlone() {
        assertError("thread T1 { read A\n}", "t.mms:1:13: error: expected end of line after '{', found 'read'")
        assertError("thread T1 {\n} join T1", "t.mms:2:3: error: expected end of line after '}', found 'join'")
        assertError("thread T1\n{\n}", "t.mms:1:10: error: expected '{' to open the block of 'thread', found end of line")
        assertError("in child read A", "t.mms:1:10: error: expected '{' to open the block of 'in', found 'read'")
        assertError("thread {", "t.mms:1:8: error: expected a name for the thread, found '{'")
    }

    func testTooDeeplyNested() {
        let depth = ScenarioParser.maximumBlockDepth + 1
        let source = String(repeating: "in P {\n", count: depth) + String(repeating: "}\n", count: depth)
        assertError(source, "t.mms:\(depth):6: error: expected at most 64 nested blocks, found one more '{'")
    }

    func testSecondTitle() {
        assertError("scenario \"a\"\nscenario \"b\"",
                    "t.mms:2:1: error: expected at most one scenario title, found a second 'scenario' (the first is at line 1)")
    }

    func testFirstErrorWins() {
        assertError("read A[5..2]\nfrobnicate\nthread T {",
                    "t.mms:1:8: error: expected a page range whose end is not before its start, found 5..2")
        assertError("frobnicate \"unterminated",
                    "t.mms:1:1: error: expected a statement (read, write, mmap, …), found 'frobnicate'")
    }
}

final class LexicalDiagnosticTests: XCTestCase {
    func testUnterminatedString() {
        assertError("scenario \"no end", "t.mms:1:10: error: expected a closing '\"' for the string that starts here, found end of line")
        assertError("scenario \"ends in a backslash\\", "t.mms:1:10: error: expected a closing '\"' for the string that starts here, found end of line")
    }

    func testBadEscape() {
        assertError(#"scenario "a\nb""#, #"t.mms:1:12: error: expected an escape \" or \\ in a string, found '\n'"#)
    }

    func testUnexpectedCharacter() {
        assertError("read A@", "t.mms:1:7: error: expected a name, a number, a string or one of [ ] ( ) { } , = == .. ->, found '@'")
        assertError("read A.", "t.mms:1:7: error: expected a name, a number, a string or one of [ ] ( ) { } , = == .. ->, found '.'")
        assertError("read\u{00A0}A", "t.mms:1:5: error: expected a name, a number, a string or one of [ ] ( ) { } , = == .. ->, found U+00A0")
        assertError("read Ä", "t.mms:1:6: error: expected a name, a number, a string or one of [ ] ( ) { } , = == .. ->, found 'Ä'")
    }

    func testColumnsCountCharactersNotBytes() {
        assertError("scenario \"größer 🦀 e\u{301}\" x", "t.mms:1:23: error: expected end of line, found 'x'")
        assertError("read A # ünïcödé 🦀\nread B C", "t.mms:2:8: error: expected end of line, found 'C'")
    }

    func testNumberTooLarge() {
        assertError("swap 99999999999999999999G", "t.mms:1:6: error: expected a size that fits in 64 bits, found '99999999999999999999G'")
        assertError("swap 18446744073709551616", "t.mms:1:6: error: expected a size that fits in 64 bits, found '18446744073709551616'")
        assertError("swap 17179869184G", "t.mms:1:6: error: expected a size that fits in 64 bits, found '17179869184G'")
        assertError("swap 4503599627370496p", "t.mms:1:6: error: expected a size that fits in 64 bits, found '4503599627370496p'")
        assertError("write A = 0x1_0000_0000_0000_0000", "t.mms:1:11: error: expected a token that fits in 64 bits, found '0x1_0000_0000_0000_0000'")
        assertError("read A[99999999999999999999]", "t.mms:1:8: error: expected a page index that fits in 64 bits, found '99999999999999999999'")
        assertError("read A[0xffffffffffffffff]", "t.mms:1:8: error: expected a page index no larger than 9223372036854775807, found '0xffffffffffffffff'")
        assertError("clear_refs 0x8000000000000000", "t.mms:1:12: error: expected a number no larger than 9223372036854775807, found '0x8000000000000000'")
    }

    func testMalformedNumbers() {
        let sizeForm = "(a number of bytes, or a number with suffix p, K, M, G or T)"
        assertError("swap 16k", "t.mms:1:6: error: expected a size \(sizeForm), found '16k'")
        assertError("swap 0x", "t.mms:1:6: error: expected a size \(sizeForm), found '0x'")
        assertError("swap 1__0", "t.mms:1:6: error: expected a size \(sizeForm), found '1__0'")
        assertError("swap 10_", "t.mms:1:6: error: expected a size \(sizeForm), found '10_'")
        assertError("swap 0x_1", "t.mms:1:6: error: expected a size \(sizeForm), found '0x_1'")
        assertError("swap big", "t.mms:1:6: error: expected a size \(sizeForm), found 'big'")
        assertError("swap", "t.mms:1:5: error: expected a size \(sizeForm), found end of line")
        assertError("read A[2p]", "t.mms:1:8: error: expected a page index, found '2p'")
        assertError("write A = 12abc", "t.mms:1:11: error: expected a token (a number or seq(N)), found '12abc'")
        assertError("write A = 1M", "t.mms:1:11: error: expected a token (a number or seq(N)), found '1M'")
    }
}

final class StatementDiagnosticTests: XCTestCase {
    func testBackwardsPageRange() {
        assertError("swap 1M\nswap 2M\nswap 3M\nread A[5..2]",
                    "t.mms:4:8: error: expected a page range whose end is not before its start, found 5..2")
        assertError("expect pagemap_scan A written=0..1,0x9..3",
                    "t.mms:1:36: error: expected a page range whose end is not before its start, found 0x9..3")
    }

    func testMalformedPageReferences() {
        assertError("read", "t.mms:1:5: error: expected a page reference (NAME, NAME[i] or NAME[i..j]), found end of line")
        assertError("read 3", "t.mms:1:6: error: expected a page reference (NAME, NAME[i] or NAME[i..j]), found '3'")
        assertError("read A[3", "t.mms:1:9: error: expected '..' or ']', found end of line")
        assertError("read A[3..", "t.mms:1:11: error: expected a page index, found end of line")
        assertError("read A[3..4", "t.mms:1:12: error: expected ']', found end of line")
        assertError("read A[]", "t.mms:1:8: error: expected a page index, found ']'")
        assertError("read pagemap.x", "t.mms:1:6: error: expected a page reference (NAME, NAME[i] or NAME[i..j]), found 'pagemap.x'")
    }

    func testDesign() {
        assertError("design pagemap.swap = marker",
                    "t.mms:1:8: error: expected a design switch (pagemap.shmem_swap, uffd_wp.file_zap, fault_around.uffd, "
                    + "ksm.file_pages, ksm.uffd_wp, gup.exclusive, dax.memmap or guest_memfd.conversion), found 'pagemap.swap'")
        assertError("design pagemap.shmem_swap = yes",
                    "t.mms:1:29: error: expected a value of pagemap.shmem_swap (none, pagecache, exact or marker), found 'yes'")
        assertError("design fault_around.uffd marker",
                    "t.mms:1:26: error: expected '=' after the design switch, found 'marker'")
        assertError("design dax.memmap = full -> EINVAL",
                    "t.mms:1:26: error: expected end of line, found '->' (an outcome -> ERRNO or -> SIGNAL is allowed "
                    + "on operations, on set-up that can fail and on uffd statements, not on 'design')")
    }

    func testKconfig() {
        assertError("kconfig SOFT_DIRTY = y", "t.mms:1:9: error: expected a kconfig option (MEM_SOFT_DIRTY or MEMORY_FAILURE), found 'SOFT_DIRTY'")
        assertError("kconfig MEM_SOFT_DIRTY = m", "t.mms:1:26: error: expected a kconfig value (y or n), found 'm'")
    }

    func testMmap() {
        assertError("mmap A anon private rw",
                    "t.mms:1:23: error: expected a size for an anonymous mapping, found end of line")
        assertError("mmap A anon private rw  # no size",
                    "t.mms:1:23: error: expected a size for an anonymous mapping, found end of line")
        assertError("mmap A anon private rw align=2M -> ENOMEM",
                    "t.mms:1:33: error: expected a size for an anonymous mapping, found '->'")
        assertError("mmap A anon privat rw 1p",
                    "t.mms:1:13: error: expected a sharing mode (private or shared), found 'privat'")
        assertError("mmap A anon private wx 1p",
                    "t.mms:1:21: error: expected a protection (r, rw or none), found 'wx'")
        assertError("mmap A F shared rw 1p fixed",
                    "t.mms:1:23: error: expected a size, offset=SIZE, align=SIZE or end of line, found 'fixed'")
        assertError("mmap A F shared rw 1p 2p", "t.mms:1:23: error: expected a size at most once, found a second '2p'")
        assertError("mmap A F shared rw offset=1p offset=2p",
                    "t.mms:1:30: error: expected offset= at most once, found a second 'offset'")
        assertError("mmap A F shared rw offset 1p", "t.mms:1:27: error: expected '=' after 'offset', found '1p'")
        assertError("mmap A 3 shared rw",
                    "t.mms:1:8: error: expected anon or the name of a memfd, guest_memfd or dax instance, found '3'")
    }

    func testGuestMemfdAndDax() {
        assertError("guest_memfd G 2M flags=mmap,shared",
                    "t.mms:1:29: error: expected a guest_memfd flag (mmap or init_shared), found 'shared'")
        assertError("guest_memfd G 2M mmap", "t.mms:1:18: error: expected flags=…, huge=2M or end of line, found 'mmap'")
        assertError("dax D 1G", "t.mms:1:9: error: expected align=SIZE, found end of line")
    }

    func testOperations() {
        let advice = ScenarioVocabulary.madviseAdvice
        assertError("madvise A[0] dontneeed",
                    "t.mms:1:14: error: expected an advice (\(advice.dropLast().joined(separator: ", ")) or dofork), found 'dontneeed'")
        assertError("mprotect A rwx", "t.mms:1:12: error: expected a protection (r, rw or none), found 'rwx'")
        assertError("write A 0x11", "t.mms:1:9: error: expected '=' and a token, found '0x11'")
        assertError("write A = seq 1", "t.mms:1:15: error: expected '(' after 'seq', found '1'")
        assertError("write A = seq(1", "t.mms:1:16: error: expected ')', found end of line")
        assertError("ksm stop", "t.mms:1:5: error: expected a ksm command (run, scan, use_zero_pages or max_page_sharing), found 'stop'")
        assertError("ksm scan", "t.mms:1:9: error: expected a number of full scans, found end of line")
        assertError("prctl merge on", "t.mms:1:7: error: expected a prctl setting (memory_merge), found 'merge'")
        assertError("ksm use_zero_pages 1", "t.mms:1:20: error: expected a setting (on or off), found '1'")
        assertError("clear_refs", "t.mms:1:11: error: expected a number, found end of line")
        assertError("fork", "t.mms:1:5: error: expected a name for the child process, found end of line")
        assertError("join", "t.mms:1:5: error: expected the name of a thread, found end of line")
    }

    func testUffd() {
        let features = ScenarioVocabulary.uffdFeatures
        assertError("uffd U features=wp_unpopulated,event_frok",
                    "t.mms:1:32: error: expected a userfaultfd feature (\(features.dropLast().joined(separator: ", ")) or move), found 'event_frok'")
        assertError("uffd U register A write",
                    "t.mms:1:19: error: expected a registration mode (missing, wp or minor), found 'write'")
        assertError("uffd U register A", "t.mms:1:18: error: expected a registration mode (missing, wp or minor), found end of line")
        assertError("uffd U protect A",
                    "t.mms:1:8: error: expected a userfaultfd command (features=…, register, unregister, wp, unwp, copy, "
                    + "zeropage, continue, poison or wake), found 'protect'")
        assertError("uffd U copy A[0] = 1 wp wp", "t.mms:1:25: error: expected 'wp' at most once, found a second 'wp'")
        assertError("uffd U zeropage A wp", "t.mms:1:19: error: expected dontwake or end of line, found 'wp'")
        assertError("uffd U copy A[0] = 1 nowake", "t.mms:1:22: error: expected wp, dontwake or end of line, found 'nowake'")
        assertError("uffd U wake A dontwake", "t.mms:1:15: error: expected end of line, found 'dontwake'")
    }

    func testExpect() {
        assertError("expect frame A", "t.mms:1:8: error: expected something to expect (pagemap, pagemap_scan, read, event, no, ksm, memmap or guest_memfd), found 'frame'")
        assertError("expect read A = 1", "t.mms:1:15: error: expected '==' and a token, found '='")
        assertError("expect pagemap A",
                    "t.mms:1:17: error: expected '= WORD' or a pagemap field (present, swap, uffd_wp, file, exclusive, "
                    + "soft_dirty, guard or frame), found end of line")
        assertError("expect pagemap A present=1 dirty=1",
                    "t.mms:1:28: error: expected a pagemap field (present, swap, uffd_wp, file, exclusive, "
                    + "soft_dirty, guard or frame) or end of line, found 'dirty'")
        assertError("expect pagemap A present=2", "t.mms:1:26: error: expected 0 or 1, found '2'")
        assertError("expect pagemap A present=1 present=0", "t.mms:1:28: error: expected 'present' at most once, found a second 'present'")
        assertError("expect pagemap A frame=old", "t.mms:1:24: error: expected a frame (same(REF), new, zero or id(N)), found 'old'")
        assertError("expect pagemap A frame=same B", "t.mms:1:29: error: expected '(' after 'same', found 'B'")
        assertError("expect pagemap A = 0x1p", "t.mms:1:20: error: expected a pagemap word (a 64-bit number), found '0x1p'")
        assertError("expect event U pagefault A[0] read",
                    "t.mms:1:31: error: expected wp, minor, write or end of line, found 'read'")
        assertError("expect event U fault A", "t.mms:1:16: error: expected an event (pagefault, fork, remove, unmap or remap), found 'fault'")
        assertError("expect event U remap A", "t.mms:1:22: error: expected end of line, found 'A'")
        assertError("expect no events U", "t.mms:1:11: error: expected what there is none of (event), found 'events'")
        assertError("expect ksm pages_merged=1",
                    "t.mms:1:12: error: expected a ksm counter (pages_shared, pages_sharing, pages_unshared, pages_volatile, "
                    + "full_scans, ksm_zero_pages or general_profit), found 'pages_merged'")
        assertError("expect ksm", "t.mms:1:11: error: expected a ksm counter (pages_shared, pages_sharing, pages_unshared, "
                    + "pages_volatile, full_scans, ksm_zero_pages or general_profit), found end of line")
        assertError("expect pagemap_scan A dirty=0",
                    "t.mms:1:23: error: expected a pagemap_scan category (wpallowed, written, file, present, swapped, "
                    + "pfnzero, huge, soft_dirty or guard), found 'dirty'")
        assertError("expect pagemap_scan A written=", "t.mms:1:31: error: expected page indices and ranges (like 0..3,8) or none, found end of line")
        assertError("expect pagemap_scan A written=1,", "t.mms:1:33: error: expected a page index, found end of line")
        assertError("expect pagemap_scan A written=none,1", "t.mms:1:35: error: expected a pagemap_scan category (wpallowed, "
                    + "written, file, present, swapped, pfnzero, huge, soft_dirty or guard) or end of line, found ','")
    }

    func testCheck() {
        assertError("check no_lost_writes",
                    "t.mms:1:7: error: expected a check (no_silent_write, no_lost_write or consistent), found 'no_lost_writes'")
    }

    func testOutcomeNotAllowed() {
        let rule = "(an outcome -> ERRNO or -> SIGNAL is allowed on operations, on set-up that can fail and on uffd statements"
        assertError("expect read A == 1 -> EINVAL", "t.mms:1:20: error: expected end of line, found '->' \(rule), not on 'expect')")
        assertError("check consistent -> EINVAL", "t.mms:1:18: error: expected end of line, found '->' \(rule), not on 'check')")
        assertError("scenario \"x\" -> EINVAL", "t.mms:1:14: error: expected end of line, found '->' \(rule), not on 'scenario')")
        assertError("kconfig MEM_SOFT_DIRTY = n -> EINVAL", "t.mms:1:28: error: expected end of line, found '->' \(rule), not on 'kconfig')")
        assertError("thread T -> EINVAL {\n}", "t.mms:1:10: error: expected end of line, found '->' \(rule), not on 'thread')")
        assertError("in P -> EINVAL {\n}", "t.mms:1:6: error: expected end of line, found '->' \(rule), not on 'in')")
        assertError("join T -> EINVAL", "t.mms:1:8: error: expected end of line, found '->' \(rule), not on 'join')")
        assertError("pagemap A -> EINVAL", "t.mms:1:11: error: expected end of line, found '->' \(rule), not on 'pagemap')")
    }

    func testUnknownOutcome() {
        let errnos = ScenarioVocabulary.errnos
        let expected = "t.mms:1:11: error: expected an errno (\(errnos.dropLast().joined(separator: ", ")) or EHWPOISON) "
            + "or a signal (SIGSEGV or SIGBUS) after '->', found "
        assertError("read A -> EWHATEVER", expected + "'EWHATEVER'")
        assertError("read A -> einval", expected + "'einval'")
        assertError("read A ->", expected.replacingOccurrences(of: "1:11:", with: "1:10:") + "end of line")
        assertError("read A -> SIGKILL", expected + "'SIGKILL'")
    }
}
