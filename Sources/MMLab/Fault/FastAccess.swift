// SPDX-License-Identifier: Apache-2.0
//
// The common cases of a user access, run without the step machinery: an MMU hit, and the
// first touch of an anonymous page (do_anonymous_page(), then the retried access). Each makes
// the same changes, in the same order, and counts the same costs as the access's steps
// (Fault.swift: accessStep() → handleMMFault() → handlePTEFault() → doAnonymousPage(),
// accessStep()) would; anything else (a file VMA, a swap or marker PTE, a write to a
// read-only PTE, userfaultfd, a signal, tracing, the invariant checks, the write checks, a
// corrupted frame) takes those steps instead. Kernel.runAccess() tries this first.

/// What the fast path of an access did.
enum FastAccess {
    /// The access completed: the token read (a store returns what it stored).
    case done(UInt64)
    /// The access needs the general path; nothing was changed.
    case general
    /// A first-touch store to VMA `v`, which has no anon_vma yet; nothing was changed.
    case needsAnonVMA(Int)
}

extension Kernel {
    /// Models an access the MMU completes or whose fault is do_anonymous_page() on a none
    /// PTE (mm/memory.c), in one go; nil, with nothing changed, when the access needs the
    /// general path.
    @inline(__always)
    mutating func accessFast(_ mmID: MMID, _ address: UInt64, store: UInt64?) -> StepResult? {
        guard trace == nil, writeChecks == nil, !internalChecks, corruptedPFNs.isEmpty else { return nil }
        let m = Int(mmID)
        guard m >= 0, m < mms.count else { return nil }
        // The mm, the frames and the counters are changed in place (no copy of the MM).
        let soft = config.memSoftDirty
        switch Self.accessInPlace(&mms[m], &frames, &costs, address, store: store, softDirty: soft) {
        case .done(let t): return .finished(.value(t))
        case .general: return nil
        case .needsAnonVMA(let v):
            anonVMAPrepare(m, v)
            guard case .done(let t) = Self.accessInPlace(&mms[m], &frames, &costs, address, store: store, softDirty: soft) else {
                return .finished(.backendError("the fast path of an access changed its mind (a model bug)"))
            }
            return .finished(.value(t))
        }
    }

    /// accessFast() on the mm, frames and counters it changes: an MMU hit (accessStep()), or
    /// a none PTE of a private anonymous VMA that permits the access and has no
    /// VM_UFFD_MISSING: do_user_addr_fault() → handle_pte_fault() → do_anonymous_page(), then
    /// the retried access, an MMU hit on the PTE just set.
    @inline(__always)
    static func accessInPlace(_ mm: inout MM, _ frames: inout FrameTable, _ costs: inout Costs, _ address: UInt64,
                              store: UInt64?, softDirty: Bool) -> FastAccess {
        guard mm.alive else { return .general }
        let pte = mm.pageTables.pte(address)
        if pte.isPresent && !pte.isProtNone && (store == nil || pte.isWritable) {
            // accessStep()'s MMU hit: Accessed, and Dirty on a store.
            costs.pteReads += 1
            let pfn = pte.pfn
            var hw = PTE.accessed
            if let t = store {
                frames.setToken(pfn, t)
                hw |= PTE.dirty
            }
            if pte.raw & hw != hw { mm.pageTables.set(address, pte.with(hw)) }
            return .done(frames.token(pfn))
        }
        guard pte.isNone else { return .general }
        return anonymousFaultInPlace(&mm, &frames, &costs, address, store: store, softDirty: softDirty)
    }

    /// The do_anonymous_page() case of accessInPlace().
    @inline(never)
    static func anonymousFaultInPlace(_ mm: inout MM, _ frames: inout FrameTable, _ costs: inout Costs,
                                      _ address: UInt64, store: UInt64?, softDirty: Bool) -> FastAccess {
        guard let v = mm.vmaIndex(containing: address) else { return .general }
        let flags = mm.vmas[v].flags
        let write = store != nil
        guard case .anon = mm.vmas[v].backing, !flags.contains(.uffdMissing), !flags.contains(.shared),
              write ? flags.contains(.write) : flags.contains(.read) || flags.contains(.write) else { return .general }
        let page = address & ~(pageSize - 1)
        let prot = privatePageProt(flags)
        guard let t = store else {
            // The failed MMU attempt, handle_pte_fault()'s read and the retried attempt's read.
            costs.pteReads += 3
            costs.faults += 1
            costs.pteWrites += 1
            // The zero page, mapped read-only and special (its PTE is young already).
            mm.pageTables.setAllocating(page, PTE.make(pfn: FrameTable.zeroPFN, prot: prot).with(PTE.special))
            return .done(frames.token(FrameTable.zeroPFN))
        }
        guard let anonVMA = mm.vmas[v].anonVMA else { return .needsAnonVMA(v) }
        costs.pteReads += 3
        costs.faults += 1
        costs.pteWrites += 1
        costs.pageZeroings += 1
        let pfn = frames.alloc(token: 0)
        let entry = PTE.make(pfn: pfn, prot: prot).mkdirty(softDirtyConfigured: softDirty).with(PTE.rw)
        // addNewAnonRmap(): folio_add_new_anon_rmap().
        frames.setNewAnon(pfn, mapping: anonVMA, index: mm.vmas[v].pgoff + ((address - mm.vmas[v].start) >> pageShift))
        mm.rssAnon += 1
        mm.pageTables.setAllocating(page, entry)
        // The retried store: the PTE is young, dirty and writable already.
        frames.setToken(pfn, t)
        return .done(frames.token(pfn))
    }
}
