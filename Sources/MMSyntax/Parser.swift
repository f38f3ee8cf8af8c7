// SPDX-License-Identifier: Apache-2.0
//
// The parser of the `.mms` language: the block structure of a file (this file), the shared
// pieces of syntax such as page references, sizes and lists (`LineParser`, this file), and the
// statements themselves (Statements.swift).

/// Parses `.mms` scenario files.
public enum ScenarioParser {
    /// The deepest nesting of `thread` / `in` blocks the parser accepts.
    public static let maximumBlockDepth = 64

    /// Parses a scenario.
    ///
    /// - Parameters:
    ///   - source: The text of the scenario.
    ///   - file: The file name used in source locations and diagnostics.
    /// - Returns: The scenario's title and statements, each with its source position.
    /// - Throws: The first error in reading order, as a ``Diagnostic`` naming file, line and
    ///   column, what was expected and what was found. A file with an error yields nothing.
    public static func parse(_ source: String, file: String) throws(Diagnostic) -> Scenario {
        var parser = BlockParser(source: source, file: file)
        return try parser.parseScenario()
    }
}

/// Reads the lines of a file into statements, matching `{` with `}`.
struct BlockParser {
    let file: String
    let lines: [SourceLine]
    let endOfFile: SourceLocation
    /// Index of the next line to read.
    var nextLine = 0
    /// The title and the line of the `scenario` statement, once seen.
    var title: (text: String, line: Int)?

    init(source: String, file: String) {
        let lexed = Lexer.lex(source)
        self.file = file
        self.lines = lexed.lines
        self.endOfFile = SourceLocation(file: file, line: lexed.endOfFile.line, column: lexed.endOfFile.column)
    }

    mutating func parseScenario() throws(Diagnostic) -> Scenario {
        let statements = try parseBlock(openedBy: nil, depth: 0)
        return Scenario(file: file, title: title?.text, statements: statements)
    }

    /// Parses statements up to the `}` that closes the block opened by `opener` (whose line has
    /// been read), or to the end of the file when `opener` is nil.
    mutating func parseBlock(openedBy opener: Token?, depth: Int) throws(Diagnostic) -> [Statement] {
        var body: [Statement] = []
        while nextLine < lines.count {
            let line = lines[nextLine]
            nextLine += 1
            if line.isEmpty { continue }
            var parser = LineParser(line: line, file: file)
            if parser.peek.isSymbol("}") {
                let brace = parser.advance()
                guard opener != nil else {
                    throw Diagnostic(parser.location(brace),
                                     "expected a statement (read, write, mmap, …), found '}' that closes no block")
                }
                try parser.expectEnd(after: "'}'")
                return body
            }
            body.append(try parseStatement(&parser, depth: depth))
        }
        if let opener {
            throw Diagnostic(endOfFile,
                             "expected '}' to close the block opened at line \(opener.line), found end of file")
        }
        return body
    }

    /// Parses the statement on `parser`'s line; for a block, also the lines of its body.
    mutating func parseStatement(_ parser: inout LineParser, depth: Int) throws(Diagnostic) -> Statement {
        let first = parser.peek
        let location = parser.location(first)
        let text = parser.line.statementText
        switch try parser.parseStatementHead() {
        case .simple(let kind, let outcomeRule):
            var outcome: Outcome?
            var outcomeLocation: SourceLocation?
            if parser.peek.isSymbol("->") {
                guard case .allowed = outcomeRule else {
                    throw parser.outcomeNotAllowed(outcomeRule)
                }
                (outcome, outcomeLocation) = try parser.parseOutcome()
            }
            try parser.expectEnd()
            if case .scenarioTitle(let newTitle) = kind {
                if let title {
                    throw Diagnostic(location, "expected at most one scenario title, found a second "
                                     + "'scenario' (the first is at line \(title.line))")
                }
                title = (newTitle, first.line)
            }
            return Statement(kind: kind, location: location, text: text,
                             outcome: outcome, outcomeLocation: outcomeLocation)

        case .when(let key, let values):
            if parser.peek.isSymbol("->") { throw parser.outcomeNotAllowed(.refused("when")) }
            let brace = try parser.expectSymbol("{", "'{' to open the block of 'when'")
            try parser.expectEnd(after: "'{'")
            guard depth < ScenarioParser.maximumBlockDepth else {
                throw Diagnostic(parser.location(brace), "expected at most "
                                 + "\(ScenarioParser.maximumBlockDepth) nested blocks, found one more '{'")
            }
            let body = try parseBlock(openedBy: brace, depth: depth + 1)
            return Statement(kind: .when(key: key, values: values, body: body), location: location, text: text)

        case .block(let block, let name):
            if parser.peek.isSymbol("->") {
                throw parser.outcomeNotAllowed(.refused(block.rawValue))
            }
            let brace = try parser.expectSymbol("{", "'{' to open the block of '\(block.rawValue)'")
            try parser.expectEnd(after: "'{'")
            guard depth < ScenarioParser.maximumBlockDepth else {
                throw Diagnostic(parser.location(brace), "expected at most "
                                 + "\(ScenarioParser.maximumBlockDepth) nested blocks, found one more '{'")
            }
            let body = try parseBlock(openedBy: brace, depth: depth + 1)
            let kind: StatementKind = switch block {
            case .thread: .thread(name: name, body: body)
            case .inProcess: .inProcess(name: name, body: body)
            }
            return Statement(kind: kind, location: location, text: text)
        }
    }
}

/// What the first part of a line turned out to be.
enum StatementHead {
    /// A complete one-line statement; an outcome and the end of the line may follow.
    case simple(StatementKind, OutcomeRule)
    /// `thread NAME` or `in NAME`; `{` and the end of the line must follow, then the body.
    case block(BlockKind, name: String)
    /// `when design KEY = V1[,V2…]`; `{` and the end of the line follow, then the body.
    case when(key: String, values: [String])
}

/// The statements that take a block; the raw value is the keyword.
enum BlockKind: String {
    case thread
    case inProcess = "in"
}

/// Whether a statement may end in `-> ERRNO` / `-> SIGNAL`.
enum OutcomeRule {
    case allowed
    /// Not allowed; the payload names the statement in the diagnostic (`expect`).
    case refused(String)
}

/// A cursor over the tokens of one line, with the pieces of syntax statements share.
struct LineParser {
    let line: SourceLine
    let file: String
    private var position = 0

    init(line: SourceLine, file: String) {
        self.line = line
        self.file = file
    }

    // MARK: Cursor

    /// The current token; `.end` once the line is exhausted.
    var peek: Token { line.tokens[min(position, line.tokens.count - 1)] }

    /// Consumes and returns the current token (never moves past `.end`).
    @discardableResult
    mutating func advance() -> Token {
        let token = peek
        if position < line.tokens.count - 1 { position += 1 }
        return token
    }

    /// True at the end of the line or at `->`, where the statement proper ends.
    var atEndOfStatement: Bool { peek.kind == .end || peek.isSymbol("->") }

    func location(_ token: Token) -> SourceLocation {
        SourceLocation(file: file, line: token.line, column: token.column)
    }

    /// The diagnostic "expected …, found …" at `token`; for a token the lexer could not read,
    /// the lexer's own diagnostic.
    func unexpected(_ expected: String, _ token: Token) -> Diagnostic {
        if case .invalid(let message) = token.kind {
            return Diagnostic(location(token), message)
        }
        return Diagnostic(location(token), "expected \(expected), found \(token.quoted)")
    }

    /// "a, b or c", for the lists in diagnostics.
    static func alternatives(_ words: [String]) -> String {
        guard let last = words.last else { return "" }
        guard words.count > 1 else { return last }
        return words.dropLast().joined(separator: ", ") + " or " + last
    }

    // MARK: Basic pieces

    /// Requires the end of the line.
    mutating func expectEnd(after what: String? = nil) throws(Diagnostic) {
        guard peek.kind == .end else {
            throw unexpected("end of line" + (what.map { " after \($0)" } ?? ""), peek)
        }
    }

    /// Consumes the symbol `symbol`.
    @discardableResult
    mutating func expectSymbol(_ symbol: String, _ expected: String? = nil) throws(Diagnostic) -> Token {
        guard peek.isSymbol(symbol) else { throw unexpected(expected ?? "'\(symbol)'", peek) }
        return advance()
    }

    /// Consumes an identifier: `[A-Za-z_][A-Za-z0-9_]*`.
    mutating func expectName(_ what: String) throws(Diagnostic) -> String {
        guard peek.isName else { throw unexpected(what, peek) }
        return advance().text
    }

    /// Consumes one of `words`; `what` describes them ("a check"), and the diagnostic lists them
    /// (or `listing`, when the words are better shown otherwise, such as `same(REF)` for `same`).
    mutating func expectWord(in words: [String], _ what: String,
                             listing: [String]? = nil) throws(Diagnostic) -> String {
        guard peek.kind == .word, words.contains(peek.text) else {
            throw unexpected("\(what) (\(Self.alternatives(listing ?? words)))", peek)
        }
        return advance().text
    }

    /// Consumes `word=` if it is next (an option such as `offset=`, `flags=`); returns whether it was.
    mutating func takeOption(_ word: String) throws(Diagnostic) -> Bool {
        guard peek.isWord(word) else { return false }
        advance()
        try expectSymbol("=", "'=' after '\(word)'")
        return true
    }

    /// Consumes a comma-separated list of `words` (at least one).
    mutating func expectWordList(in words: [String], _ what: String) throws(Diagnostic) -> [String] {
        var result = [try expectWord(in: words, what)]
        while peek.isSymbol(",") {
            advance()
            result.append(try expectWord(in: words, what))
        }
        return result
    }

    /// Consumes a plain number (decimal or `0x` hex, `_` separators, no suffix).
    /// `noun` names it in diagnostics ("a page index"), `detail` explains its form.
    mutating func expectNumber(_ noun: String, _ detail: String = "") throws(Diagnostic) -> UInt64 {
        let token = peek
        guard token.kind == .number, case .number(let value, let suffix) = NumberLiteral.parse(token.text),
              suffix.isEmpty else {
            throw unexpected(noun + detail, token)
        }
        guard let value else {
            throw Diagnostic(location(token), "expected \(noun) that fits in 64 bits, found \(token.quoted)")
        }
        advance()
        return value
    }

    /// Consumes a number that must also fit in an `Int` (page indices, counts).
    mutating func expectInt(_ noun: String, _ detail: String = "") throws(Diagnostic) -> Int {
        let token = peek
        let value = try expectNumber(noun, detail)
        guard let result = Int(exactly: value) else {
            throw Diagnostic(location(token), "expected \(noun) no larger than \(Int.max), found \(token.quoted)")
        }
        return result
    }

    /// Consumes a size: a number of bytes, or a number with suffix `p` (4096-byte pages),
    /// `K`, `M`, `G` or `T` (binary).
    mutating func expectSize(_ noun: String = "a size") throws(Diagnostic) -> UInt64 {
        let token = peek
        let detail = " (a number of bytes, or a number with suffix p, K, M, G or T)"
        guard token.kind == .number, case .number(let value, let suffix) = NumberLiteral.parse(token.text),
              let multiplier = Self.sizeMultipliers[String(suffix)] else {
            throw unexpected(noun + detail, token)
        }
        guard let value, case (let bytes, false) = value.multipliedReportingOverflow(by: multiplier) else {
            throw Diagnostic(location(token), "expected \(noun) that fits in 64 bits, found \(token.quoted)")
        }
        advance()
        return bytes
    }

    static let pageSize: UInt64 = 4096
    static let sizeMultipliers: [String: UInt64] = [
        "": 1, "p": pageSize, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40,
    ]

    /// Consumes a page reference: `A`, `A[3]` or `A[0..15]` (inclusive).
    mutating func expectPageRef() throws(Diagnostic) -> PageRef {
        let nameToken = peek
        let name = try expectName("a page reference (NAME, NAME[i] or NAME[i..j])")
        guard peek.isSymbol("[") else {
            return PageRef(name: name, location: location(nameToken))
        }
        advance()
        let (range, isRange) = try expectPageRange(open: false)
        try expectSymbol("]", isRange ? "']'" : "'..' or ']'")
        return PageRef(name: name, first: range.lowerBound, last: range.upperBound, location: location(nameToken))
    }

    /// Consumes `i` or `i..j` (inclusive; `j` not before `i`). With `open`, the diagnostic for
    /// a missing index also mentions `none` (as in `expect pagemap_scan`).
    /// Returns the range and whether it was written with `..`.
    mutating func expectPageRange(open: Bool) throws(Diagnostic) -> (ClosedRange<Int>, isRange: Bool) {
        let firstToken = peek
        let noun = open ? "page indices and ranges (like 0..3,8) or none" : "a page index"
        let first = try expectInt(noun)
        guard peek.isSymbol("..") else { return (first...first, false) }
        advance()
        let lastToken = peek
        let last = try expectInt("a page index")
        guard first <= last else {
            throw Diagnostic(location(firstToken), "expected a page range whose end is not before its start, "
                             + "found \(firstToken.text)..\(lastToken.text)")
        }
        return (first...last, true)
    }

    /// Consumes a token value: a number, or `seq(N)`.
    mutating func expectTokenValue() throws(Diagnostic) -> TokenValue {
        let detail = " (a number or seq(N))"
        if peek.isWord("seq") {
            advance()
            try expectSymbol("(", "'(' after 'seq'")
            let base = try expectNumber("a number")
            try expectSymbol(")")
            return .seq(base)
        }
        return .literal(try expectNumber("a token", detail))
    }

    /// Consumes `-> NAME` (the `->` is current).
    mutating func parseOutcome() throws(Diagnostic) -> (Outcome, SourceLocation) {
        let arrow = advance()
        let token = peek
        let outcome: Outcome
        if token.kind == .word, ScenarioVocabulary.errnos.contains(token.text) {
            outcome = .errno(token.text)
        } else if token.kind == .word, ScenarioVocabulary.signals.contains(token.text) {
            outcome = .signal(token.text)
        } else {
            throw unexpected("an errno (\(Self.alternatives(ScenarioVocabulary.errnos))) or a signal "
                             + "(\(Self.alternatives(ScenarioVocabulary.signals))) after '->'", token)
        }
        advance()
        return (outcome, location(arrow))
    }

    /// The diagnostic for `->` after a statement that cannot have an outcome (`->` is current).
    func outcomeNotAllowed(_ rule: OutcomeRule) -> Diagnostic {
        var statement = "this statement"
        if case .refused(let name) = rule { statement = "'\(name)'" }
        return unexpected("end of line", peek).appending(
            " (an outcome -> ERRNO or -> SIGNAL is allowed on operations, on set-up that can fail and on uffd "
            + "statements, not on \(statement))")
    }
}

extension Diagnostic {
    func appending(_ text: String) -> Diagnostic {
        Diagnostic(location, message + text)
    }
}
