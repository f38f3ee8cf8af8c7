// SPDX-License-Identifier: Apache-2.0
//
// The abstract syntax of a `.mms` scenario (language version 0 plus documented extensions).
// Every node carries the source position of its first character so that the runner can
// report errors and failed expectations as file:line:column.

/// A position in a scenario file (1-based line and column).
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// `A`, `A[3]`, `A[0..15]`: a named mapping or file, optionally restricted to pages.
public struct PageRef: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// First and last page, inclusive; nil means "all of it".
    public var first: Int?
    public var last: Int?
    public var location: SourceLocation
    public init(name: String, first: Int? = nil, last: Int? = nil, location: SourceLocation) {
        self.name = name
        self.first = first
        self.last = last
        self.location = location
    }
    public var description: String {
        guard let first, let last else { return name }
        return first == last ? "\(name)[\(first)]" : "\(name)[\(first)..\(last)]"
    }
}

/// A content token to store or to expect: `0x11` for every page, or `seq(0x100)` for 0x100+i.
public enum TokenValue: Hashable, Sendable, CustomStringConvertible {
    case literal(UInt64)
    case seq(UInt64)
    /// The token for the i-th page of a range.
    public func token(at i: Int) -> UInt64 {
        switch self {
        case .literal(let v): return v
        case .seq(let base): return base &+ UInt64(i)
        }
    }
    public var description: String {
        switch self {
        case .literal(let v): return "0x" + String(v, radix: 16)
        case .seq(let b): return "seq(0x" + String(b, radix: 16) + ")"
        }
    }
}

/// `-> EINVAL` or `-> SIGBUS` after an operation: how it must fail.
public enum Outcome: Hashable, Sendable, CustomStringConvertible {
    case errno(String)   // e.g. "EINVAL"
    case signal(String)  // e.g. "SIGBUS"
    public var description: String {
        switch self {
        case .errno(let e): return e
        case .signal(let s): return s
        }
    }
}

/// Page protection in `mmap` / `mprotect`: `r`, `rw` or `none`.
public enum Protection: String, Hashable, Sendable {
    case none, r, rw
}

/// What an `mmap` maps.
public enum MmapBacking: Hashable, Sendable {
    case anon
    case object(String)   // a memfd, guest_memfd or dax instance by name
}

/// A field of `expect pagemap … field=value`.
public enum PagemapField: Hashable, Sendable {
    case bit(name: String, value: Bool)   // present swap uffd_wp file exclusive soft_dirty guard
    case frameSame(PageRef)               // frame=same(B[0])
    case frameNew                         // frame=new
    case frameZero                        // frame=zero (the shared zero page; extension)
    case frameID(Int)                     // frame=id(3): the frame printed as "frame #3" (or "slot #3"; extension)
}

/// What `expect event U …` matches.
public enum EventPattern: Hashable, Sendable {
    case pagefault(PageRef, flags: [String])   // wp | minor | write
    case fork
    case remove(PageRef)
    case unmap(PageRef)
    case remap
}

/// One category of `expect pagemap_scan`: `written=0..3,8` (page indices relative to the
/// scanned reference's mapping), or `written=none`.
public struct ScanCategoryExpectation: Hashable, Sendable {
    public var category: String
    /// Inclusive page-index ranges, in the order written.
    public var ranges: [ClosedRange<Int>]
    public init(category: String, ranges: [ClosedRange<Int>]) {
        self.category = category
        self.ranges = ranges
    }
}

/// `pages_shared=16` in `expect ksm`.
public struct NamedValue: Hashable, Sendable {
    public var name: String
    public var value: UInt64
    public init(name: String, value: UInt64) {
        self.name = name
        self.value = value
    }
}

/// One statement of a scenario.
public indirect enum StatementKind: Hashable, Sendable {
    // Set-up
    case scenarioTitle(String)
    case design(key: String, value: String)
    case kconfig(key: String, enabled: Bool)                 // kconfig MEM_SOFT_DIRTY = y (extension)
    case swap(bytes: UInt64)
    case memfd(name: String, bytes: UInt64)
    case mmap(name: String, backing: MmapBacking, shared: Bool, prot: Protection,
              bytes: UInt64?, offset: UInt64?, align: UInt64?)
    case guestMemfd(name: String, bytes: UInt64, flags: [String], huge: UInt64? = nil)
    case dax(name: String, bytes: UInt64, align: UInt64)

    // Operations
    case read(PageRef)
    case write(PageRef, TokenValue)
    case munmap(PageRef)
    case mprotect(PageRef, Protection)
    case madvise(PageRef, advice: String)
    case punch(PageRef)
    /// `pread F[3]`: pread(2) of the first 8 bytes of each page of a file (extension).
    case pread(PageRef)
    /// `pwrite F[3] = 0x5`, `pwrite F[0..3] = seq(0x10)`: pwrite(2) of each page of a file,
    /// filled with its token, one page per call in page order (extension).
    case pwrite(PageRef, TokenValue)
    case fork(child: String)
    /// `exit`: the current process exits (extension; `in child { exit }`).
    case exitProcess
    case inProcess(name: String, body: [Statement])
    /// `when design KEY = V1[,V2…] { … }` (extension): the body runs only when the scenario's
    /// design has one of these values for the switch.
    case when(key: String, values: [String], body: [Statement])
    case clearRefs(Int)
    /// `pin NAME REF [exclusive]`: a long-term GUP pin (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)
    /// of the pages, named NAME; `exclusive` is FOLL_EXCLUSIVE (design gup.exclusive = on).
    case pin(name: String, PageRef, exclusive: Bool)
    /// `unpin NAME`: releases the pin.
    case unpin(name: String)
    /// `convert G[range] private|shared`: the guest_memfd conversion ioctl.
    case convert(PageRef, toPrivate: Bool)
    /// `expect memmap D bytes=SIZE`: the struct page bytes of device-dax D under the design.
    case expectMemmap(name: String, bytes: UInt64)
    /// `expect guest_memfd G[range] private|shared`: the pages' conversion attributes.
    case expectGuestMemfd(PageRef, private: Bool)
    case ksmRun
    case ksmScan(Int)
    /// `ksm use_zero_pages on|off`: /sys/kernel/mm/ksm/use_zero_pages (an mmlab extension).
    case ksmUseZeroPages(Bool)
    /// `ksm max_page_sharing N`: /sys/kernel/mm/ksm/max_page_sharing (an mmlab extension).
    case ksmMaxPageSharing(Int)
    /// `prctl memory_merge on|off`: prctl(PR_SET_MEMORY_MERGE, 1|0) (an mmlab extension).
    case prctlMemoryMerge(Bool)
    case poison(PageRef)

    // userfaultfd
    case uffdCreate(name: String, features: [String])
    case uffdRegister(uffd: String, PageRef, modes: [String])
    case uffdUnregister(uffd: String, PageRef)
    case uffdWriteProtect(uffd: String, PageRef, protect: Bool, dontwake: Bool)
    case uffdCopy(uffd: String, PageRef, TokenValue, wp: Bool, dontwake: Bool)
    case uffdZeropage(uffd: String, PageRef, dontwake: Bool)
    case uffdContinue(uffd: String, PageRef, wp: Bool, dontwake: Bool)
    case uffdPoison(uffd: String, PageRef, dontwake: Bool)
    case uffdWake(uffd: String, PageRef)

    // Threads
    case thread(name: String, body: [Statement])
    case join(name: String)

    // Observations and expectations
    case pagemap(PageRef)
    /// `pagemap_scan REF [wp_matching] [check_wpasync]` (the flags are an extension).
    case pagemapScan(PageRef, flags: [String])
    case expectPagemapWord(PageRef, UInt64)
    case expectPagemapFields(PageRef, [PagemapField])
    case expectRead(PageRef, TokenValue)
    case expectEvent(uffd: String, EventPattern)
    case expectNoEvent(uffd: String)
    case expectKSM([NamedValue])
    case expectPagemapScan(PageRef, [ScanCategoryExpectation])
    case check(String)
}

/// A statement with its position, its source text and its stated outcome (`-> EINVAL`).
public struct Statement: Hashable, Sendable {
    public var kind: StatementKind
    public var location: SourceLocation
    /// The statement's text as written (trimmed, without comment), for reports.
    public var text: String
    public var outcome: Outcome?
    /// Where the outcome was written, for error messages.
    public var outcomeLocation: SourceLocation?
    public init(kind: StatementKind, location: SourceLocation, text: String,
                outcome: Outcome? = nil, outcomeLocation: SourceLocation? = nil) {
        self.kind = kind
        self.location = location
        self.text = text
        self.outcome = outcome
        self.outcomeLocation = outcomeLocation
    }
}

/// A parsed scenario file.
public struct Scenario: Sendable {
    public var file: String
    public var title: String?
    public var statements: [Statement]
    public init(file: String, title: String?, statements: [Statement]) {
        self.file = file
        self.title = title
        self.statements = statements
    }
}

/// An error in a scenario, for people: where, what was expected, what was found.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }
    public var description: String { "\(location): error: \(message)" }
}
