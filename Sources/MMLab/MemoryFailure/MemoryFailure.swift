// SPDX-License-Identifier: Apache-2.0
//
// Memory failure (mm/memory-failure.c) and its injection with madvise(MADV_HWPOISON)
// (mm/madvise.c), under CONFIG_MEMORY_FAILURE. The model handles ZONE_DEVICE memory
// (device-dax): memory_failure() → memory_failure_dev_pagemap() → mf_generic_kill_procs(),
// which marks the folio head PG_hwpoison, collects the tasks that map it (only the current
// task: early kill, PF_MCE_EARLY and vm.memory_failure_early_kill are not modelled), unmaps
// the whole folio range from every process and sends SIGBUS BUS_MCEERR_AR to the current
// task. memory_failure() of RAM pages (anon, shmem and page-cache folios) is not modelled;
// the scenario checker refuses `poison` on them.
//
// MADV_HWPOISON only simulates an error on a real kernel (the memory stays good). The
// model's `poison` stands for a real uncorrectable error that the current task consumes: the
// frame is recorded in `corruptedPFNs` and stays bad, so a later load from it by any task is
// a machine check (Kernel.accessStep → machineCheck()).

/// The flags of memory_failure() (include/linux/mm.h, enum mf_flags), those the model uses.
public struct MFFlags: OptionSet, Hashable, Sendable {
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// MF_COUNT_INCREASED: the caller holds a reference (madvise_inject_error()'s GUP).
    public static let countIncreased = MFFlags(rawValue: 1 << 0)
    /// MF_ACTION_REQUIRED: the current task consumed the error (SRAR).
    public static let actionRequired = MFFlags(rawValue: 1 << 1)
    /// MF_MUST_KILL: every task that maps the page is signalled.
    public static let mustKill = MFFlags(rawValue: 1 << 2)
    /// MF_SW_SIMULATED: injected by software (MADV_HWPOISON), not reported by the hardware.
    public static let swSimulated = MFFlags(rawValue: 1 << 5)
}

/// Models struct to_kill (mm/memory-failure.c).
/// A task to signal, the address of the poisoned page in one of its VMAs, and the log2 of the size
/// of the entry that maps it.
public struct ToKill: Hashable, Sendable {
    /// tk->tsk: the task (the model's processes are their mm).
    public var mm: MMID
    /// tk->addr.
    public var addr: UInt64
    /// tk->size_shift.
    public var sizeShift: Int
}

/// A signal memory_failure() sent: to which process, with which siginfo.
public struct SentSignal: Hashable, Sendable {
    public var mm: MMID
    public var info: SignalInfo
}

/// What memory_failure() returned, and the signals it sent.
public struct MemoryFailureResult: Hashable, Sendable {
    /// The return value (nil: 0).
    public var rc: Errno?
    /// Signals sent, in the order kill_procs() sent them.
    public var sent: [SentSignal] = []
    /// Set when the pfn is memory the model does not handle (RAM pages).
    public var notModelled: String?
}

extension Kernel {
    /// MADV_HWPOISON (include/uapi/asm-generic/mman-common.h).
    public static let madvHWPoison: Int32 = 100

    /// Models do_madvise(MADV_HWPOISON) in mm/madvise.c.
    /// madvise_should_skip() (the advice is valid only under CONFIG_MEMORY_FAILURE, else EINVAL;
    /// start page-aligned; a zero length does nothing), then madvise_do_behavior() →
    /// madvise_inject_error(). The caller is assumed to have CAP_SYS_ADMIN (scenarios run as root).
    public mutating func madviseHWPoison(_ mmID: MMID, start: UInt64, length: UInt64) -> HWPoisonResult {
        guard config.memoryFailure else { return HWPoisonResult(error: .EINVAL) }   // madvise_behavior_valid()
        guard start & (pageSize - 1) == 0 else { return HWPoisonResult(error: .EINVAL) }
        let len = (length &+ pageSize &- 1) & ~(pageSize - 1)
        if length != 0 && len == 0 { return HWPoisonResult(error: .EINVAL) }
        if start &+ len < start { return HWPoisonResult(error: .EINVAL) }
        if len == 0 { return HWPoisonResult() }
        let r = madviseInjectError(Int(mmID), start: start, end: start + length)
        check()
        return r
    }

    /// Models madvise_inject_error() in mm/madvise.c.
    /// For each page from `start`, get_user_pages_fast(start, 1, 0) (a read fault when it is not
    /// mapped; any failure returns EFAULT), then memory_failure(pfn, MF_ACTION_REQUIRED |
    /// MF_COUNT_INCREASED | MF_SW_SIMULATED), then `start += page_size(compound_head(page))`. The
    /// SIGBUS memory_failure() queues for the current task does not stop the loop; a second one is
    /// dropped while the first is pending (legacy_queue() in kernel/signal.c).
    mutating func madviseInjectError(_ m: Int, start: UInt64, end: UInt64) -> HWPoisonResult {
        var out = HWPoisonResult()
        var a = start
        while a < end {
            if let v = mms[m].vmaIndex(containing: a), let ino = mms[m].vmas[v].inode, isDax(ino), !daxHasStructPages(ino),
               mms[m].pageTables.pte(a).isPresent {
                // dax.memmap = none: MADV_HWPOISON's GUP would refuse the VM_PFNMAP VMA (EFAULT)
                // and poison nothing. What the statement stands for, an uncorrectable error the
                // current task consumes, is then the machine check alone (machineCheck()).
                let pfn = mms[m].pageTables.pte(a).pfn
                corruptedPFNs.insert(pfn)
                if case .signal(let s) = machineCheck(m, a, pfn), out.signal == nil {
                    out.signal = s
                    out.signalAt = a
                }
                a &+= pageSize
                continue
            }
            let page: PFN
            switch gupFastReadOne(m, a) {
            case .success(let p): page = p
            case .failure(.errno(let e)):
                out.error = e
                return out
            case .failure(.notModelled(let why)):
                out.notModelled = why
                return out
            }
            guard daxDevice(containing: page) != nil else {
                out.notModelled = "memory_failure() of a RAM page (pfn \(page), 0x\(String(a, radix: 16))) is not modelled"
                return out
            }
            let size = folioSize(page)
            note("madvise_inject_error: memory_failure(pfn \(page)) for 0x\(String(a, radix: 16))")
            // The model's poison: the frame's memory goes bad, and the current task consumes it.
            corruptedPFNs.insert(page)
            let r = memoryFailure(page, flags: [.actionRequired, .countIncreased, .swSimulated], current: m)
            if let why = r.notModelled {
                out.notModelled = why
                return out
            }
            if out.signal == nil, let s = r.sent.first(where: { $0.mm == MMID(m) }) {
                out.signal = s.info
                out.signalAt = a
            }
            if let e = r.rc, e != .EOPNOTSUPP {
                out.error = e
                return out
            }
            a &+= size
        }
        return out
    }

    /// Why get_user_pages_fast() failed.
    enum GUPError: Error {
        case errno(Errno)
        case notModelled(String)
    }

    /// Models get_user_pages_fast(address, 1, 0, &page) in mm/gup.c.
    /// One page, read-only: a present PTE is taken as it is (GUP-fast); otherwise the slow path: no
    /// VMA, VM_IO/VM_PFNMAP or no VM_READ (check_vma_flags()) is EFAULT, then faultin_page() →
    /// handle_mm_fault(read); VM_FAULT_SIGBUS, SIGSEGV and HWPOISON (no FOLL_HWPOISON) become
    /// EFAULT.
    mutating func gupFastReadOne(_ m: Int, _ address: UInt64) -> Result<PFN, GUPError> {
        let a = address & ~(pageSize - 1)
        for _ in 0..<8 {
            let pte = mms[m].pageTables.pte(a)
            costs.pteReads += 1
            // gup_fast_pte_range() gives up on a special PTE; the slow path takes the zero page
            // (follow_page_pte()) and refuses a VM_PFNMAP VMA's PFN (check_vma_flags()).
            if pte.isPresent && !pte.isProtNone && (!pte.isSpecial || pte.pfn == FrameTable.zeroPFN) { return .success(pte.pfn) }
            guard let v = mms[m].vmaIndex(containing: a) else { return .failure(.errno(.EFAULT)) }
            let flags = mms[m].vmas[v].flags
            if !flags.intersection([.io, .pfnmap]).isEmpty || !flags.contains(.read) { return .failure(.errno(.EFAULT)) }
            note("get_user_pages_fast → faultin_page → handle_mm_fault(read)")
            switch handleMMFault(m, a, write: false) {
            case .done: continue
            case .sigbus, .sigsegv, .hwpoison: return .failure(.errno(.EFAULT))
            case .userfault(let w):
                cancelUserfault(w)
                return .failure(.notModelled("get_user_pages_fast() sleeping in handle_userfault() is not modelled"))
            }
        }
        return .failure(.errno(.EFAULT))
    }

    /// Models get_dev_pagemap() in mm/memremap.c.
    /// The device-dax instance whose ZONE_DEVICE range holds `pfn`.
    func daxDevice(containing pfn: PFN) -> (ino: InodeID, dev: DaxDevice)? {
        for i in inodes.indices {
            guard let dev = inodes[i].dax else { continue }
            if pfn >= dev.basePFN && UInt64(pfn - dev.basePFN) < inodes[i].size >> pageShift { return (InodeID(i), dev) }
        }
        return nil
    }

    /// Models page_size(compound_head(page)) (include/linux/mm.h).
    /// The device alignment for device-dax (its folios are 4 KiB, 2 MiB or 1 GiB), one page for the
    /// model's order-0 RAM folios.
    func folioSize(_ pfn: PFN) -> UInt64 {
        daxDevice(containing: pfn)?.dev.align ?? pageSize
    }

    /// Models memory_failure() in mm/memory-failure.c.
    /// A pfn that is not online RAM but has a dev_pagemap (ZONE_DEVICE) goes to
    /// memory_failure_dev_pagemap() every time: the PG_hwpoison test that makes a second failure of
    /// a RAM page return early is on the online-page path only. put_ref_page() drops
    /// MF_COUNT_INCREASED's reference (the model does not count GUP's).
    public mutating func memoryFailure(_ pfn: PFN, flags: MFFlags, current m: Int) -> MemoryFailureResult {
        note("memory_failure(pfn \(pfn))")
        guard let (ino, _) = daxDevice(containing: pfn) else {
            return MemoryFailureResult(rc: nil, notModelled: "memory_failure() of a RAM page (pfn \(pfn)) is not modelled")
        }
        // dax.memmap = none: no struct page, so pfn_valid() fails (no memmap section) and there
        // is no pgmap to route by: "memory outside kernel control", ENXIO, nobody signalled.
        guard daxHasStructPages(ino) else {
            note("memory_failure: \(pfn): memory outside kernel control (no struct page, no pgmap) → ENXIO")
            return MemoryFailureResult(rc: .ENXIO)
        }
        return memoryFailureDevPagemap(pfn, flags: flags, ino, current: m)
    }

    /// Models memory_failure_dev_pagemap() in mm/memory-failure.c.
    /// Device-dax's pgmap has no ->memory_failure operation, so the generic handler runs;
    /// action_result(MF_MSG_DAX).
    mutating func memoryFailureDevPagemap(_ pfn: PFN, flags: MFFlags, _ ino: InodeID, current m: Int) -> MemoryFailureResult {
        var out = MemoryFailureResult()
        out.rc = mfGenericKillProcs(pfn, flags: flags, ino, current: m, sent: &out.sent)
        note("memory_failure_dev_pagemap: action_result(MF_MSG_DAX, \(out.rc == nil ? "MF_RECOVERED" : "MF_FAILED"))")
        return out
    }

    /// Models mf_generic_kill_procs() in mm/memory-failure.c.
    /// dax_lock_folio() (device-dax: folio->mapping is set by the first fault and never cleared,
    /// and a character device needs no entry lock, so it succeeds), SetPageHWPoison() on the folio
    /// head, flags |= MF_ACTION_REQUIRED | MF_MUST_KILL, collect_procs(folio, head page,
    /// force_early = true), unmap_and_kill().
    mutating func mfGenericKillProcs(_ pfn: PFN, flags: MFFlags, _ ino: InodeID, current m: Int,
                                     sent: inout [SentSignal]) -> Errno? {
        guard let dev = inodes[Int(ino)].dax else { return .ENXIO }
        let alignPages = dev.align >> pageShift
        let headIndex = UInt64(pfn - dev.basePFN) & ~(alignPages - 1)
        let head = dev.basePFN + PFN(headIndex)
        frames[head].flags.insert(.hwpoison)
        note("mf_generic_kill_procs: SetPageHWPoison(head pfn \(head))")
        let f = flags.union([.actionRequired, .mustKill])
        let toKill = collectProcsFile(headIndex, ino, current: m, forceEarly: true)
        unmapAndKill(toKill, pfn: pfn, ino, index: headIndex, flags: f, current: m, sent: &sent)
        return nil
    }

    /// Models task_early_kill() in mm/memory-failure.c.
    /// A task whose mm is the current task's is the current task (when force_early); any other only
    /// with PF_MCE_EARLY (prctl PR_MCE_KILL) or vm.memory_failure_early_kill = 1, neither of which
    /// is modelled (the default is 0).
    func taskEarlyKill(_ t: Int, forceEarly: Bool, current m: Int) -> Int? {
        guard mms[t].alive else { return nil }   // !tsk->mm
        if forceEarly && t == m { return m }
        return nil                               // find_early_kill_thread()
    }

    /// Models collect_procs_file() in mm/memory-failure.c.
    /// For the folio's head page at file index `index`: for each task (creation order) that
    /// task_early_kill() picks, each of its VMAs of the mapping that covers the index (address
    /// order), the head's address in it and dev_pagemap_mapping_shift() there;
    /// add_to_kill_anon_file() → __add_to_kill() drops an entry whose shift is 0 (the head is not
    /// mapped in that VMA).
    func collectProcsFile(_ index: UInt64, _ ino: InodeID, current m: Int, forceEarly: Bool) -> [ToKill] {
        var out: [ToKill] = []
        for tsk in mms.indices {
            guard let t = taskEarlyKill(tsk, forceEarly: forceEarly, current: m) else { continue }
            for v in mms[t].vmas.indices {
                let vma = mms[t].vmas[v]
                guard vma.inode == ino, let addr = vma.address(ofPgoff: index) else { continue }
                let shift = devPagemapMappingShift(t, v, addr)
                guard shift != 0 else { continue }
                out.append(ToKill(mm: MMID(t), addr: addr, sizeShift: shift))
            }
        }
        return out
    }

    /// Models dev_pagemap_mapping_shift() in mm/memory-failure.c.
    /// PUD_SHIFT for a PUD leaf, PMD_SHIFT for a PMD leaf, PAGE_SHIFT for a present PTE, 0 when
    /// nothing maps the address. The model keeps huge device-dax mappings as PTEs with _PAGE_PSE;
    /// the device alignment tells PMD from PUD.
    func devPagemapMappingShift(_ m: Int, _ v: Int, _ address: UInt64) -> Int {
        let pte = mms[m].pageTables.pte(address)
        guard pte.isPresent else { return 0 }
        guard pte.raw & PTE.pse != 0 else { return Int(pageShift) }
        guard let ino = mms[m].vmas[v].inode, let dev = inodes[Int(ino)].dax else { return Int(pageShift) }
        return dev.align.trailingZeroBitCount
    }

    /// Models unmap_and_kill() in mm/memory-failure.c.
    /// Unmap the largest size any collected entry maps (unmap_mapping_range(mapping, index <<
    /// PAGE_SHIFT & ~(size − 1), size, 0): every process's mappings of that range go), then
    /// kill_procs(). Nothing is unmapped when nobody was collected.
    mutating func unmapAndKill(_ toKill: [ToKill], pfn: PFN, _ ino: InodeID, index: UInt64, flags: MFFlags,
                               current m: Int, sent: inout [SentSignal]) {
        var size: UInt64 = 0
        for tk in toKill where tk.sizeShift != 0 { size = max(size, 1 << UInt64(tk.sizeShift)) }
        if size != 0 {
            let start = (index << pageShift) & ~(size - 1)
            let first = start >> pageShift, last = (start + size) >> pageShift - 1
            note("unmap_and_kill → unmap_mapping_range(pages \(first)..\(last), even_cows=0)")
            unmapMappingRange(ino, first: first, last: last, evenCOWs: false)
        }
        killProcs(toKill, forceKill: flags.contains(.mustKill), pfn: pfn, flags: flags, current: m, sent: &sent)
    }

    /// Models kill_procs() in mm/memory-failure.c.
    /// With forcekill, every collected task gets kill_proc() (an entry with addr == -EFAULT would
    /// get SIGKILL; collect_procs_file() never adds one).
    mutating func killProcs(_ toKill: [ToKill], forceKill: Bool, pfn: PFN, flags: MFFlags, current m: Int,
                            sent: inout [SentSignal]) {
        guard forceKill else { return }
        for tk in toKill { sent.append(killProc(tk, pfn: pfn, flags: flags, current: m)) }
    }

    /// Models kill_proc() in mm/memory-failure.c.
    /// force_sig_mceerr(BUS_MCEERR_AR, tk->addr, tk->size_shift) to the current task when
    /// MF_ACTION_REQUIRED, else send_sig_mceerr(BUS_MCEERR_AO, …).
    func killProc(_ tk: ToKill, pfn: PFN, flags: MFFlags, current m: Int) -> SentSignal {
        let ar = flags.contains(.actionRequired) && tk.mm == MMID(m)
        return SentSignal(mm: tk.mm, info: .mceErr(actionRequired: ar, address: tk.addr, lsb: tk.sizeShift))
    }

    /// Models a machine check on a user load in arch/x86/kernel/cpu/mce/core.c.
    /// A data load from a corrupted frame: do_machine_check() → queue_task_work() →
    /// kill_me_maybe() → memory_failure(pfn, MF_ACTION_REQUIRED) with the loading task as
    /// current. Returns the signal it sent that task.
    mutating func machineCheck(_ m: Int, _ address: UInt64, _ pfn: PFN) -> CallResult {
        note("machine check (SRAR) on a load at 0x\(String(address, radix: 16)) → kill_me_maybe → memory_failure(pfn \(pfn))")
        let r = memoryFailure(pfn, flags: [.actionRequired], current: m)
        if let why = r.notModelled { return .backendError(why) }
        if let s = r.sent.first(where: { $0.mm == MMID(m) }) { return .signal(s.info) }
        if let e = r.rc, e != .EHWPOISON, e != .EOPNOTSUPP {
            // kill_me_maybe(): "Memory error not recovered" → kill_me_now(): force_sig(SIGBUS),
            // si_code SI_KERNEL, no address; only this task, and its mappings stay.
            note("kill_me_maybe: memory_failure() = \(e) → kill_me_now → force_sig(SIGBUS)")
            return .signal(.busKernel)
        }
        return .backendError("memory_failure(pfn \(pfn)) sent no signal to the task that consumed the error")
    }
}
