// SPDX-License-Identifier: Apache-2.0
//
// The statements of the `.mms` language, one function per family. Each parses the statement
// proper; the caller (`BlockParser`) then reads the optional `-> OUTCOME`, requires the end of
// the line, and for `thread` / `in` reads the block.

extension LineParser {
    /// Parses the statement that starts at the current token, up to its outcome or end of line.
    mutating func parseStatementHead() throws(Diagnostic) -> StatementHead {
        let keyword = peek
        guard keyword.kind == .word, ScenarioVocabulary.statements.contains(keyword.text) else {
            var diagnostic = unexpected("a statement (read, write, mmap, …)", keyword)
            if keyword.kind == .word, ScenarioVocabulary.statements.contains(keyword.text.lowercased()) {
                diagnostic = diagnostic.appending(" (keywords are lower case)")
            }
            throw diagnostic
        }
        advance()
        switch keyword.text {
        case "scenario":
            let token = peek
            guard case .string(let title) = token.kind else {
                throw unexpected("a title in double quotes", token)
            }
            advance()
            return .simple(.scenarioTitle(title), .refused("scenario"))
        case "design": return .simple(try parseDesign(), .refused("design"))
        case "kconfig": return .simple(try parseKconfig(), .refused("kconfig"))
        case "swap": return .simple(.swap(bytes: try expectSize()), .allowed)
        case "memfd":
            let name = try expectName("a name for the memfd")
            return .simple(.memfd(name: name, bytes: try expectSize()), .allowed)
        case "mmap": return .simple(try parseMmap(), .allowed)
        case "guest_memfd": return .simple(try parseGuestMemfd(), .allowed)
        case "dax": return .simple(try parseDax(), .allowed)
        case "thread": return .block(.thread, name: try expectName("a name for the thread"))
        case "in": return .block(.inProcess, name: try expectName("the name of a process"))
        case "when": return try parseWhen()
        case "join": return .simple(.join(name: try expectName("the name of a thread")), .refused("join"))
        case "pagemap": return .simple(.pagemap(try expectPageRef()), .refused("pagemap"))
        case "pagemap_scan":
            let ref = try expectPageRef()
            var flags: [String] = []
            while peek.kind == .word, ["wp_matching", "check_wpasync"].contains(peek.text) {
                let flag = advance()
                if flags.contains(flag.text) { throw secondOccurrence(flag, of: "'\(flag.text)'") }
                flags.append(flag.text)
            }
            return .simple(.pagemapScan(ref, flags: flags), .allowed)
        case "expect": return .simple(try parseExpect(), .refused("expect"))
        case "check":
            let check = try expectWord(in: ScenarioVocabulary.checks, "a check")
            return .simple(.check(check), .refused("check"))
        case "uffd": return .simple(try parseUffd(), .allowed)
        default: return .simple(try parseOperation(keyword.text), .allowed)
        }
    }

    // MARK: Set-up

    /// `design KEY = VALUE`
    private mutating func parseDesign() throws(Diagnostic) -> StatementKind {
        let switches = ScenarioVocabulary.designSwitches
        let keyToken = peek
        guard keyToken.kind == .word, let design = switches.first(where: { $0.key == keyToken.text }) else {
            throw unexpected("a design switch (\(Self.alternatives(switches.map(\.key))))", keyToken)
        }
        advance()
        try expectSymbol("=", "'=' after the design switch")
        let value = try expectWord(in: design.values, "a value of \(design.key)")
        return .design(key: design.key, value: value)
    }

    /// `when design KEY = V1[,V2…]` (extension): the block runs only under those values of the
    /// switch, so one scenario can state each design's answer.
    private mutating func parseWhen() throws(Diagnostic) -> StatementHead {
        _ = try expectWord(in: ["design"], "'design' after 'when'")
        let switches = ScenarioVocabulary.designSwitches
        let keyToken = peek
        guard keyToken.kind == .word, let design = switches.first(where: { $0.key == keyToken.text }) else {
            throw unexpected("a design switch (\(Self.alternatives(switches.map(\.key))))", keyToken)
        }
        advance()
        try expectSymbol("=", "'=' after the design switch")
        var values: [String] = []
        repeat {
            if !values.isEmpty { advance() }   // the ','
            let token = peek
            let value = try expectWord(in: design.values, "a value of \(design.key)")
            if values.contains(value) { throw secondOccurrence(token, of: "'\(value)'") }
            values.append(value)
        } while peek.isSymbol(",")
        return .when(key: design.key, values: values)
    }

    /// `kconfig OPTION = y|n`
    private mutating func parseKconfig() throws(Diagnostic) -> StatementKind {
        let key = try expectWord(in: ScenarioVocabulary.kconfigOptions, "a kconfig option")
        try expectSymbol("=", "'=' after the kconfig option")
        let value = try expectWord(in: ["y", "n"], "a kconfig value")
        return .kconfig(key: key, enabled: value == "y")
    }

    /// `mmap NAME anon|OBJ private|shared r|rw|none [SIZE] [offset=SIZE] [align=SIZE]`
    private mutating func parseMmap() throws(Diagnostic) -> StatementKind {
        let name = try expectName("a name for the mapping")
        let backingToken = peek
        guard backingToken.isName else {
            throw unexpected("anon or the name of a memfd, guest_memfd or dax instance", backingToken)
        }
        advance()
        let backing: MmapBacking = backingToken.text == "anon" ? .anon : .object(backingToken.text)
        let sharing = try expectWord(in: ["private", "shared"], "a sharing mode")
        let prot = try expectProtection()

        var bytes: UInt64?
        var offset: UInt64?
        var align: UInt64?
        while !atEndOfStatement {
            let token = peek
            if token.kind == .number {
                guard bytes == nil else { throw secondOccurrence(token, of: "a size") }
                bytes = try expectSize()
            } else if try takeOption("offset") {
                guard offset == nil else { throw secondOccurrence(token, of: "offset=") }
                offset = try expectSize("an offset")
            } else if try takeOption("align") {
                guard align == nil else { throw secondOccurrence(token, of: "align=") }
                align = try expectSize("an alignment")
            } else {
                throw unexpected("a size, offset=SIZE, align=SIZE or end of line", token)
            }
        }
        if backing == .anon, bytes == nil {
            throw unexpected("a size for an anonymous mapping", peek)
        }
        return .mmap(name: name, backing: backing, shared: sharing == "shared", prot: prot,
                     bytes: bytes, offset: offset, align: align)
    }

    /// `guest_memfd NAME SIZE [flags=a,b] [huge=2M]`
    private mutating func parseGuestMemfd() throws(Diagnostic) -> StatementKind {
        let name = try expectName("a name for the guest_memfd")
        let bytes = try expectSize()
        var flags: [String] = []
        var huge: UInt64? = nil
        if try takeOption("flags") {
            flags = try expectWordList(in: ScenarioVocabulary.guestMemfdFlags, "a guest_memfd flag")
        }
        if try takeOption("huge") {
            huge = try expectSize("a folio size (2M)")
        }
        if !atEndOfStatement {
            throw unexpected(huge == nil ? "flags=…, huge=2M or end of line" : "end of line", peek)
        }
        return .guestMemfd(name: name, bytes: bytes, flags: flags, huge: huge)
    }

    /// `dax NAME SIZE align=SIZE`
    private mutating func parseDax() throws(Diagnostic) -> StatementKind {
        let name = try expectName("a name for the dax instance")
        let bytes = try expectSize()
        guard try takeOption("align") else { throw unexpected("align=SIZE", peek) }
        let align = try expectSize("an alignment")
        return .dax(name: name, bytes: bytes, align: align)
    }

    private mutating func expectProtection() throws(Diagnostic) -> Protection {
        let word = try expectWord(in: ["r", "rw", "none"], "a protection")
        return Protection(rawValue: word) ?? .none
    }

    // MARK: Operations

    /// `read`, `write`, `munmap`, `mprotect`, `madvise`, `punch`, `pread`, `pwrite`, `fork`, `clear_refs`, `ksm`, `poison`
    private mutating func parseOperation(_ keyword: String) throws(Diagnostic) -> StatementKind {
        switch keyword {
        case "read": return .read(try expectPageRef())
        case "write":
            let ref = try expectPageRef()
            try expectSymbol("=", "'=' and a token")
            return .write(ref, try expectTokenValue())
        case "munmap": return .munmap(try expectPageRef())
        case "mprotect":
            let ref = try expectPageRef()
            return .mprotect(ref, try expectProtection())
        case "madvise":
            let ref = try expectPageRef()
            return .madvise(ref, advice: try expectWord(in: ScenarioVocabulary.madviseAdvice, "an advice"))
        case "punch": return .punch(try expectPageRef())
        case "pread": return .pread(try expectPageRef())
        case "pwrite":
            let ref = try expectPageRef()
            try expectSymbol("=", "'=' and a token")
            return .pwrite(ref, try expectTokenValue())
        case "fork": return .fork(child: try expectName("a name for the child process"))
        case "exit": return .exitProcess
        case "clear_refs": return .clearRefs(try expectInt("a number"))
        case "pin":
            let name = try expectName("a name for the pin")
            let ref = try expectPageRef()
            var exclusive = false
            if peek.kind == .word && peek.text == "exclusive" { advance(); exclusive = true }
            return .pin(name: name, ref, exclusive: exclusive)
        case "unpin": return .unpin(name: try expectName("the name of a pin"))
        case "convert":
            let ref = try expectPageRef()
            let to = try expectWord(in: ["private", "shared"], "what to convert to")
            return .convert(ref, toPrivate: to == "private")
        case "prctl":
            _ = try expectWord(in: ["memory_merge"], "a prctl setting")
            return .prctlMemoryMerge(try expectWord(in: ["on", "off"], "a setting") == "on")
        case "ksm":
            switch try expectWord(in: ["run", "scan", "use_zero_pages", "max_page_sharing"], "a ksm command") {
            case "run": return .ksmRun
            case "scan": return .ksmScan(try expectInt("a number of full scans"))
            case "max_page_sharing": return .ksmMaxPageSharing(try expectInt("a number of mappings per KSM page"))
            default: return .ksmUseZeroPages(try expectWord(in: ["on", "off"], "a setting") == "on")
            }
        default:  // "poison", the last keyword routed here
            return .poison(try expectPageRef())
        }
    }

    // MARK: userfaultfd

    static let uffdCommands = [
        "register", "unregister", "wp", "unwp", "copy", "zeropage", "continue", "poison", "wake",
    ]

    /// `uffd U [features=…]` and `uffd U COMMAND …`
    private mutating func parseUffd() throws(Diagnostic) -> StatementKind {
        let uffd = try expectName("the name of a userfaultfd")
        if atEndOfStatement { return .uffdCreate(name: uffd, features: []) }
        if try takeOption("features") {
            let features = try expectWordList(in: ScenarioVocabulary.uffdFeatures, "a userfaultfd feature")
            return .uffdCreate(name: uffd, features: features)
        }
        let command = try expectWord(in: Self.uffdCommands, "a userfaultfd command",
                                     listing: ["features=…"] + Self.uffdCommands)
        let ref = try expectPageRef()
        switch command {
        case "register":
            let modes = try expectWordList(in: ScenarioVocabulary.uffdRegisterModes, "a registration mode")
            return .uffdRegister(uffd: uffd, ref, modes: modes)
        case "unregister": return .uffdUnregister(uffd: uffd, ref)
        case "wp", "unwp":
            let flags = try trailingFlags(["dontwake"])
            return .uffdWriteProtect(uffd: uffd, ref, protect: command == "wp", dontwake: flags.contains("dontwake"))
        case "copy":
            try expectSymbol("=", "'=' and a token")
            let value = try expectTokenValue()
            let flags = try trailingFlags(["wp", "dontwake"])
            return .uffdCopy(uffd: uffd, ref, value, wp: flags.contains("wp"), dontwake: flags.contains("dontwake"))
        case "zeropage":
            let flags = try trailingFlags(["dontwake"])
            return .uffdZeropage(uffd: uffd, ref, dontwake: flags.contains("dontwake"))
        case "continue":
            let flags = try trailingFlags(["wp", "dontwake"])
            return .uffdContinue(uffd: uffd, ref, wp: flags.contains("wp"), dontwake: flags.contains("dontwake"))
        case "poison":
            let flags = try trailingFlags(["dontwake"])
            return .uffdPoison(uffd: uffd, ref, dontwake: flags.contains("dontwake"))
        default:  // "wake"
            return .uffdWake(uffd: uffd, ref)
        }
    }

    /// Optional flag words up to the end of the statement, each at most once, in any order;
    /// returned in the order written.
    private mutating func trailingFlags(_ allowed: [String]) throws(Diagnostic) -> [String] {
        var flags: [String] = []
        while !atEndOfStatement {
            let token = peek
            guard token.kind == .word, allowed.contains(token.text) else {
                throw unexpected("\(Self.alternatives(allowed + ["end of line"]))", token)
            }
            guard !flags.contains(token.text) else { throw secondOccurrence(token, of: "'\(token.text)'") }
            flags.append(advance().text)
        }
        return flags
    }

    // MARK: Expectations

    /// `expect pagemap|pagemap_scan|read|event|no event|ksm …`
    private mutating func parseExpect() throws(Diagnostic) -> StatementKind {
        let what = try expectWord(in: ["pagemap", "pagemap_scan", "read", "event", "no", "ksm", "memmap", "guest_memfd"],
                                  "something to expect")
        switch what {
        case "pagemap":
            let ref = try expectPageRef()
            if peek.isSymbol("=") {
                advance()
                return .expectPagemapWord(ref, try expectNumber("a pagemap word", " (a 64-bit number)"))
            }
            return .expectPagemapFields(ref, try parsePagemapFields())
        case "pagemap_scan":
            let ref = try expectPageRef()
            return .expectPagemapScan(ref, try parseScanCategories())
        case "read":
            let ref = try expectPageRef()
            try expectSymbol("==", "'==' and a token")
            return .expectRead(ref, try expectTokenValue())
        case "event":
            let uffd = try expectName("the name of a userfaultfd")
            return .expectEvent(uffd: uffd, try parseEventPattern())
        case "no":
            _ = try expectWord(in: ["event"], "what there is none of")
            return .expectNoEvent(uffd: try expectName("the name of a userfaultfd"))
        case "memmap":
            let name = try expectName("the name of a device-dax instance")
            _ = try expectWord(in: ["bytes"], "'bytes='")
            try expectSymbol("=", "'=' after 'bytes'")
            return .expectMemmap(name: name, bytes: try expectSize("a number of bytes"))
        case "guest_memfd":
            let ref = try expectPageRef()
            let attr = try expectWord(in: ["private", "shared"], "the pages' attribute")
            return .expectGuestMemfd(ref, private: attr == "private")
        default:  // "ksm"
            return .expectKSM(try parseKsmCounters())
        }
    }

    /// `pagefault REF [wp] [minor] [write]`, `fork`, `remove REF`, `unmap REF`, `remap`
    private mutating func parseEventPattern() throws(Diagnostic) -> EventPattern {
        switch try expectWord(in: ["pagefault", "fork", "remove", "unmap", "remap"], "an event") {
        case "pagefault":
            let ref = try expectPageRef()
            return .pagefault(ref, flags: try trailingFlags(ScenarioVocabulary.pagefaultFlags))
        case "fork": return .fork
        case "remove": return .remove(try expectPageRef())
        case "unmap": return .unmap(try expectPageRef())
        default: return .remap
        }
    }

    /// `f=v …` of `expect pagemap` (at least one).
    private mutating func parsePagemapFields() throws(Diagnostic) -> [PagemapField] {
        let names = ScenarioVocabulary.pagemapBits + ["frame"]
        var fields: [PagemapField] = []
        var seen: Set<String> = []
        repeat {
            let token = peek
            guard token.kind == .word, names.contains(token.text) else {
                let expected = fields.isEmpty
                    ? "'= WORD' or a pagemap field (\(Self.alternatives(names)))"
                    : "a pagemap field (\(Self.alternatives(names))) or end of line"
                throw unexpected(expected, token)
            }
            guard seen.insert(token.text).inserted else { throw secondOccurrence(token, of: "'\(token.text)'") }
            advance()
            try expectSymbol("=", "'=' after '\(token.text)'")
            if token.text == "frame" {
                fields.append(try parseFrame())
            } else {
                let valueToken = peek
                guard valueToken.kind == .number,
                      case .number(let value?, "") = NumberLiteral.parse(valueToken.text), value <= 1 else {
                    throw unexpected("0 or 1", valueToken)
                }
                advance()
                fields.append(.bit(name: token.text, value: value == 1))
            }
        } while !atEndOfStatement
        return fields
    }

    /// `same(REF)`, `new`, `zero` or `id(N)` after `frame=`.
    private mutating func parseFrame() throws(Diagnostic) -> PagemapField {
        switch try expectWord(in: ["same", "new", "zero", "id"], "a frame", listing: ["same(REF)", "new", "zero", "id(N)"]) {
        case "same":
            try expectSymbol("(", "'(' after 'same'")
            let ref = try expectPageRef()
            try expectSymbol(")")
            return .frameSame(ref)
        case "id":
            try expectSymbol("(", "'(' after 'id'")
            let n = try expectInt("a frame identity", " (the N of 'frame #N' in the output)")
            try expectSymbol(")")
            return .frameID(n)
        case "new": return .frameNew
        default: return .frameZero
        }
    }

    /// `category=RANGES …` of `expect pagemap_scan` (at least one).
    private mutating func parseScanCategories() throws(Diagnostic) -> [ScanCategoryExpectation] {
        try parseAssignments(ScenarioVocabulary.pagemapScanCategories, "a pagemap_scan category") { (p: inout Self) throws(Diagnostic) in
            var ranges: [ClosedRange<Int>] = []
            if p.peek.isWord("none") {
                p.advance()
            } else {
                repeat {
                    if !ranges.isEmpty { p.advance() }  // the ','
                    ranges.append(try p.expectPageRange(open: ranges.isEmpty).0)
                } while p.peek.isSymbol(",")
            }
            return ranges
        }.map { ScanCategoryExpectation(category: $0.0, ranges: $0.1) }
    }

    /// `name=N …` of `expect ksm` (at least one).
    private mutating func parseKsmCounters() throws(Diagnostic) -> [NamedValue] {
        try parseAssignments(ScenarioVocabulary.ksmCounters, "a ksm counter") { (p: inout Self) throws(Diagnostic) in
            try p.expectNumber("a number")
        }.map { NamedValue(name: $0.0, value: $0.1) }
    }

    /// `name=VALUE …` up to the end of the statement, each name from `names` at most once;
    /// `value` parses what follows the `=`.
    private mutating func parseAssignments<T>(_ names: [String], _ what: String,
                                              _ value: (inout Self) throws(Diagnostic) -> T) throws(Diagnostic) -> [(String, T)] {
        var result: [(String, T)] = []
        repeat {
            let token = peek
            guard token.kind == .word, names.contains(token.text) else {
                let suffix = result.isEmpty ? "" : " or end of line"
                throw unexpected("\(what) (\(Self.alternatives(names)))" + suffix, token)
            }
            guard !result.contains(where: { $0.0 == token.text }) else {
                throw secondOccurrence(token, of: "'\(token.text)'")
            }
            advance()
            try expectSymbol("=", "'=' after '\(token.text)'")
            result.append((token.text, try value(&self)))
        } while !atEndOfStatement
        return result
    }

    /// "expected X at most once, found a second 'X'".
    private func secondOccurrence(_ token: Token, of what: String) -> Diagnostic {
        Diagnostic(location(token), "expected \(what) at most once, found a second \(token.quoted)")
    }
}
