// SPDX-License-Identifier: Apache-2.0
//
// A user memory access as a kernel operation in progress: each step is one MMU attempt or one
// handle_mm_fault() (Fault.swift), so a scheduler can run other threads between a fault and
// the retried access. Its footprint is what that next step touches.

extension Kernel {
    /// A user load (`store == nil`) or store of `store` at `address`, run to completion
    /// (Kernel.runAccess(): the access's steps until it completes or sleeps).
    public mutating func access(_ mmID: MMID, _ address: UInt64, store: UInt64?) -> AccessResult {
        switch runAccess(mmID, address, store: store) {
        case .finished(.value(let t)): return .ok(t)
        case .finished(.signal(let s)): return .signal(s)
        case .finished(.backendError(let m)): return .modelError(m)
        case .finished(let other): return .modelError("an access finished with \(other)")
        case .blocked(let w, _): return .blocked(w)
        case .running: return .modelError("an access did not finish")
        }
    }

    /// One step of an access task: the MMU attempt, or on a miss handle_mm_fault() (the
    /// access then retries at its next step); a userfault puts it to sleep until woken.
    mutating func accessTaskStep(_ task: inout SyscallTask, _ mm: MMID, _ address: UInt64, store: UInt64?) -> StepResult {
        task.progress = .access
        return accessStep(mm, address, store: store)
    }

    /// What the next step of an access reads and writes, decided on the current state: an
    /// access the PTE permits is an MMU attempt that reads that PTE (and, for a store, writes
    /// the frame); otherwise the step is a fault, which writes the PTEs it may fill (the
    /// fault-around window for a read on a file VMA) and the page-cache slots behind them.
    func accessFootprint(_ mm: MMID, _ address: UInt64, store: UInt64?) -> Footprint {
        let m = Int(mm)
        let page = address >> pageShift
        let pte = mms[m].pageTables.pte(address & ~(pageSize - 1))
        if pte.isPresent && !pte.isProtNone && (store == nil || pte.isWritable) {
            // A load from a corrupted frame is a machine check: memory_failure() unmaps the
            // folio from every process.
            if store == nil && !corruptedPFNs.isEmpty && corruptedPFNs.contains(pte.pfn) {
                return Footprint(writes: [.global])
            }
            var f = Footprint(reads: [.pte(mm: mm, page: page)])
            if store != nil { f.writes.append(.frame(pte.pfn)) } else { f.reads.append(.frame(pte.pfn)) }
            return f
        }
        var f = Footprint(reads: [.vmas(mm: mm)], writes: [])
        guard let v = mms[m].vmaIndex(containing: address) else { return f }
        let vma = mms[m].vmas[v]
        let window: ClosedRange<UInt64>
        if store == nil && vma.inode != nil {
            let nr = UInt64(max(config.faultAroundPages, 1))
            let lo = max(vma.start >> pageShift, page >= nr ? page - nr : 0)
            let hi = min((vma.end >> pageShift) - 1, page + nr)
            window = lo...hi
        } else {
            window = page...page
        }
        f.writes.append(.ptes(mm: mm, pages: window.lowerBound..<(window.upperBound + 1)))
        if let ino = vma.inode {
            let first = vma.pgoff(of: window.lowerBound << pageShift)
            f.writes.append(.pageCacheSlots(inode: ino, indices: first..<(first + UInt64(window.count))))
        }
        if vma.inode == nil || !vma.flags.contains(.shared) { f.writes.append(.anonMemory) }
        if pte.isPresent { f.writes.append(.frame(pte.pfn)) }
        return f
    }
}
