// SPDX-License-Identifier: Apache-2.0
//
// UFFDIO_WRITEPROTECT as a kernel operation in progress (fs/userfaultfd.c
// userfaultfd_writeprotect() → mm/userfaultfd.c mwriteprotect_range()): mmap_lock held for
// read over the whole walk, one VMA piece within one PTE table per step (change_protection()
// takes each table's PTE lock in turn); the wake (unprotect without DONTWAKE) ends the last
// step.

/// The next piece of a UFFDIO_WRITEPROTECT walk.
enum WriteProtectPiece: Equatable {
    /// VMA `v`, [s, e): within one VMA and one PTE table.
    case piece(v: Int, s: UInt64, e: UInt64)
    /// The next VMA of the range is not registered for wp: the walk stops with ENOENT.
    case notRegistered
    /// No VMA left in the range.
    case none
}

extension Kernel {
    /// One step of UFFDIO_WRITEPROTECT: the argument checks with the first piece, then one
    /// piece per step.
    mutating func writeProtectStep(_ task: inout SyscallTask, _ u: UffdID, start: UInt64, end: UInt64,
                                   protect: Bool, dontwake: Bool) -> StepResult {
        var next: UInt64? = nil
        if case .writeProtect(let n) = task.progress { next = n }
        if next == nil, let e = uffdWriteProtectCheck(u, start: start, end: end, protect: protect, dontwake: dontwake) {
            return .finished(.errno(e))
        }
        let m = Int(uffds[Int(u)].mm)
        switch writeProtectPiece(m, from: next ?? start, end: end, protect: protect) {
        case .none, .notRegistered:
            return .finished(.errno(.ENOENT))   // no VMA at all, or the first one is not registered
        case .piece(let v, let s, let e):
            let vma = mms[m].vmas[v], name = mms[m].name
            note("mwriteprotect_range → uffd_wp_range(\(name), 0x\(String(s, radix: 16))..0x\(String(e, radix: 16)), \(protect ? "wp" : "unwp"))")
            uffdWPRange(m, v, s, e, enable: protect, flush: e == vma.end || e == end)
            noteWriteProtect(m, s, e, protect: protect)
            check()
            switch writeProtectPiece(m, from: e, end: end, protect: protect) {
            case .piece:
                task.progress = .writeProtect(next: e)
                return .running
            case .notRegistered:
                return .finished(.errno(.ENOENT))
            case .none:
                if !protect && !dontwake {
                    note("wake_userfault")
                    wakeUserfault(u, start, end)
                }
                check()
                return .finished(.ok)
            }
        }
    }

    /// The piece of a UFFDIO_WRITEPROTECT walk at or after `from`: mwriteprotect_range()
    /// visits the VMAs of the range in order, skipping holes; change_protection() then walks
    /// each VMA's part one PTE table at a time.
    func writeProtectPiece(_ m: Int, from: UInt64, end: UInt64, protect: Bool) -> WriteProtectPiece {
        guard from < end else { return .none }
        guard let v = mms[m].vmas.firstIndex(where: { $0.end > from && $0.start < end }) else { return .none }
        let vma = mms[m].vmas[v]
        guard vma.flags.contains(.uffdWP) else { return .notRegistered }
        let s = max(from, vma.start), e = min(end, vma.end)
        // Protecting a VMA that uses markers fills none PTEs (allocating tables): one table per
        // step. Otherwise absent tables are passed in one step (no PTE lock for pmd_none()).
        if protect && uffdWPUseMarkers(vma) { return .piece(v: v, s: s, e: min(e, (s | (pmdSize - 1)) + 1)) }
        return .piece(v: v, s: s, e: mms[m].pageTables.lockStepEnd(s, e))
    }

    /// What the next step of UFFDIO_WRITEPROTECT reads and writes: one PTE table's piece (its
    /// PTEs change under the PTE lock, mmap_lock held for read); the last step wakes the
    /// faults waiting in the range (conflicts with all).
    func writeProtectFootprint(_ task: SyscallTask) -> Footprint {
        guard case .uffdWriteProtect(let u, let start, let length, let protect, let dontwake) = task.call,
              Int(u) < uffds.count else { return Footprint(writes: [.global]) }
        let end = start &+ length
        var next: UInt64? = nil
        if case .writeProtect(let n) = task.progress { next = n }
        let mm = uffds[Int(u)].mm, m = Int(mm)
        guard mms[m].alive, case .piece(_, let s, let e) = writeProtectPiece(m, from: next ?? start, end: end, protect: protect) else {
            return Footprint(reads: [.vmas(mm: mm)])
        }
        var f = Footprint(reads: [.vmas(mm: mm)])
        f.writes.append(.ptes(mm: mm, pages: (s >> pageShift)..<(e >> pageShift)))
        if !protect && !dontwake, writeProtectPiece(m, from: e, end: end, protect: protect) == .none { f.writes.append(.global) }
        return f
    }
}
