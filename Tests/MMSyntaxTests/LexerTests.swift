// SPDX-License-Identifier: Apache-2.0

import XCTest
@testable import MMSyntax

final class LexerTests: XCTestCase {
    private func kindsAndTexts(_ line: String) -> [String] {
        Lexer.lex(line).lines[0].tokens.map { token in
            switch token.kind {
            case .word: return "w:\(token.text)"
            case .number: return "n:\(token.text)"
            case .string(let value): return "s:\(value)"
            case .symbol: return "p:\(token.text)"
            case .end: return "end@\(token.column)"
            case .invalid: return "invalid@\(token.column)"
            }
        }
    }

    func testTokens() {
        XCTAssertEqual(kindsAndTexts("write A[0..15] = seq(0x100) -> EINVAL # c"),
                       ["w:write", "w:A", "p:[", "n:0", "p:..", "n:15", "p:]", "p:=", "w:seq", "p:(", "n:0x100",
                        "p:)", "p:->", "w:EINVAL", "end@38"])
        XCTAssertEqual(kindsAndTexts("expect read A==1"), ["w:expect", "w:read", "w:A", "p:==", "n:1", "end@17"])
        XCTAssertEqual(kindsAndTexts("design pagemap.shmem_swap=marker"),
                       ["w:design", "w:pagemap.shmem_swap", "p:=", "w:marker", "end@33"])
        XCTAssertEqual(kindsAndTexts("written=0..3,8 16p"),
                       ["w:written", "p:=", "n:0", "p:..", "n:3", "p:,", "n:8", "n:16p", "end@19"])
        XCTAssertEqual(kindsAndTexts(#"scenario "a # \"b\"" # c"#), ["w:scenario", #"s:a # "b""#, "end@21"])
        XCTAssertEqual(kindsAndTexts("   # only a comment"), ["end@1"])
        XCTAssertEqual(kindsAndTexts("read A.. B"), ["w:read", "w:A", "p:..", "w:B", "end@11"])
        XCTAssertEqual(kindsAndTexts("read A - B"), ["w:read", "w:A", "invalid@8", "end@9"])
    }

    func testLinesAndEndOfFile() {
        let (lines, end) = Lexer.lex("a\nb\r\nc\rd")
        XCTAssertEqual(lines.map(\.number), [1, 2, 3, 4])
        XCTAssertEqual(end.line, 4)
        XCTAssertEqual(end.column, 2)
        let (_, end2) = Lexer.lex("ab\n")
        XCTAssertEqual(end2.line, 2)
        XCTAssertEqual(end2.column, 1)
    }

    func testStatementTextExcludesComment() {
        let line = Lexer.lex("  read A[1]   # why").lines[0]
        XCTAssertEqual(line.statementText, "read A[1]")
    }

    func testNumberLiterals() {
        XCTAssertEqual(NumberLiteral.parse("42"), .number(value: 42, suffix: ""))
        XCTAssertEqual(NumberLiteral.parse("0x2A"), .number(value: 42, suffix: ""))
        XCTAssertEqual(NumberLiteral.parse("0X2a"), .number(value: 42, suffix: ""))
        XCTAssertEqual(NumberLiteral.parse("1_000_000"), .number(value: 1_000_000, suffix: ""))
        XCTAssertEqual(NumberLiteral.parse("16p"), .number(value: 16, suffix: "p"))
        XCTAssertEqual(NumberLiteral.parse("0x10M"), .number(value: 16, suffix: "M"))
        XCTAssertEqual(NumberLiteral.parse("12abc"), .number(value: 12, suffix: "abc"))
        XCTAssertEqual(NumberLiteral.parse("18446744073709551615"), .number(value: UInt64.max, suffix: ""))
        XCTAssertEqual(NumberLiteral.parse("18446744073709551616"), .number(value: nil, suffix: ""))
        XCTAssertEqual(NumberLiteral.parse("0x1_0000_0000_0000_0000K"), .number(value: nil, suffix: "K"))
        XCTAssertEqual(NumberLiteral.parse("0x"), .malformed)
        XCTAssertEqual(NumberLiteral.parse("0xg"), .malformed)
        XCTAssertEqual(NumberLiteral.parse("1__0"), .malformed)
        XCTAssertEqual(NumberLiteral.parse("1_"), .malformed)
        XCTAssertEqual(NumberLiteral.parse("1_p"), .malformed)
    }
}
