// SPDX-License-Identifier: Apache-2.0
//
// Pagemap words for people: decoded bits, and the frame field turned into an identity
// ("frame #3", "zero page", "swap type 0 slot #1", "marker uffd_wp") so that the model
// and the kernel print the same thing for the same behaviour.

import MMLab

/// Helpers on raw pagemap words.
public enum PagemapWord {
    /// The named bits, in the order they are printed.
    public static let bits: [(name: String, bit: UInt64)] =
        [PM.present, PM.swap, PM.file, PM.guardRegion, PM.uffdWP, PM.mmapExclusive, PM.softDirty].map { b in
            (PM.names.first { $0.bit == b }!.name, b)
        }

    public static func bit(named name: String) -> UInt64? { bits.first { $0.name == name }?.bit }

    public static func bitNames(_ word: UInt64) -> [String] {
        let names = bits.filter { word & $0.bit != 0 }.map(\.name)
        return names.isEmpty ? ["none"] : names
    }

    public static func isPresent(_ w: UInt64) -> Bool { w & PM.present != 0 }
    public static func isSwap(_ w: UInt64) -> Bool { w & PM.swap != 0 && w & PM.present == 0 }
    public static func swapType(_ w: UInt64) -> UInt64 { w & 0x1f }
    public static func swapOffset(_ w: UInt64) -> UInt64 { (w & PM.pframeMask) >> 5 }
    /// A swap word for a real swap device (not a marker, migration or hwpoison entry).
    public static func isRealSwap(_ w: UInt64) -> Bool { isSwap(w) && swapType(w) < UInt64(SwapEntry.maxSwapfiles) }
    public static func isMarker(_ w: UInt64) -> Bool { isSwap(w) && swapType(w) == UInt64(SwapEntry.markerType) }

    /// The word with what differs by nature between runs removed: the PFN of a present
    /// page and the offset of a real swap entry (the swap type stays).
    public static func normalised(_ w: UInt64) -> UInt64 {
        if isPresent(w) { return w & ~PM.pframeMask }
        if isSwap(w) && !isMarker(w) { return (w & ~PM.pframeMask) | swapType(w) }
        return w
    }

    /// Whether an observed word matches an expected raw word: every flag bit exactly; the
    /// frame field of a marker exactly; for present pages and swap entries, PFN and swap
    /// offset are identities (compare them with `frame=`), the swap type is compared.
    public static func matches(observed: UInt64, expected: UInt64) -> Bool {
        normalised(observed) == normalised(expected)
    }

    /// Whether two words show the same frame (present) or the same swap slot.
    public static func sameFrame(_ a: UInt64, _ b: UInt64) -> Bool {
        if isPresent(a) && isPresent(b) { return a & PM.pframeMask == b & PM.pframeMask }
        if isRealSwap(a) && isRealSwap(b) { return a & PM.pframeMask == b & PM.pframeMask }
        return false
    }
}

/// A decoded pagemap word.
public struct WordDescription: Hashable, Sendable, Codable {
    /// The normalised word.
    public var word: UInt64
    public var bits: [String]
    /// "frame #1", "zero page", "swap type 0 slot #2", "marker uffd_wp", or "".
    public var identity: String
    public var summary: String {
        "\(hex(word)) \(bits.joined(separator: " "))" + (identity.isEmpty ? "" : " \(identity)")
    }
}

/// Frame and swap-slot identities, numbered in order of first observation.
struct Identities {
    var zeroPFN: UInt64?
    var frames = IdentityNumbers()
    var slots = IdentityNumbers()

    func isZero(_ w: UInt64) -> Bool { zeroPFN != nil && w & PM.pframeMask == zeroPFN }

    func seen(_ w: UInt64) -> Bool {
        if PagemapWord.isPresent(w) { return frames[w & PM.pframeMask] != nil }
        if PagemapWord.isRealSwap(w) { return slots[w & PM.pframeMask] != nil }
        return false
    }

    /// The N of "frame #N" or "slot #N" for a word already noted.
    func identityNumber(_ w: UInt64) -> Int? {
        if PagemapWord.isPresent(w) { return frames[w & PM.pframeMask] }
        if PagemapWord.isRealSwap(w) { return slots[w & PM.pframeMask] }
        return nil
    }

    /// The N a word has, or would get if it were noted now (as `describe` prints it).
    func identityNumberOrNext(_ w: UInt64) -> Int? {
        if PagemapWord.isPresent(w) { return isZero(w) ? nil : frames[w & PM.pframeMask] ?? frames.count + 1 }
        if PagemapWord.isRealSwap(w) { return slots[w & PM.pframeMask] ?? slots.count + 1 }
        return nil
    }

    mutating func note(_ w: UInt64) {
        if PagemapWord.isPresent(w) && !isZero(w) {
            let k = w & PM.pframeMask
            if frames[k] == nil { frames.add(k) }
        } else if PagemapWord.isRealSwap(w) {
            let k = w & PM.pframeMask
            if slots[k] == nil { slots.add(k) }
        }
    }

    /// Describes a word, numbering a frame or slot not seen before with the next number.
    func describe(_ w: UInt64) -> WordDescription {
        var identity = ""
        if PagemapWord.isPresent(w) {
            let k = w & PM.pframeMask
            if isZero(w) { identity = "zero page" } else { identity = "frame #\(frames[k] ?? frames.count + 1)" }
        } else if PagemapWord.isMarker(w) {
            var names: [String] = []
            let bits = PagemapWord.swapOffset(w)
            if bits & PTEMarker.uffdWP.rawValue != 0 { names.append("uffd_wp") }
            if bits & PTEMarker.poisoned.rawValue != 0 { names.append("poison") }
            if bits & PTEMarker.guard_.rawValue != 0 { names.append("guard") }
            if bits & PTEMarker.pageout.rawValue != 0 { names.append("pageout") }
            identity = "marker " + (names.isEmpty ? "(no bits)" : names.joined(separator: ","))
        } else if PagemapWord.isRealSwap(w) {
            let k = w & PM.pframeMask
            identity = "swap type \(PagemapWord.swapType(w)) slot #\(slots[k] ?? slots.count + 1)"
        } else if PagemapWord.isSwap(w) {
            identity = "swap type \(PagemapWord.swapType(w))"
        }
        return WordDescription(word: PagemapWord.normalised(w), bits: PagemapWord.bitNames(w), identity: identity)
    }
}

/// Numbers given to keys (PFNs, swap offsets) in order of first observation: 1, 2, 3, …
/// Keys that arrive in order with consecutive numbers (the frames of a populated mapping
/// read in address order) are kept as runs, a few words each however long; the others one
/// entry each. Lookups only: nothing iterates the dictionary.
struct IdentityNumbers {
    /// Closed runs of 16 keys or more, sorted by key: key + i has number + i for i < length.
    var runs: [(key: UInt64, number: Int, length: Int)] = []
    /// The newest run (length 0: none), still growing.
    var openKey: UInt64 = 0, openNumber = 0, openLength = 0
    /// Keys of runs shorter than 16.
    var single: [UInt64: Int] = [:]
    /// Numbers given so far.
    private(set) var count = 0
    /// The largest key numbered (meaningful when count > 0): a larger key has no number, the
    /// common case of frames read in address order, answered without a lookup.
    var maxKey: UInt64 = 0

    /// Shorter runs go into `single` when the next one starts.
    static let minimumRun = 16

    subscript(key: UInt64) -> Int? {
        if openLength > 0 && key >= openKey && key - openKey < UInt64(openLength) { return openNumber + Int(key - openKey) }
        if count == 0 || key > maxKey { return nil }
        if let n = single[key] { return n }
        let i = lowerBound(key)
        if i > 0 {
            let r = runs[i - 1]
            if key - r.key < UInt64(r.length) { return r.number + Int(key - r.key) }
        }
        return nil
    }

    /// The first run whose key is greater than `key`.
    func lowerBound(_ key: UInt64) -> Int {
        var lo = 0, hi = runs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if runs[mid].key <= key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Gives `key` (not numbered yet) the next number.
    mutating func add(_ key: UInt64) {
        if count == 0 || key > maxKey { maxKey = key }
        count += 1
        if openLength > 0 && key == openKey &+ UInt64(openLength) && openNumber + openLength == count {
            openLength += 1
            return
        }
        closeOpenRun()
        openKey = key
        openNumber = count
        openLength = 1
    }

    mutating func closeOpenRun() {
        guard openLength > 0 else { return }
        if openLength >= Self.minimumRun {
            runs.insert((openKey, openNumber, openLength), at: lowerBound(openKey))
        } else {
            for i in 0..<openLength { single[openKey + UInt64(i)] = openNumber + i }
        }
        openLength = 0
    }
}
