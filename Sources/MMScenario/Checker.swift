// SPDX-License-Identifier: Apache-2.0
//
// The static pass over a parsed scenario, before anything runs: names are declared before
// use and used for what they are, page references are in bounds, and statements the model
// does not implement yet are refused with their position (exit status 2).

import MMLab
import MMSyntax

/// What a name in a scenario denotes.
enum Symbol: Equatable {
    case file(pages: Int)
    case mapping(pages: Int)
    case process
    case uffd
    case thread
    case pin
}

/// The result of the static pass: the design and config the run uses.
public struct CheckedScenario: Sendable {
    public var design = Design()
    public var config = KernelConfig()
    public var wantsConsistencyCheck = false
    /// The `check` statements, in order (no_silent_write, no_lost_write, consistent).
    public var checks: [String] = []
}

/// Validates a scenario without running it.
struct Checker {
    var symbols: [String: Symbol] = ["main": .process]
    var declarationOrder: [String] = []
    var sawOperation = false
    var result = CheckedScenario()
    /// userfaultfds created with UFFD_FEATURE_EVENT_FORK: a fork names the child's copy.
    var forkingUffds: [String] = []
    /// Inside a thread body (blocks do not nest there yet).
    var inThread = false
    /// The device-dax instances, and the mappings of one (membership tests only): `poison`
    /// under MEMORY_FAILURE is modelled on device-dax memory only.
    var daxObjects: Set<String> = []
    var daxMappings: Set<String> = []

    static func check(_ scenario: Scenario) throws(Diagnostic) -> CheckedScenario {
        var c = Checker()
        try c.block(scenario.statements)
        return c.result
    }

    mutating func block(_ statements: [Statement]) throws(Diagnostic) {
        for s in statements { try statement(s) }
    }

    func notImplemented(_ s: Statement, _ what: String, issue: String) -> Diagnostic {
        Diagnostic(s.location, "\(what) is not implemented yet (planned: \(issue))")
    }

    mutating func declare(_ name: String, _ symbol: Symbol, at loc: SourceLocation) throws(Diagnostic) {
        if symbols[name] != nil {
            throw Diagnostic(loc, "expected a new name, found '\(name)', which is already declared")
        }
        symbols[name] = symbol
        declarationOrder.append(name)
    }

    func uffd(_ name: String, at loc: SourceLocation) throws(Diagnostic) {
        guard symbols[name] == .uffd else {
            throw Diagnostic(loc, "expected a userfaultfd, found '\(name)'" + (symbols[name].map { ", which is a \($0.kindName)" } ?? " (\(known()))"))
        }
    }

    func known() -> String {
        declarationOrder.isEmpty ? "none declared yet" : "declared: " + declarationOrder.joined(separator: ", ")
    }

    /// Resolves a page reference to a mapping (`wantFile: false`) or a file, checking bounds.
    func resolve(_ ref: PageRef, wantFile: Bool) throws(Diagnostic) -> Int {
        guard let sym = symbols[ref.name] else {
            throw Diagnostic(ref.location, "expected a declared \(wantFile ? "file" : "mapping"), found unknown name '\(ref.name)' (\(known()))")
        }
        let pages: Int
        switch (sym, wantFile) {
        case (.mapping(let p), false), (.file(let p), true): pages = p
        case (.file, false):
            throw Diagnostic(ref.location, "expected a mapping, found '\(ref.name)', which is a file (map it with mmap first)")
        case (.mapping, true):
            throw Diagnostic(ref.location, "expected a file (memfd), found '\(ref.name)', which is a mapping")
        default:
            throw Diagnostic(ref.location, "expected a \(wantFile ? "file" : "mapping"), found '\(ref.name)', which is a \(sym.kindName)")
        }
        if let first = ref.first, let last = ref.last, last >= pages {
            let bad = first >= pages ? first : last
            throw Diagnostic(ref.location, "expected a page of \(ref.name) (\(pages) pages: 0..\(max(pages - 1, 0))), found page \(bad) out of bounds")
        }
        return pages
    }

    mutating func statement(_ s: Statement) throws(Diagnostic) {
        if let o = s.outcome, case .errno(let e) = o, Errno(name: e) == nil {
            throw Diagnostic(s.outcomeLocation ?? s.location, "expected an errno the model knows, found '\(e)'")
        }
        switch s.kind {
        case .scenarioTitle:
            break
        case .design(let key, let value):
            if sawOperation { throw Diagnostic(s.location, "expected design switches before the first operation, found one after it") }
            guard result.design.set(key, value) else { throw Diagnostic(s.location, "unknown design switch \(key) = \(value)") }
            if !Design.isImplemented(key, value) { throw notImplemented(s, "design \(key) = \(value)", issue: "the design-variant work for its seed") }
        case .kconfig(let key, let enabled):
            if sawOperation { throw Diagnostic(s.location, "expected kconfig before the first operation, found it after") }
            guard result.config.set(key, enabled) else { throw Diagnostic(s.location, "unknown kconfig option \(key)") }
        case .swap:
            sawOperation = true
        case .memfd(let name, let bytes):
            sawOperation = true
            try declare(name, .file(pages: pagesOf(bytes)), at: s.location)
        case .mmap(let name, let backing, _, _, let bytes, let offset, _):
            sawOperation = true
            var pages: Int
            switch backing {
            case .anon:
                guard let bytes else { throw Diagnostic(s.location, "expected a size for an anonymous mapping, found none") }
                pages = pagesOf(bytes)
            case .object(let obj):
                guard let sym = symbols[obj] else {
                    throw Diagnostic(s.location, "expected a declared file to map, found unknown name '\(obj)' (\(known()))")
                }
                guard case .file(let filePages) = sym else {
                    throw Diagnostic(s.location, "expected a file to map, found '\(obj)', which is a \(sym.kindName)")
                }
                let off = Int(clamping: (offset ?? 0) / 4096)
                pages = bytes.map(pagesOf) ?? max(filePages - off, 0)
            }
            try declare(name, .mapping(pages: pages), at: s.location)
            if case .object(let obj) = backing, daxObjects.contains(obj) { daxMappings.insert(name) }
        case .guestMemfd(let name, let bytes, _, let huge):
            sawOperation = true
            if let huge {
                if huge != 2 << 20 { throw Diagnostic(s.location, "expected huge=2M, found huge=\(huge) bytes") }
                throw notImplemented(s, "guest_memfd … huge=2M (2 MiB folios under guest_memfd.conversion = in_place, "
                                     + "split by a partial conversion)", issue: "issue 13's huge-folio part; the model has order-0 folios only")
            }
            try declare(name, .file(pages: pagesOf(bytes)), at: s.location)
        case .dax(let name, let bytes, _):
            sawOperation = true
            try declare(name, .file(pages: pagesOf(bytes)), at: s.location)
            daxObjects.insert(name)
        case .read(let r), .munmap(let r), .pagemap(let r), .expectRead(let r, _):
            sawOperation = true
            _ = try resolve(r, wantFile: false)
        case .write(let r, _), .mprotect(let r, _):
            sawOperation = true
            _ = try resolve(r, wantFile: false)
        case .madvise(let r, let advice):
            sawOperation = true
            _ = try resolve(r, wantFile: false)
            guard let a = Advice(rawValue: advice) else { throw Diagnostic(s.location, "unknown advice '\(advice)'") }
            if !a.isImplemented {
                throw notImplemented(s, "madvise \(advice)", issue: "a later issue")
            }
        case .punch(let r), .pread(let r), .pwrite(let r, _), .convert(let r, _):
            sawOperation = true
            _ = try resolve(r, wantFile: true)
        case .fork(let child):
            sawOperation = true
            try declare(child, .process, at: s.location)
            for u in forkingUffds where symbols["\(u)_\(child)"] == nil {
                symbols["\(u)_\(child)"] = .uffd   // the child's userfaultfd, read from the FORK event
                declarationOrder.append("\(u)_\(child)")
            }
        case .when(_, _, let body):
            // The body runs under some designs only, so it may neither declare a name nor
            // open a block: every name must exist whatever the design.
            for b in body {
                switch b.kind {
                case .memfd, .mmap, .guestMemfd, .dax, .fork, .uffdCreate, .pin:
                    throw Diagnostic(b.location, "expected no declaration inside 'when' (a name must exist under every "
                                     + "design), found '\(b.text.split(separator: " ").first ?? "")'")
                case .thread, .inProcess, .when, .join:
                    throw Diagnostic(b.location, "expected a statement without a block inside 'when', found "
                                     + "'\(b.text.split(separator: " ").first ?? "")'")
                case .design, .kconfig, .scenarioTitle:
                    throw Diagnostic(b.location, "expected an operation or an expectation inside 'when', found "
                                     + "'\(b.text.split(separator: " ").first ?? "")'")
                default: break
                }
            }
            try block(body)
        case .inProcess(let name, let body):
            if inThread { throw notImplemented(s, "a block inside a thread", issue: "a later issue") }
            guard let sym = symbols[name] else {
                throw Diagnostic(s.location, "expected a process (main or a forked child), found unknown name '\(name)' (\(known()))")
            }
            guard sym == .process else {
                throw Diagnostic(s.location, "expected a process, found '\(name)', which is a \(sym.kindName)")
            }
            try block(body)
        case .clearRefs, .exitProcess:
            sawOperation = true
        case .ksmRun, .ksmScan, .ksmUseZeroPages, .ksmMaxPageSharing, .prctlMemoryMerge:
            sawOperation = true
        case .expectMemmap(let name, _):
            guard daxObjects.contains(name) else {
                throw Diagnostic(s.location, "expected a device-dax instance, found '\(name)'"
                                 + (symbols[name].map { ", which is a \($0.kindName)" } ?? " (\(known()))"))
            }
        case .expectGuestMemfd(let r, _):
            _ = try resolve(r, wantFile: true)
        case .expectKSM:
            break
        case .poison(let r):
            sawOperation = true
            _ = try resolve(r, wantFile: false)
            // Without MEMORY_FAILURE, MADV_HWPOISON is EINVAL for any memory; with it, the
            // model has memory_failure() for device-dax (ZONE_DEVICE) pages only.
            if result.config.memoryFailure && !daxMappings.contains(r.name) {
                throw notImplemented(s, "poison of RAM pages (memory_failure() on anon/page-cache folios)", issue: "a later issue")
            }
        case .pin(let name, let r, let exclusive):
            sawOperation = true
            _ = try resolve(r, wantFile: false)
            if exclusive && result.design.gupExclusive == .off {
                throw Diagnostic(s.location, "expected design gup.exclusive = on for 'pin … exclusive' (FOLL_EXCLUSIVE, "
                                 + "the 2024 RFC that was not merged), found gup.exclusive = off (Linux 6.18)")
            }
            try declare(name, .pin, at: s.location)
        case .unpin(let name):
            sawOperation = true
            guard let sym = symbols[name] else {
                throw Diagnostic(s.location, "expected a pin, found unknown name '\(name)' (\(known()))")
            }
            guard sym == .pin else {
                throw Diagnostic(s.location, "expected a pin, found '\(name)', which is a \(sym.kindName)")
            }
        case .uffdCreate(let name, let features):
            sawOperation = true
            try declare(name, .uffd, at: s.location)
            if features.contains("event_fork") { forkingUffds.append(name) }
        case .uffdRegister(let u, let r, _), .uffdUnregister(let u, let r), .uffdWriteProtect(let u, let r, _, _),
             .uffdCopy(let u, let r, _, _, _), .uffdZeropage(let u, let r, _), .uffdContinue(let u, let r, _, _),
             .uffdPoison(let u, let r, _), .uffdWake(let u, let r):
            sawOperation = true
            try uffd(u, at: s.location)
            _ = try resolve(r, wantFile: false)
        case .expectEvent(let u, let pattern):
            try uffd(u, at: s.location)
            switch pattern {
            case .pagefault(let r, _):
                _ = try resolve(r, wantFile: false)
                if r.first == nil || r.first != r.last {
                    throw Diagnostic(r.location, "expected one page (a page fault is reported for one address), found \(r)")
                }
            case .remove(let r), .unmap(let r):
                _ = try resolve(r, wantFile: false)
            case .fork, .remap:
                break
            }
        case .expectNoEvent(let u):
            try uffd(u, at: s.location)
        case .thread(let name, let body):
            if inThread { throw notImplemented(s, "a thread inside a thread", issue: "a later issue") }
            try declare(name, .thread, at: s.location)
            inThread = true
            try block(body)
            inThread = false
        case .join(let name):
            guard symbols[name] == .thread else {
                throw Diagnostic(s.location, "expected a thread to join, found '\(name)'" + (symbols[name].map { ", which is a \($0.kindName)" } ?? " (\(known()))"))
            }
        case .pagemapScan(let r, _):
            sawOperation = true
            _ = try resolve(r, wantFile: false)
        case .expectPagemapScan(let r, let cats):
            let pages = try resolve(r, wantFile: false)
            for c in cats {
                for range in c.ranges where range.upperBound >= pages {
                    throw Diagnostic(s.location, "expected pages of \(r.name) (0..\(max(pages - 1, 0))) in \(c.category)=, found \(range.upperBound)")
                }
            }
        case .expectPagemapWord(let r, _):
            _ = try resolve(r, wantFile: false)
        case .expectPagemapFields(let r, let fields):
            _ = try resolve(r, wantFile: false)
            for f in fields { if case .frameSame(let other) = f { _ = try resolve(other, wantFile: false) } }
        case .check(let name):
            if name == "consistent" { result.wantsConsistencyCheck = true }
            if !result.checks.contains(name) { result.checks.append(name) }
        }
    }
}

/// The pages `bytes` cover (rounded up), for any 64-bit size.
func pagesOf(_ bytes: UInt64) -> Int {
    Int(clamping: bytes / 4096 + (bytes % 4096 == 0 ? 0 : 1))
}

extension Symbol {
    var kindName: String {
        switch self {
        case .file: "file"
        case .mapping: "mapping"
        case .process: "process"
        case .uffd: "userfaultfd"
        case .thread: "thread"
        case .pin: "pin"
        }
    }
}
