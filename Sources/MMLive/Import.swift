// SPDX-License-Identifier: Apache-2.0
//
// `mmlab import PID`: a scenario that recreates a running process's memory layout in the
// model, from /proc/PID/maps, /proc/PID/pagemap and /proc/kpageflags (as root). Each VMA becomes
// an `mmap` of its kind (a file is stood in for by a memfd, named in a comment), each present
// page a write of a token derived from its frame (so pages that share a frame share a token,
// and KSM pages are merged again by a KSM scan), each swapped page a write and a pageout.
// The generated expectations state what the import saw; `mmlab run` of the scenario meets them.

import Foundation
import MMLab
import MMScenario

/// One line of /proc/PID/maps (fs/proc/task_mmu.c show_map_vma()).
public struct MapsEntry: Hashable, Sendable {
    public var start: UInt64
    public var end: UInt64
    /// "rw-p", "r--s", …
    public var perms: String
    public var offset: UInt64
    public var device: String
    public var inode: UInt64
    /// The path or pseudo-name ("[heap]", "/memfd:x (deleted)"), "" for anonymous memory.
    public var path: String

    public init(start: UInt64, end: UInt64, perms: String, offset: UInt64, device: String, inode: UInt64, path: String) {
        self.start = start
        self.end = end
        self.perms = perms
        self.offset = offset
        self.device = device
        self.inode = inode
        self.path = path
    }

    /// Parses one line; nil when it is not one.
    public static func parse(_ line: Substring) -> MapsEntry? {
        let f = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
        guard f.count >= 5 else { return nil }
        let range = f[0].split(separator: "-")
        guard range.count == 2, let s = UInt64(range[0], radix: 16), let e = UInt64(range[1], radix: 16), s < e,
              f[1].count == 4, let off = UInt64(f[2], radix: 16), let ino = UInt64(f[4]) else { return nil }
        let path = f.count > 5 ? f[5].trimmingCharacters(in: .whitespaces) : ""
        return MapsEntry(start: s, end: e, perms: String(f[1]), offset: off, device: String(f[3]), inode: ino, path: path)
    }

    var isShared: Bool { perms.hasSuffix("s") }
    var pages: Int { Int((end - start) / 4096) }

    /// What the VMA is, as the scenario maps it.
    var kind: ImportKind {
        if ["[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", "[uprobes]"].contains(path) { return .special }
        if path.isEmpty || path == "[heap]" || path.hasPrefix("[stack") || path.hasPrefix("[anon:") {
            return isShared ? .sharedAnon : .anon
        }
        if path.hasPrefix("/dev/zero") || path.hasPrefix("/SYSV") || path.hasPrefix("[anon_shmem:") {
            return isShared ? .sharedAnon : .anon
        }
        if path.hasPrefix("/memfd:") || path.hasPrefix("/dev/shm/") { return .shmem }
        if path.hasPrefix("[") { return .special }
        return .file
    }
}

/// The kinds of VMA an import tells apart.
enum ImportKind {
    /// Private anonymous memory (also [heap], [stack]).
    case anon
    /// MAP_SHARED anonymous memory (shmem without a name: /dev/zero, SysV).
    case sharedAnon
    /// A memfd or a /dev/shm file: shmem, stood in for by a memfd.
    case shmem
    /// A regular file, stood in for by a memfd.
    case file
    /// [vdso], [vvar], [vsyscall]: left out.
    case special
}

/// Options of `mmlab import`.
public struct ImportOptions: Sendable {
    /// Only the VMAs (clipped) inside [start, end).
    public var range: (start: UInt64, end: UInt64)?
    /// At most this many present or swapped pages get statements; the rest are left out, said so.
    public var maxPages = 4096
    /// "anon" (private anonymous memory), "shmem" (memfd, /dev/shm, shared anonymous), or nil.
    public var only: String?
    public init(range: (start: UInt64, end: UInt64)? = nil, maxPages: Int = 4096, only: String? = nil) {
        self.range = range
        self.maxPages = maxPages
        self.only = only
    }
}

/// What an import reads, however it was read (the process's files, or a test's values).
public struct ImportInput: Sendable {
    public var pid: Int32
    public var command: String
    public var maps: [MapsEntry]
    /// The pagemap words of `count` pages from `address`.
    public var pagemap: @Sendable (_ address: UInt64, _ count: Int) -> [UInt64]
    /// The /proc/kpageflags word of a PFN (0 when unknown).
    public var kpageflags: @Sendable (_ pfn: UInt64) -> UInt64
    /// The PFN of the zero page, when known.
    public var zeroPFN: UInt64?
    /// Whether PFNs are shown (root): without them frames cannot be told apart.
    public var showsPFNs: Bool

    public init(pid: Int32, command: String, maps: [MapsEntry], pagemap: @escaping @Sendable (UInt64, Int) -> [UInt64],
                kpageflags: @escaping @Sendable (UInt64) -> UInt64, zeroPFN: UInt64?, showsPFNs: Bool) {
        self.pid = pid
        self.command = command
        self.maps = maps
        self.pagemap = pagemap
        self.kpageflags = kpageflags
        self.zeroPFN = zeroPFN
        self.showsPFNs = showsPFNs
    }
}

public enum ProcessImport {
    static let present: UInt64 = 1 << 63, swap: UInt64 = 1 << 62, file: UInt64 = 1 << 61
    static let exclusive: UInt64 = 1 << 56, uffdWP: UInt64 = 1 << 57, softDirty: UInt64 = 1 << 55, pfnMask: UInt64 = (1 << 55) - 1
    /// KPF_KSM and KPF_THP (include/uapi/linux/kernel-page-flags.h).
    static let kpfKSM: UInt64 = 1 << 21, kpfTHP: UInt64 = 1 << 22
    /// Pages of one VMA whose pagemap words are read (4 GiB of address space, 8 MiB of words).
    static let maxScannedPages = 1 << 20
    /// Swap types below MAX_SWAPFILES are swap devices; above, markers and migration entries
    /// (the model's value, this kernel's configuration).
    static let maxSwapfiles = UInt64(SwapEntry.maxSwapfiles)

    /// One page the scenario gives content.
    struct Page {
        var index: Int
        var token: UInt64
        /// written: a store of the token; zero: a read that maps the zero page; fileRead: a read
        /// of a page-cache page (the memfd written first); mapped: a read of a frame another
        /// mapping of the same file gave its token; swapped: a store, then a pageout.
        enum State { case written, zero, fileRead, mapped, swapped }
        var state: State
        var ksm = false
    }

    /// One VMA as the scenario maps it.
    struct Mapping {
        var name: String
        var entry: MapsEntry
        var start: UInt64, end: UInt64
        var kind: ImportKind
        /// The memfd standing in for its file, with the offset of `start` in it.
        var object: String?
        var objectOffset: UInt64 = 0
        var pages: [Page] = []
        var marks: [String] = []
    }

    /// The scenario's text and the notes for people (what was left out).
    public static func scenario(_ input: ImportInput, options: ImportOptions = ImportOptions()) -> (text: String, notes: [String]) {
        var notes: [String] = []
        var header: [String] = []
        var mappings: [Mapping] = []
        var objects: [(name: String, key: String, pages: UInt64, what: String)] = []
        var skipped: [String] = []
        for e in input.maps {
            var start = e.start, end = e.end
            if let r = options.range {
                start = max(start, r.start & ~4095)
                end = min(end, (r.end + 4095) & ~4095)
                if start >= end { continue }
            }
            let kind = e.kind
            if kind == .special { skipped.append("\(e.path) (\(hex(e.start))-\(hex(e.end)))"); continue }
            if let only = options.only {
                if only == "anon" && kind != .anon { continue }
                if only == "shmem" && kind != .shmem && kind != .sharedAnon { continue }
            }
            var m = Mapping(name: "M\(mappings.count)", entry: e, start: start, end: end, kind: kind)
            if kind == .shmem || kind == .file || (kind == .sharedAnon && e.inode != 0 && !e.path.hasPrefix("/dev/zero")) {
                let key = "\(e.device):\(e.inode):\(e.path)"
                let endPage = (e.offset + (end - e.start)) / 4096
                if let i = objects.firstIndex(where: { $0.key == key }) {
                    objects[i].pages = max(objects[i].pages, endPage)
                    m.object = objects[i].name
                } else {
                    let what = kind == .file ? "a memfd stands in for the file \(e.path)" : "shmem \(e.path)"
                    objects.append(("F\(objects.count)", key, endPage, what))
                    m.object = objects.last!.name
                }
                m.objectOffset = e.offset + (start - e.start)
            }
            mappings.append(m)
        }

        // Pages, in address order: tokens by frame (or swap slot) in order of first sight.
        var frameToken: [UInt64: UInt64] = [:], slotToken: [UInt64: UInt64] = [:]
        var frameFirst: [UInt64: String] = [:]
        var sameFrame: [(String, String)] = []
        var budget = options.maxPages, leftOut = 0
        var thp: [String] = []
        var ksmSingles = 0
        var ksmFrames: [UInt64: Int] = [:]
        for i in mappings.indices {
            let m = mappings[i]
            let n = Int((m.end - m.start) / 4096)
            if n > maxScannedPages {
                notes.append("\(m.name): only the first \(maxScannedPages) of its \(n) pages were read (a larger VMA is mapped, empty beyond)")
            }
            let words = input.pagemap(m.start, min(n, maxScannedPages))
            var wp: [Int] = [], sd: [Int] = [], thpPages: [Int] = [], sharedAnon: [Int] = []
            for (p, w) in words.enumerated() {
                guard w & (present | swap) != 0 else { continue }
                if w & present == 0 && (w & 0x1f) >= maxSwapfiles {
                    mappings[i].marks.append("\(m.name)[\(p)]: a marker or migration entry (swap type \(w & 0x1f)), not imported")
                    continue
                }
                if budget == 0 { leftOut += 1; continue }
                budget -= 1
                if w & uffdWP != 0 { wp.append(p) }
                if w & softDirty != 0 { sd.append(p) }
                let ref = "\(m.name)[\(p)]"
                if w & present != 0 {
                    let pfn = w & pfnMask
                    if input.showsPFNs && pfn != 0 && pfn == input.zeroPFN {
                        mappings[i].pages.append(Page(index: p, token: 0, state: .zero))
                        continue
                    }
                    let flags = input.showsPFNs && pfn != 0 ? input.kpageflags(pfn) : 0
                    if flags & kpfTHP != 0 { thpPages.append(p) }
                    let key = input.showsPFNs && pfn != 0 ? pfn : (1 << 56) | (m.start / 4096 + UInt64(p))
                    let seenBefore = frameToken[key] != nil
                    if seenBefore {
                        sameFrame.append((ref, frameFirst[key]!))
                    } else {
                        frameToken[key] = 0x10000 + UInt64(frameToken.count)
                        frameFirst[key] = ref
                    }
                    let isKSM = flags & kpfKSM != 0
                    if isKSM { ksmFrames[key, default: 0] += 1 }
                    // A page-cache page of a private file mapping is read (its content written into
                    // the memfd first); any other page, a shared mapping's too, is written.
                    let isFilePage = w & file != 0 && !m.entry.isShared && (m.kind == .file || m.kind == .shmem)
                    let state: Page.State = isFilePage ? .fileRead : (seenBefore && m.entry.isShared ? .mapped : .written)
                    mappings[i].pages.append(Page(index: p, token: frameToken[key]!, state: state, ksm: isKSM))
                    if m.kind == .anon && !isKSM && w & exclusive == 0 { sharedAnon.append(p) }
                } else {
                    let slot = w & pfnMask
                    let key = input.showsPFNs ? slot : (1 << 56) | (m.start / 4096 + UInt64(p))
                    if slotToken[key] == nil { slotToken[key] = 0x80000 + UInt64(slotToken.count) }
                    mappings[i].pages.append(Page(index: p, token: slotToken[key]!, state: .swapped))
                }
            }
            if !sharedAnon.isEmpty {
                mappings[i].marks.append("\(m.name)\(ranges(sharedAnon)): not exclusive on the kernel (shared with another process, as after fork): imported as this process's own")
            }
            if !wp.isEmpty { mappings[i].marks.append("\(m.name)\(ranges(wp)): uffd-wp set on the kernel (not registered here)") }
            if !sd.isEmpty { mappings[i].marks.append("\(m.name)\(ranges(sd)): soft-dirty on the kernel") }
            if !thpPages.isEmpty {
                thp.append("\(m.name)\(ranges(thpPages))")
                mappings[i].marks.append("\(m.name)\(ranges(thpPages)): transparent huge pages on the kernel, imported as 4 KiB pages")
            }
        }
        ksmSingles = ksmFrames.values.filter { $0 == 1 }.count
        if leftOut > 0 {
            notes.append("\(leftOut) present or swapped pages left out (--max-pages \(options.maxPages)); their mappings are kept, empty")
        }
        if !skipped.isEmpty { notes.append("left out: \(skipped.joined(separator: ", ")) (no scenario statement maps them)") }
        if !input.showsPFNs { notes.append("PFNs are hidden (not root): frames cannot be told apart, so no sharing is imported") }
        if ksmSingles > 0 { notes.append("\(ksmSingles) KSM pages mapped once in this process are written as ordinary pages (their other sharers are elsewhere)") }

        // The text.
        var out: [String] = []
        header.append("# Imported by `mmlab import \(input.pid)` from /proc/\(input.pid)/maps, pagemap and /proc/kpageflags")
        header.append("# (\(input.command)). Addresses are the model's own; each mapping names its original range.")
        header.append("# Tokens stand for frames: 0x1xxxx a present frame, 0x8xxxx a swap slot (the same frame, the same token).")
        for n in notes { header.append("# note: \(n)") }
        out += header
        out.append("scenario \"\(quote("import of pid \(input.pid) (\(input.command))"))\"")
        let swapped = mappings.reduce(0) { $0 + $1.pages.filter { $0.state == .swapped }.count }
        if swapped > 0 { out.append("swap \(max(16, (swapped * 2 + 255) / 256))M") }
        for o in objects { out.append("memfd \(o.name) \(max(o.pages, 1))p".padded(40) + "# \(o.what)") }
        for m in mappings {
            let kindWord: String
            switch m.kind {
            case .anon: kindWord = "anon private"
            case .sharedAnon: kindWord = m.object.map { "\($0) shared" } ?? "anon shared"
            case .shmem, .file: kindWord = "\(m.object!) \(m.entry.isShared ? "shared" : "private")"
            case .special: continue
            }
            let pages = Int((m.end - m.start) / 4096)
            var line = "mmap \(m.name) \(kindWord) \(mapProt(m)) \(pages)p"
            if m.object != nil && m.objectOffset > 0 { line += " offset=\(m.objectOffset / 4096)p" }
            let what = m.entry.path.isEmpty ? "anonymous" : m.entry.path
            out.append(line.padded(48) + "# \(hex(m.start))-\(hex(m.end)) \(m.entry.perms) \(what)")
            for mark in m.marks { out.append("# \(mark)") }
        }
        // Page-cache content of the files that private mappings read.
        for m in mappings {
            guard let obj = m.object, !m.entry.isShared else { continue }
            for r in runs(m.pages.filter { $0.state == .fileRead }) {
                let first = Int(m.objectOffset / 4096) + r.first
                out.append("pwrite \(obj)\(rangeText(first, first + r.count - 1)) = \(r.tokenText)")
            }
        }
        for m in mappings {
            for r in runs(m.pages.filter { $0.state == .written || $0.state == .swapped }) {
                out.append("write \(m.name)\(rangeText(r.first, r.first + r.count - 1)) = \(r.tokenText)")
            }
            for r in runs(m.pages.filter { $0.state == .zero || $0.state == .fileRead || $0.state == .mapped }) {
                out.append("read \(m.name)\(rangeText(r.first, r.first + r.count - 1))")
            }
        }
        // KSM: the pages KSM shared on the kernel carry the same token; a KSM scan merges them.
        let mergeable = mappings.filter { $0.pages.contains { $0.ksm } && $0.kind == .anon }
        if !mergeable.isEmpty {
            for m in mergeable { out.append("madvise \(m.name) mergeable") }
            out.append("ksm run")
            out.append("ksm scan 2")
        }
        for m in mappings {
            for r in runs(m.pages.filter { $0.state == .swapped }, sameToken: false) {
                out.append("madvise \(m.name)\(rangeText(r.first, r.first + r.count - 1)) pageout")
            }
        }
        // What the import saw, as expectations: contents first (reads map nothing new: every
        // page read is present), then the pagemap bits, then the protection back.
        var expects: [String] = []
        for m in mappings {
            for r in runs(m.pages.filter { $0.state != .swapped }) {
                expects.append("expect read \(m.name)\(rangeText(r.first, r.first + r.count - 1)) == \(r.tokenText)")
            }
        }
        for m in mappings {
            for r in runs(m.pages.filter { $0.state != .swapped }, sameToken: false) {
                expects.append("expect pagemap \(m.name)\(rangeText(r.first, r.first + r.count - 1)) present=1")
            }
            for r in runs(m.pages.filter { $0.state == .zero }, sameToken: false) {
                expects.append("expect pagemap \(m.name)\(rangeText(r.first, r.first + r.count - 1)) frame=zero")
            }
            for r in runs(m.pages.filter { $0.state == .swapped }, sameToken: false) {
                expects.append("expect pagemap \(m.name)\(rangeText(r.first, r.first + r.count - 1)) present=0 swap=1")
            }
        }
        // Frames the process maps more than once (KSM, two mappings of one shmem file).
        for (a, b) in sameFrame where !isSwappedRef(a, mappings) && !isSwappedRef(b, mappings) {
            expects.append("expect pagemap \(a) frame=same(\(b))")
        }
        out += expects
        for m in mappings where mapProt(m) != prot(m.entry) {
            out.append("mprotect \(m.name) \(prot(m.entry))")
        }
        return (out.joined(separator: "\n") + "\n", notes)
    }

    /// The protection a mapping is made with: rw when pages are written into it, readable when
    /// pages are read, else its own; `mprotect` gives it its own at the end.
    static func mapProt(_ m: Mapping) -> String {
        if m.pages.contains(where: { $0.state == .written || $0.state == .swapped }) { return "rw" }
        if !m.pages.isEmpty && prot(m.entry) == "none" { return "r" }
        return prot(m.entry)
    }

    static func isSwappedRef(_ ref: String, _ ms: [Mapping]) -> Bool {
        guard let (m, p) = splitRef(ref), let mm = ms.first(where: { $0.name == m }) else { return false }
        return mm.pages.first { $0.index == p }?.state == .swapped
    }

    static func splitRef(_ ref: String) -> (String, Int)? {
        guard let open = ref.firstIndex(of: "["), let n = Int(ref[ref.index(after: open)...].dropLast()) else { return nil }
        return (String(ref[..<open]), n)
    }

    /// `r`, `rw` or `none`, from the maps permissions (exec is not modelled).
    static func prot(_ e: MapsEntry) -> String {
        let p = Array(e.perms)
        if p[1] == "w" { return "rw" }
        if p[0] == "r" || p[2] == "x" { return "r" }
        return "none"
    }

    /// Consecutive pages whose tokens are equal or consecutive, as one statement each.
    struct Run {
        var first: Int
        var count: Int
        var token: UInt64
        var isSeq: Bool
        var tokenText: String { isSeq ? "seq(\(hex(token)))" : hex(token) }
    }

    /// Pages in runs of neighbours: with `sameToken`, a run's tokens are all equal or go up by
    /// one page by page (`= 0x10003` or `= seq(0x10003)`); without, any neighbours.
    static func runs(_ pages: [Page], sameToken: Bool = true) -> [Run] {
        var out: [Run] = []
        for p in pages {
            if var last = out.last, last.first + last.count == p.index {
                var joins = !sameToken
                if sameToken {
                    if last.count == 1 && (p.token == last.token || p.token == last.token &+ 1) {
                        last.isSeq = p.token != last.token
                        joins = true
                    } else if last.count > 1 {
                        joins = last.isSeq ? p.token == last.token &+ UInt64(last.count) : p.token == last.token
                    }
                }
                if joins {
                    last.count += 1
                    out[out.count - 1] = last
                    continue
                }
            }
            out.append(Run(first: p.index, count: 1, token: p.token, isSeq: false))
        }
        return out
    }

    static func rangeText(_ a: Int, _ b: Int) -> String { a == b ? "[\(a)]" : "[\(a)..\(b)]" }

    /// "[0..3,7]" for a sorted list of page indices (comments).
    static func ranges(_ pages: [Int]) -> String { "[" + pageIndicesText(pages) + "]" }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    static func quote(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}

extension String {
    /// The string padded with spaces to `width` (one space at least before a comment).
    func padded(_ width: Int) -> String { count >= width ? self + "  " : self + String(repeating: " ", count: width - count) }
}

#if canImport(Glibc)
import Glibc
#endif

extension ProcessImport {
    /// An error reading the process, for people.
    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads /proc/PID/maps, and gives the pagemap and kpageflags readers over the files.
    public static func read(pid: Int32) throws -> ImportInput {
        #if os(Linux)
        let base = "/proc/\(pid)"
        guard let mapsText = try? String(contentsOfFile: base + "/maps", encoding: .utf8) else {
            throw ReadError(description: "\(base)/maps: cannot be read (no such process, or not allowed)")
        }
        let maps = mapsText.split(separator: "\n").compactMap(MapsEntry.parse)
        let command = ((try? String(contentsOfFile: base + "/comm", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
        let pagemapFD = open(base + "/pagemap", O_RDONLY)
        guard pagemapFD >= 0 else { throw ReadError(description: "\(base)/pagemap: cannot be opened: \(errnoName(errno))") }
        let kpageflagsFD = open("/proc/kpageflags", O_RDONLY)
        // Both descriptors stay open for the readers (the command reads once, then exits).
        let pagemap: @Sendable (UInt64, Int) -> [UInt64] = { address, count in
            var out = [UInt64](repeating: 0, count: count)
            var done = 0
            while done < count {
                let chunk = min(65536, count - done)
                let n = out.withUnsafeMutableBufferPointer { buf in
                    pread(pagemapFD, buf.baseAddress! + done, chunk * 8, off_t((address / 4096 + UInt64(done)) * 8))
                }
                if n <= 0 { break }
                done += n / 8
            }
            return out
        }
        let kpageflags: @Sendable (UInt64) -> UInt64 = { pfn in
            guard kpageflagsFD >= 0 else { return 0 }
            var w: UInt64 = 0
            let n = withUnsafeMutableBytes(of: &w) { pread(kpageflagsFD, $0.baseAddress, 8, off_t(pfn * 8)) }
            return n == 8 ? w : 0
        }
        let zero = zeroPagePFN()
        return ImportInput(pid: pid, command: command, maps: maps, pagemap: pagemap, kpageflags: kpageflags,
                           zeroPFN: zero, showsPFNs: zero != nil)
        #else
        throw ReadError(description: "mmlab import reads /proc: Linux only")
        #endif
    }

    /// The zero page's PFN: a read of a fresh private anonymous page of this process maps it,
    /// and /proc/self/pagemap shows it (as root; nil without the PFN).
    static func zeroPagePFN() -> UInt64? {
        #if os(Linux)
        guard let p = mmap(nil, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else { return nil }
        defer { munmap(p, 4096) }
        _ = p.load(as: UInt8.self)
        let fd = open("/proc/self/pagemap", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var w: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &w) { pread(fd, $0.baseAddress, 8, off_t(UInt64(UInt(bitPattern: p)) / 4096 * 8)) }
        guard n == 8, w & present != 0, w & pfnMask != 0 else { return nil }
        return w & pfnMask
        #else
        return nil
        #endif
    }

    /// `mmlab import PID`: the scenario on standard output, notes on standard error.
    public static func command(pid: String, range: String?, maxPages: Int?, only: String?) -> CommandOutcome {
        guard let p = Int32(pid), p > 0 else { return .usageError("mmlab: error: expected a process id, found '\(pid)'") }
        var o = ImportOptions()
        if let range {
            let parts = range.split(separator: "-")
            func addr(_ s: Substring) -> UInt64? { UInt64(s.hasPrefix("0x") ? s.dropFirst(2) : s, radix: 16) }
            guard parts.count == 2, let a = addr(parts[0]), let b = addr(parts[1]), a < b else {
                return .usageError("mmlab: error: expected --range ADDR-ADDR (hexadecimal, start below end, like 7f0000000000-7f0000100000), found '\(range)'")
            }
            o.range = (a, b)
        }
        if let maxPages {
            guard maxPages > 0 else { return .usageError("mmlab: error: expected --max-pages N with N > 0, found \(maxPages)") }
            o.maxPages = maxPages
        }
        if let only {
            guard only == "anon" || only == "shmem" else { return .usageError("mmlab: error: expected --only anon or shmem, found '\(only)'") }
            o.only = only
        }
        let input: ImportInput
        do { input = try read(pid: p) } catch { return .usageError("mmlab: error: \(error)") }
        let (text, notes) = scenario(input, options: o)
        return CommandOutcome(output: text, standardError: notes.map { "note: \($0)" }, status: 0)
    }
}
