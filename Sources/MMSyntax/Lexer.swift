// SPDX-License-Identifier: Apache-2.0
//
// The lexer of the `.mms` language. A scenario is a sequence of lines and every line is one
// statement, so the lexer cuts the source into lines and each line into tokens. Columns count
// characters (extended grapheme clusters), not bytes, so that a diagnostic points where an
// editor shows the cursor.
//
// The lexer never fails: a character it cannot make sense of becomes an `.invalid` token that
// carries its diagnostic, followed by the end of the line. The parser reports it when it
// reaches it, so that the first error in reading order is the one reported.

/// One lexical token.
struct Token: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        /// An identifier or keyword: `[A-Za-z_][A-Za-z0-9_]*`, possibly dotted
        /// (`pagemap.shmem_swap`, for design switches).
        case word
        /// Anything that starts with a digit: `16`, `0x1f`, `1_000`, `16p`, `2M`. Interpreted by
        /// the parser, which knows whether a size suffix is allowed where it stands.
        case number
        /// A double-quoted string; the payload is its value with the escapes resolved.
        case string(String)
        /// Punctuation: `[ ] ( ) { } , = == .. ->`.
        case symbol
        /// The end of the line (before any comment).
        case end
        /// Something that is not a token; the payload is the message to report.
        case invalid(String)
    }

    var kind: Kind
    /// The token as written (for `.end`, empty).
    var text: String
    var line: Int
    /// 1-based column of the first character.
    var column: Int
    /// 1-based column just after the last character.
    var endColumn: Int

    func isSymbol(_ s: String) -> Bool { kind == .symbol && text == s }
    func isWord(_ w: String) -> Bool { kind == .word && text == w }

    /// True for an identifier `[A-Za-z_][A-Za-z0-9_]*` (a word without dots).
    var isName: Bool { kind == .word && !text.contains(".") }

    /// How the token is shown after "found" in a diagnostic.
    var quoted: String {
        switch kind {
        case .end: return "end of line"
        default: return "'\(text)'"
        }
    }
}

/// One line of source, cut into tokens.
struct SourceLine: Sendable {
    /// 1-based line number.
    var number: Int
    /// The UTF-8 bytes of the whole source (shared by all lines).
    var bytes: [UInt8]
    /// The byte offset of each character of the line in `bytes`, plus that of the line's end:
    /// character `i` (column `i + 1`) is `bytes[offsets[i]..<offsets[i + 1]]`.
    var offsets: [Int]
    /// The tokens; never empty, the last one is always `.end`.
    var tokens: [Token]

    /// True when the line holds no statement (blank or comment only).
    var isEmpty: Bool { tokens.count == 1 }

    /// The number of characters of the line.
    var count: Int { offsets.count - 1 }

    /// The text of characters `range` (0-based).
    func text(_ range: Range<Int>) -> String {
        String(decoding: bytes[offsets[range.lowerBound]..<offsets[range.upperBound]], as: UTF8.self)
    }

    /// The source text from the first token to the end of the last token before `.end`:
    /// the statement as written, trimmed and without its comment.
    var statementText: String {
        guard tokens.count > 1, let first = tokens.first else { return "" }
        let last = tokens[tokens.count - 2]
        let start = max(0, first.column - 1)
        let end = min(count, last.endColumn - 1)
        guard start < end else { return "" }
        return text(start..<end)
    }
}

/// Cuts a scenario into lines of tokens.
///
/// It looks at characters through their ASCII codes (every character that matters to the
/// language is ASCII; any other maps to `nonASCII`) and slices token texts from the UTF-8
/// bytes, which is much cheaper than comparing and concatenating `Character`s.
enum Lexer {
    /// The code of a character that is not ASCII (it matches nothing the lexer looks for).
    static let nonASCII: UInt8 = 0xFF

    /// Lexes `source`. Returns its lines and the position just after its last character
    /// (where "end of file" is reported).
    static func lex(_ source: String) -> (lines: [SourceLine], endOfFile: (line: Int, column: Int)) {
        let bytes = Array(source.utf8)
        var lines: [SourceLine] = []
        var codes: [UInt8] = []
        var offsets: [Int] = []
        var offset = 0
        var number = 1
        var isFirstCharacter = true
        for c in source {
            let width = c.utf8.count
            defer { offset += width }
            if isFirstCharacter {
                isFirstCharacter = false
                if c == "\u{FEFF}" { continue }  // a byte-order mark is not part of the text
            }
            // "\n", "\r\n" (one Character, whose asciiValue is that of "\n") and a lone "\r".
            let code = c.asciiValue ?? nonASCII
            if code == 0x0A || code == 0x0D {
                offsets.append(offset)
                lines.append(lexLine(bytes: bytes, offsets: offsets, codes: codes, number: number))
                codes.removeAll(keepingCapacity: true)
                offsets.removeAll(keepingCapacity: true)
                number += 1
            } else {
                codes.append(code)
                offsets.append(offset)
            }
        }
        let endOfFile = (line: number, column: codes.count + 1)
        if !codes.isEmpty {
            offsets.append(offset)
            lines.append(lexLine(bytes: bytes, offsets: offsets, codes: codes, number: number))
        }
        return (lines, endOfFile)
    }

    /// Lexes one line: `codes[i]` is the ASCII code of its character `i` (or `nonASCII`),
    /// whose bytes are `bytes[offsets[i]..<offsets[i + 1]]`.
    private static func lexLine(bytes: [UInt8], offsets: [Int], codes: [UInt8], number: Int) -> SourceLine {
        var line = SourceLine(number: number, bytes: bytes, offsets: offsets, tokens: [])
        var i = 0
        var lastEnd = 1  // column just after the last token, where `.end` is reported

        func add(_ kind: Token.Kind, from start: Int, to end: Int) {
            line.tokens.append(Token(kind: kind, text: line.text(start..<end), line: number,
                                     column: start + 1, endColumn: end + 1))
            lastEnd = end + 1
        }

        scan: while i < codes.count {
            let c = codes[i]
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") {
                i += 1
            } else if c == UInt8(ascii: "#") {
                break scan
            } else if isIdentifierStart(c) {
                let start = i
                i += 1
                while i < codes.count {
                    if isIdentifierContinue(codes[i]) {
                        i += 1
                    } else if codes[i] == UInt8(ascii: "."), i + 1 < codes.count, isIdentifierStart(codes[i + 1]) {
                        i += 2
                    } else {
                        break
                    }
                }
                add(.word, from: start, to: i)
            } else if isDigit(c) {
                let start = i
                while i < codes.count, isIdentifierContinue(codes[i]) { i += 1 }
                add(.number, from: start, to: i)
            } else if c == UInt8(ascii: "\"") {
                let start = i
                switch scanString(line, codes, from: i) {
                case .success(let value, let end):
                    add(.string(value), from: start, to: end)
                    i = end
                case .failure(let message, let at, let end):
                    add(.invalid(message), from: at, to: end)
                    break scan
                }
            } else if let length = symbolLength(codes, at: i) {
                add(.symbol, from: i, to: i + length)
                i += length
            } else {
                let message = "expected a name, a number, a string or one of [ ] ( ) { } , = == .. ->"
                    + ", found \(describe(line.text(i..<i + 1)))"
                add(.invalid(message), from: i, to: i + 1)
                break scan
            }
        }
        line.tokens.append(Token(kind: .end, text: "", line: number, column: lastEnd, endColumn: lastEnd))
        return line
    }

    private enum StringScan {
        case success(value: String, end: Int)
        /// `at..<end` are the characters the diagnostic is about.
        case failure(message: String, at: Int, end: Int)
    }

    /// Scans a string literal whose opening quote is character `start` of `line`.
    private static func scanString(_ line: SourceLine, _ codes: [UInt8], from start: Int) -> StringScan {
        var value: [UInt8] = []
        var i = start + 1
        while i < codes.count {
            if codes[i] == UInt8(ascii: "\"") {
                return .success(value: String(decoding: value, as: UTF8.self), end: i + 1)
            } else if codes[i] == UInt8(ascii: "\\") {
                guard i + 1 < codes.count else { break }
                guard codes[i + 1] == UInt8(ascii: "\"") || codes[i + 1] == UInt8(ascii: "\\") else {
                    return .failure(
                        message: "expected an escape \\\" or \\\\ in a string, found '\\\(printable(line.text(i + 1..<i + 2)))'",
                        at: i, end: i + 2)
                }
                value.append(codes[i + 1])
                i += 2
            } else {
                value.append(contentsOf: line.bytes[line.offsets[i]..<line.offsets[i + 1]])
                i += 1
            }
        }
        return .failure(message: "expected a closing '\"' for the string that starts here, found end of line",
                        at: start, end: codes.count)
    }

    /// The length of the symbol at `i` (`[ ] ( ) { } , = == .. ->`; the longest wins), if any.
    private static func symbolLength(_ codes: [UInt8], at i: Int) -> Int? {
        let next = i + 1 < codes.count ? codes[i + 1] : 0
        switch codes[i] {
        case UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "("), UInt8(ascii: ")"),
             UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","):
            return 1
        case UInt8(ascii: "="): return next == UInt8(ascii: "=") ? 2 : 1
        case UInt8(ascii: "."): return next == UInt8(ascii: ".") ? 2 : nil
        case UInt8(ascii: "-"): return next == UInt8(ascii: ">") ? 2 : nil
        default: return nil
        }
    }

    static func isDigit(_ a: UInt8) -> Bool {
        a >= UInt8(ascii: "0") && a <= UInt8(ascii: "9")
    }

    static func isIdentifierStart(_ a: UInt8) -> Bool {
        (a >= UInt8(ascii: "A") && a <= UInt8(ascii: "Z")) || (a >= UInt8(ascii: "a") && a <= UInt8(ascii: "z"))
            || a == UInt8(ascii: "_")
    }

    static func isIdentifierContinue(_ a: UInt8) -> Bool {
        isIdentifierStart(a) || isDigit(a)
    }

    /// A character as shown in a diagnostic: quoted if visible, else as U+XXXX.
    static func describe(_ c: String) -> String {
        let text = printable(c)
        return text.hasPrefix("U+") ? text : "'\(text)'"
    }

    private static func printable(_ c: String) -> String {
        let visible = c.unicodeScalars.allSatisfy { s in
            !s.properties.isWhitespace && s.properties.generalCategory != .control
                && s.properties.generalCategory != .format && s.properties.generalCategory != .unassigned
                && s.properties.generalCategory != .surrogate && s.properties.generalCategory != .privateUse
        }
        if visible { return c }
        return c.unicodeScalars.map { "U+" + hex4($0.value) }.joined(separator: " ")
    }

    private static func hex4(_ v: UInt32) -> String {
        let s = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}

/// Interpretation of number tokens: `123`, `0x7f`, `1_000`, with an optional suffix.
enum NumberLiteral {
    enum Parsed: Equatable {
        /// Digits well formed; `value` is nil when they do not fit in 64 bits.
        case number(value: UInt64?, suffix: String)
        /// Not a number at all (`0x`, `1__0`, `0xg`, `12_`).
        case malformed
    }

    /// Splits a number token into its value and the letters after the digits.
    static func parse(_ text: String) -> Parsed {
        let bytes = Array(text.utf8)
        var i = 0
        var radix: UInt64 = 10
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "0"), bytes[1] == UInt8(ascii: "x") || bytes[1] == UInt8(ascii: "X") {
            radix = 16
            i = 2
        }
        var value: UInt64? = 0
        var digits = 0
        var previousWasUnderscore = false
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "_") {
                // A separator stands between two digits.
                guard digits > 0, !previousWasUnderscore else { return .malformed }
                previousWasUnderscore = true
            } else if let d = digitValue(bytes[i], radix: radix) {
                if let v = value {
                    let (m, o1) = v.multipliedReportingOverflow(by: radix)
                    let (s, o2) = m.addingReportingOverflow(d)
                    value = (o1 || o2) ? nil : s
                }
                digits += 1
                previousWasUnderscore = false
            } else {
                break
            }
            i += 1
        }
        guard digits > 0, !previousWasUnderscore else { return .malformed }
        return .number(value: value, suffix: String(decoding: bytes[i...], as: UTF8.self))
    }

    private static func digitValue(_ a: UInt8, radix: UInt64) -> UInt64? {
        let d: UInt64
        switch a {
        case 0x30...0x39: d = UInt64(a - 0x30)
        case 0x61...0x66: d = UInt64(a - 0x61 + 10)
        case 0x41...0x46: d = UInt64(a - 0x41 + 10)
        default: return nil
        }
        return d < radix ? d : nil
    }
}
