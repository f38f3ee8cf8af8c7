// SPDX-License-Identifier: Apache-2.0
//
// Long-term GUP pins (mm/gup.c pin_user_pages() with FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE),
// taken as io_uring takes them for fixed buffers (io_uring/rsrc.c io_pin_pages(): every page
// or none) and as VFIO does. A pin is GUP_PIN_COUNTING_BIAS references on a small folio, which
// every rule that reads refcounts sees: folio_maybe_dma_pinned() keeps reclaim away, makes
// fork copy a pinned exclusive anon page for the child, and wp_can_reuse_anon_folio() and
// KSM's write_protect_page() see the extra references.

/// GUP_PIN_COUNTING_BIAS in include/linux/mm.h: what one FOLL_PIN adds to a small folio's refcount.
let gupPinCountingBias: UInt16 = 1024

/// One pin: the pages pinned, in order (io_mapped_ubuf's pages), and the mm whose exit
/// releases them (the ring's file is closed at exit).
struct PinnedPages: Hashable, Sendable {
    var mm: MMID
    var pfns: [PFN]
    /// FOLL_EXCLUSIVE (design gup.exclusive = on): the RFC adds GUP_PIN_EXCLUSIVE_BIAS (1 << 30)
    /// to the refcount on top of the pin; the model's 16-bit refcount keeps the ordinary pin
    /// bias and records the exclusive bias here (folio_maybe_dma_pinned() answers the same).
    var exclusive = false
}

extension Kernel {
    /// Models pin_user_pages(start, npages, FOLL_WRITE | FOLL_LONGTERM) as io_pin_pages()
    /// uses it: for each page, check_vma_flags() (no VMA, VM_IO | VM_PFNMAP, or a VMA without
    /// VM_WRITE: EFAULT), then follow_page_mask(), faulting the page in writable with
    /// handle_mm_fault(FAULT_FLAG_WRITE) when it is not (so an anon page is exclusive and a
    /// COW page is copied first), then try_grab_folio(FOLL_PIN). A page that cannot be pinned
    /// unpins the pages already pinned and fails the whole call. Returns the pin's handle.
    /// `exclusive` is FOLL_EXCLUSIVE of design gup.exclusive = on (tryGrabFolioExclusive()).
    public mutating func pinUserPages(_ mmID: MMID, start: UInt64, length: UInt64,
                                      exclusive: Bool = false) -> Result<Int32, Errno> {
        let m = Int(mmID)
        guard start & (pageSize - 1) == 0, length > 0 else { return .failure(.EINVAL) }
        var pinned: [PFN] = []
        func fail(_ e: Errno) -> Result<Int32, Errno> {
            for pfn in pinned { unpinFolio(pfn) }
            check()
            return .failure(e)
        }
        var a = start
        while a < start &+ length {
            guard let v = mms[m].vmaIndex(containing: a) else { return fail(.EFAULT) }
            let flags = mms[m].vmas[v].flags
            if !flags.intersection([.io, .pfnmap]).isEmpty || !flags.contains(.write) { return fail(.EFAULT) }
            var faults = 0
            while true {
                let pte = mms[m].pageTables.pte(a)
                if pte.isPresent && !pte.isProtNone && pte.isWritable, let pfn = normalPage(pte) {
                    // try_grab_folio(): the refcount cannot hold another pin (the model keeps
                    // 16 bits; the kernel refuses on overflow too).
                    guard UInt32(frames[pfn].refcount) + UInt32(gupPinCountingBias) <= UInt32(UInt16.max) else {
                        return fail(.ENOMEM)
                    }
                    if let e = tryGrabFolioExclusive(pfn, exclusive: exclusive) { return fail(e) }
                    frames[pfn].refcount += gupPinCountingBias
                    pinned.append(pfn)
                    break
                }
                faults += 1
                guard faults <= 4 else { return fail(.EFAULT) }
                costs.faults += 1
                switch handleMMFault(m, a, write: true) {
                case .done: continue
                // vm_fault_to_errno(): EHWPOISON only under FOLL_HWPOISON, which
                // pin_user_pages_fast() from io_uring does not pass (checked on the kernel).
                case .hwpoison: return fail(.EFAULT)
                case .sigsegv, .sigbus: return fail(.EFAULT)
                case .userfault(let w):
                    // pin_user_pages_fast() from io_uring is not FOLL_UNLOCKABLE: it does not wait
                    // for a userfaultfd handler; the model withdraws the fault and fails.
                    cancelUserfault(w)
                    return fail(.EFAULT)
                }
            }
            a += pageSize
        }
        pins.append(PinnedPages(mm: mmID, pfns: pinned, exclusive: exclusive))
        check()
        return .success(Int32(pins.count - 1))
    }

    /// Models unpin_user_pages() of a pin (io_buffer_unmap() when the buffers are unregistered
    /// or the ring is freed): each page loses GUP_PIN_COUNTING_BIAS references, and a page
    /// nothing else references is freed.
    public mutating func unpinUserPages(_ handle: Int32) -> Errno? {
        guard handle >= 0, Int(handle) < pins.count, let pin = pins[Int(handle)] else { return .EINVAL }
        for pfn in pin.pfns { unpinFolio(pfn) }
        pins[Int(handle)] = nil
        check()
        return nil
    }

    /// Models the FOLL_EXCLUSIVE test of try_grab_folio() in the rejected 2024 RFC (design
    /// gup.exclusive = on; under off no exclusive pin exists, so no pin is refused here): an
    /// exclusive pin needs a folio without any pin (EBUSY); while one is held, every other
    /// FOLL_PIN of the folio is EBUSY. An exclusive pin of an anon page sets PageAnonExclusive
    /// (the write fault before it already has; a shared page could not be reached writable).
    mutating func tryGrabFolioExclusive(_ pfn: PFN, exclusive: Bool) -> Errno? {
        if pins.contains(where: { $0?.exclusive == true && $0!.pfns.contains(pfn) }) {
            note("try_grab_folio(FOLL_PIN): the folio has an exclusive pin → EBUSY")
            return .EBUSY
        }
        guard exclusive else { return nil }
        if folioMaybeDMAPinned(pfn) {
            note("try_grab_folio(FOLL_EXCLUSIVE): the folio is already pinned → EBUSY")
            return .EBUSY
        }
        if frames[pfn].flags.contains(.anon) { frames[pfn].flags.insert(.anonExclusive) }
        return nil
    }

    /// Models gup_put_folio(FOLL_PIN) for a small folio.
    mutating func unpinFolio(_ pfn: PFN) {
        frames[pfn].refcount -= gupPinCountingBias
        if frames[pfn].refcount == 0 { freeFolio(pfn) }
    }

    /// Models folio_maybe_dma_pinned() for a small folio: refcount ≥ GUP_PIN_COUNTING_BIAS.
    func folioMaybeDMAPinned(_ pfn: PFN) -> Bool { frames[pfn].refcount >= gupPinCountingBias }

    /// The pins a process holds are released when it exits (its io_uring's file is closed by
    /// exit_files(), after exit_mm()).
    mutating func releasePins(of mmID: MMID) {
        for i in pins.indices where pins[i]?.mm == mmID { _ = unpinUserPages(Int32(i)) }
    }

    /// How many pins hold each frame (for the invariant checks).
    var pinCounts: [PFN: UInt32] {
        var out: [PFN: UInt32] = [:]
        for pin in pins { for pfn in pin?.pfns ?? [] { out[pfn, default: 0] += 1 } }
        return out
    }
}
