// SPDX-License-Identifier: Apache-2.0
//
// A small deterministic fuzzer: it mutates valid scenarios (bit flips, truncation, line swaps,
// deletions, duplications, inserted fragments) and checks that the parser never crashes and
// that every diagnostic points inside the file.

import XCTest
@testable import MMSyntax

/// SplitMix64: a tiny seeded generator, so that every run fuzzes the same inputs.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class FuzzTests: XCTestCase {
    /// Valid scenarios that together use every statement form.
    static let corpus: [String] = [
        """
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
        """,
        """
        scenario "every statement, \\"quoted\\""   # a comment
        design pagemap.shmem_swap = marker
        kconfig MEM_SOFT_DIRTY = y
        swap 64M
        memfd F 16p
        mmap A anon private rw 16p align=64K
        mmap B F shared rw
        mmap C F private r 8p offset=4p
        guest_memfd G 512p flags=mmap,init_shared
        dax D 1G align=2M
        read A[3]
        write A[0..15] = seq(0x100)
        munmap A[4..7] -> EINVAL
        mprotect A[0..3] r
        madvise A[0..15] pageout
        punch F[8..15]
        fork child
        in child {
          read A[0] -> SIGSEGV
        }
        clear_refs 4
        ksm run
        ksm scan 2
        poison D[3]
        uffd U features=wp_unpopulated,event_fork
        uffd U register B[0..15] wp,missing
        uffd U wp B[0..15] dontwake
        uffd U unwp B[4]
        uffd U copy A[2] = 0x22 wp
        uffd U zeropage A[3]
        uffd U continue B[5]
        uffd U poison A[6]
        uffd U wake A[6]
        uffd U unregister B
        thread T1 {
          write B[4] = 0x33
        }
        expect event U pagefault B[4] wp write
        join T1
        pagemap B[0..3]
        pagemap_scan B
        expect pagemap B[0] = 0x420000000000003f
        expect pagemap B[0..15] present=0 swap=1 uffd_wp=1 file=0 exclusive=0 soft_dirty=0 guard=0
        expect pagemap A[0] frame=same(B[0])
        expect pagemap A[1] frame=zero
        expect read B[4] == 0x33
        expect event U fork
        expect event U remove B[0..3]
        expect no event U
        expect ksm pages_shared=16 pages_sharing=16
        expect pagemap_scan B[0..15] written=0..3,8 swapped=none
        check consistent
        """,
    ]

    /// The one-line statements of the corpus, each a scenario of its own: a mutation there
    /// reaches deep into one statement's grammar instead of stopping at an earlier error.
    static let singleLines: [String] = corpus.flatMap { $0.split(separator: "\n").map(String.init) }
        .filter { !$0.contains("{") && !$0.contains("}") }

    /// Fragments that tend to hit the edges of the grammar.
    static let fragments: [String] = [
        "{", "}", "[", "]", "..", "->", "=", "==", ",", "(", ")", "\"", "\\", "#", "\n", "\r\n", "\r", " ",
        "0x", "_", "99999999999999999999G", "17179869184G", "4503599627370496p", "0xffffffffffffffffK", "18446744073709551615", "0xffffffffffffffff", "9223372036854775808",
        "seq(", "same(", "none", "thread X {", "in Y {", "-> EINVAL", "-> SIGBUS", "é", "🦀", "\u{0}", "\u{FEFF}",
        "A[", "A[5..2]", "p", "K", "anon", "wp", "features=", "expect", "design ", "\t",
    ]

    func testCorpusParses() {
        for source in Self.corpus + Self.singleLines {
            XCTAssertNotNil(parse(source))
        }
    }

    func testMutatedScenariosNeverCrash() {
        var rng = SplitMix64(state: 0x6D6D_6C61_6200_0001)
        var accepted = 0
        var rejected = 0
        for iteration in 0..<3000 {
            let seeds = rng.next() % 2 == 0 ? Self.corpus : Self.singleLines
            var source = seeds[Int(rng.next() % UInt64(seeds.count))]
            for _ in 0...Int(rng.next() % 3) {
                source = mutate(source, &rng)
            }
            let lineCount = Self.lineCount(source)
            let parse = { () throws(Diagnostic) -> Scenario in try ScenarioParser.parse(source, file: "fuzz.mms") }
            let result = Result(catching: parse)
            if iteration % 8 == 0 {
                // Same input, same answer.
                switch (result, Result(catching: parse)) {
                case (.success(let a), .success(let b)) where a.statements == b.statements: break
                case (.failure(let a), .failure(let b)) where a == b: break
                default: XCTFail("not deterministic on \(source.debugDescription)")
                }
            }
            switch result {
            case .success(let scenario):
                accepted += 1
                // (Plain checks: an XCTAssert per statement would dominate the test's time.)
                for statement in scenario.statements
                where !(1...max(lineCount, 1)).contains(statement.location.line) || statement.location.column < 1
                    || statement.text.isEmpty {
                    XCTFail("bad statement \(statement) in \(source.debugDescription)")
                }
            case .failure(let diagnostic):
                rejected += 1
                let location = diagnostic.location
                if location.file != "fuzz.mms" || !(1...lineCount).contains(location.line) || location.column < 1
                    || !diagnostic.message.hasPrefix("expected ") || !diagnostic.message.contains(", found ") {
                    XCTFail("bad diagnostic \(diagnostic) on \(source.debugDescription)")
                }
            }
        }
        // The mutations must exercise both outcomes, or the fuzzer tests nothing.
        XCTAssertGreaterThan(accepted, 300)
        XCTAssertGreaterThan(rejected, 1000)
    }

    /// The number of lines as the lexer counts them ("\n", "\r\n" or "\r" end a line).
    private static func lineCount(_ source: String) -> Int {
        var count = 1
        var previous: UInt8 = 0
        for byte in source.utf8 {
            if byte == 0x0A, previous != 0x0D { count += 1 }
            if byte == 0x0D { count += 1 }
            previous = byte
        }
        return count
    }

    private func mutate(_ source: String, _ rng: inout SplitMix64) -> String {
        func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
        var lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        switch below(9) {
        case 0:  // flip one bit of one byte (may leave invalid UTF-8, decoded with replacement characters)
            var bytes = Array(source.utf8)
            guard !bytes.isEmpty else { return source }
            bytes[below(bytes.count)] ^= UInt8(1 << below(8))
            return String(decoding: bytes, as: UTF8.self)
        case 1:  // truncate at a byte
            let bytes = Array(source.utf8)
            return String(decoding: bytes.prefix(below(bytes.count + 1)), as: UTF8.self)
        case 2:  // swap two lines
            let i = below(lines.count), j = below(lines.count)
            lines.swapAt(i, j)
        case 3:  // delete a line
            if !lines.isEmpty { lines.remove(at: below(lines.count)) }
        case 4:  // duplicate a line elsewhere
            if !lines.isEmpty { lines.insert(lines[below(lines.count)], at: below(lines.count + 1)) }
        case 5:  // insert a fragment at a character
            var chars = Array(source)
            chars.insert(contentsOf: Self.fragments[below(Self.fragments.count)], at: below(chars.count + 1))
            return String(chars)
        case 6:  // change a digit (turns ranges backwards, sizes huge, bits into 2…)
            var chars = Array(source)
            let digits = chars.indices.filter { chars[$0].isASCII && chars[$0].isNumber }
            guard !digits.isEmpty else { return source }
            chars[digits[below(digits.count)]] = Character(String(below(10)))
            return String(chars)
        case 7:  // insert a fragment after a space, where a token may stand
            var chars = Array(source)
            let spaces = chars.indices.filter { chars[$0] == " " }
            guard !spaces.isEmpty else { return source }
            let fragment = Self.fragments[below(Self.fragments.count)] + (below(2) == 0 ? " " : "")
            chars.insert(contentsOf: fragment, at: spaces[below(spaces.count)] + 1)
            return String(chars)
        default:  // delete a few characters
            var chars = Array(source)
            guard !chars.isEmpty else { return source }
            let start = below(chars.count)
            chars.removeSubrange(start..<min(chars.count, start + 1 + below(8)))
            return String(chars)
        }
        return lines.joined(separator: "\n")
    }
}
