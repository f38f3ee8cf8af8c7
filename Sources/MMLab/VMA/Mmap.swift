// SPDX-License-Identifier: Apache-2.0
//
// mmap, munmap and mprotect with VMA split and merge (mm/mmap.c, mm/vma.c, mm/mprotect.c).

/// What a new mapping maps.
public enum MapTarget: Sendable {
    /// MAP_ANONYMOUS (private anon, or shared anon backed by a hidden shmem inode).
    case anon
    /// A shmem/memfd inode.
    case file(InodeID)
}

extension Kernel {
    /// Models vma_wants_writenotify(): shared writable VMAs that need write faults.
    func vmaWantsWritenotify(_ vma: VMA) -> Bool { vmaWantsWritenotify(vma.flags) }

    func vmaWantsWritenotify(_ flags: VMFlags) -> Bool {
        guard flags.contains(.shared), flags.contains(.write) else { return false }
        if config.memSoftDirty && !flags.contains(.softDirty) { return true }  // vma_soft_dirty_enabled()
        if flags.contains(.uffdWP) { return true }                              // userfaultfd_wp()
        return false  // shmem has no page_mkwrite and no writeback accounting
    }

    /// Models vma->vm_page_prot (vm_get_page_prot() + vma_set_page_prot()) on x86-64.
    func pageProt(_ vma: VMA) -> UInt64 { pageProt(vma.flags) }

    /// pageProt() from the VMA's flags alone (callers need not copy the VMA).
    func pageProt(_ f: VMFlags) -> UInt64 {
        var prot = Self.privatePageProt(f)
        if f.contains(.shared) && f.contains(.write) && !vmaWantsWritenotify(f) {
            prot |= PTE.rw                                                      // PAGE_SHARED
        }
        return prot
    }

    /// Models vm_get_page_prot() without VM_SHARED (no configuration involved): PAGE_NONE,
    /// or PAGE_READONLY / PAGE_COPY.
    static func privatePageProt(_ f: VMFlags) -> UInt64 {
        if !f.contains(.read) && !f.contains(.write) {
            return PTE.protnone | PTE.accessed                                  // PAGE_NONE
        }
        return PTE.present | PTE.user | PTE.accessed | PTE.nx                   // PAGE_READONLY / PAGE_COPY
    }

    /// Models do_mmap() + mmap_region(): returns the start address of the new mapping.
    /// Placement: a 2 MiB boundary by default; `align` ≥ 2 MiB places it on a multiple of
    /// `align`; a smaller `align` places it `align` bytes past a 2 MiB boundary, so scenarios
    /// can test fault-around windows off the 2 MiB grid. The checks come in the kernel's order:
    /// the offset's alignment (sys_mmap: EINVAL), the file (EBADF), a length of 0 (EINVAL) or
    /// one that page-aligns to 0 (ENOMEM), pgoff + pages overflowing (EOVERFLOW), a length
    /// beyond TASK_SIZE or no room for it (get_unmapped_area(): ENOMEM), then file_mmap_ok()
    /// (the mapping must end within MAX_LFS_FILESIZE: EOVERFLOW) and the file's own ->mmap.
    public mutating func mmap(_ mmID: MMID, length: UInt64, prot: Prot, shared: Bool,
                              target: MapTarget, offset: UInt64 = 0, align: UInt64 = pmdSize) -> Result<UInt64, Errno> {
        // The placement option `align=` is the scenario's, checked first (as the live backend does).
        guard align >= pageSize, align & (pageSize - 1) == 0, align < pmdSize || align & (align - 1) == 0
        else { return .failure(.EINVAL) }
        guard offset & (pageSize - 1) == 0 else { return .failure(.EINVAL) }
        if case .file(let ino) = target, !(Int(ino) >= 0 && Int(ino) < inodes.count && inodes[Int(ino)].open) {
            return .failure(.EBADF)
        }
        guard length > 0 else { return .failure(.EINVAL) }
        guard length <= UInt64.max - (pageSize - 1) else { return .failure(.ENOMEM) }   // PAGE_ALIGN(len) == 0
        let len = (length + pageSize - 1) & ~(pageSize - 1)
        var pgoff = offset >> pageShift
        guard pgoff <= UInt64.max - (len >> pageShift) else { return .failure(.EOVERFLOW) }
        guard len <= taskSize else { return .failure(.ENOMEM) }   // __get_unmapped_area()
        if case .file(let ino) = target {
            // file_mmap_ok(): shmem, guest_memfd and device files are regular files here.
            guard pgoff <= (maxLFSFileSize - len) >> pageShift else { return .failure(.EOVERFLOW) }
            if let e = kvmGmemMmap(ino, shared: shared) { return .failure(e) }   // call_mmap(): guest_memfd
            if let e = daxMmapCheck(ino, shared: shared, length: length, offset: offset) { return .failure(e) }
        }
        // Placement (get_unmapped_area()): a fresh 2 MiB-aligned region with a gap on both
        // sides, so mappings never merge. A dax device pads to its own alignment
        // (dax_get_unmapped_area()).
        var placeAlign = align
        if case .file(let ino) = target, let daxAlign = daxPlacementAlign(ino) { placeAlign = max(placeAlign, daxAlign) }
        guard let base = unmappedArea(Int(mmID), len, align: placeAlign) else { return .failure(.ENOMEM) }
        var backing: VMABacking
        switch target {
        case .anon:
            if shared {
                // shmem_zero_setup(): MAP_SHARED|MAP_ANONYMOUS is a hidden shmem file.
                let ino = createShmemInode(name: "dev/zero (deleted)", size: len)
                inodes[Int(ino)].open = false   // no fd: the VMA holds the only reference
                backing = .shmem(ino)
                pgoff = 0
            } else {
                backing = .anon
            }
        case .file(let ino):
            backing = .shmem(ino)
        }

        var flags: VMFlags = [.mayRead, .mayWrite, .mayExec]
        if prot != .none { flags.insert(.read) }
        if prot == .rw { flags.insert(.write) }
        if shared { flags.formUnion([.shared, .mayShare]) }
        if config.memSoftDirty { flags.insert(.softDirty) }  // __mmap_region() sets VM_SOFTDIRTY
        if case .anon = backing { pgoff = base >> pageShift }
        if case .shmem(let ino) = backing { flags.formUnion(daxVMAFlags(ino)) }   // dax_mmap(): VM_PFNMAP under dax.memmap = none
        flags = ksmVMAFlags(Int(mmID), flags, backing: backing)
        let vma = VMA(start: base, end: base + len, flags: flags, backing: backing, pgoff: pgoff)
        insertVMA(mmID, vma)
        check()
        return .success(base)
    }

    /// TASK_SIZE on x86-64 with 4-level paging: (1 << 47) − PAGE_SIZE.
    var taskSize: UInt64 { (1 << 47) - pageSize }
    /// MAX_LFS_FILESIZE on 64-bit: LLONG_MAX.
    var maxLFSFileSize: UInt64 { UInt64(Int64.max) }
    /// mmap_min_addr (the default 64 KiB).
    var mmapMinAddr: UInt64 { 1 << 16 }

    /// Models get_unmapped_area() for the model's placement: the next address of the bump
    /// allocator above 0x7f00_0000_0000 (every mapping a fresh region, 2 MiB of gap on both
    /// sides), or, when the mapping does not fit below TASK_SIZE there, the highest gap of
    /// this mm's address space below that region that holds it with its gaps (the top-down
    /// search of arch_get_unmapped_area_topdown()); nil (ENOMEM) when none does.
    mutating func unmappedArea(_ m: Int, _ len: UInt64, align: UInt64) -> UInt64? {
        let bigAlign = align >= pmdSize ? align : pmdSize
        let extra = align < pmdSize ? align : 0
        func place(from lo: UInt64) -> UInt64? {
            guard lo <= UInt64.max - bigAlign else { return nil }
            let base = ((lo + bigAlign - 1) & ~(bigAlign - 1)) + extra
            guard base <= taskSize, len <= taskSize - base else { return nil }
            return base
        }
        if let base = place(from: nextMapBase), taskSize - (base + len) >= 2 * pmdSize {
            nextMapBase = (base + len + 2 * pmdSize + pmdSize - 1) & ~(pmdSize - 1)
            return base
        }
        // Top down through the gaps below the bump region.
        var top: UInt64 = 0x7f00_0000_0000
        for vma in mms[m].vmas.reversed() where vma.start < top {
            if vma.end + 2 * pmdSize <= top, let base = placeBelow(top, above: vma.end + 2 * pmdSize) { return base }
            top = min(top, vma.start >= 2 * pmdSize ? vma.start - 2 * pmdSize : 0)
        }
        return placeBelow(top, above: mmapMinAddr)

        func placeBelow(_ limit: UInt64, above floor: UInt64) -> UInt64? {
            guard limit >= len + extra else { return nil }
            let base = ((limit - len - extra) & ~(bigAlign - 1)) + extra
            return base >= floor && base + len <= limit ? base : nil
        }
    }

    mutating func insertVMA(_ mmID: MMID, _ vma: VMA) {
        let m = Int(mmID)
        var i = 0
        while i < mms[m].vmas.count && mms[m].vmas[i].start < vma.start { i += 1 }
        mms[m].vmas.insert(vma, at: i)
    }

    /// Models __split_vma(): split the VMA at index `v` at `address`; returns the index of
    /// the upper part.
    @discardableResult
    mutating func splitVMA(_ m: Int, _ v: Int, at address: UInt64) -> Int {
        var lower = mms[m].vmas[v]
        var upper = lower
        lower.end = address
        upper.start = address
        upper.pgoff = lower.pgoff + ((address - lower.start) >> pageShift)
        mms[m].vmas[v] = lower
        mms[m].vmas.insert(upper, at: v + 1)
        return v + 1
    }

    /// Splits VMAs so that [start, end) is covered by whole VMAs; returns the index range
    /// of VMAs inside it (possibly with holes between them).
    mutating func isolateRange(_ m: Int, _ start: UInt64, _ end: UInt64) -> Range<Int> {
        var first = mms[m].vmas.count
        var i = 0
        while i < mms[m].vmas.count {
            let vma = mms[m].vmas[i]
            if vma.end <= start { i += 1; continue }
            if vma.start >= end { break }
            if vma.start < start {
                i = splitVMA(m, i, at: start)
                continue
            }
            if vma.end > end { splitVMA(m, i, at: end) }
            first = min(first, i)
            i += 1
        }
        let last = mms[m].vmas.firstIndex(where: { $0.start >= end }) ?? mms[m].vmas.count
        return first < last ? first..<last : last..<last
    }

    /// Whether [start, end) is mapped without holes.
    func rangeIsFullyMapped(_ m: Int, _ start: UInt64, _ end: UInt64) -> Bool {
        var a = start
        for vma in mms[m].vmas where vma.end > a && vma.start < end {
            if vma.start > a { return false }
            a = vma.end
            if a >= end { return true }
        }
        return a >= end
    }

    /// Models is_mergeable_vma() + is_mergeable_anon_vma() for two adjacent VMAs.
    func canMerge(_ a: VMA, _ b: VMA) -> Bool {
        guard a.end == b.start,
              a.flags.subtracting(.softDirty) == b.flags.subtracting(.softDirty),
              a.backing == b.backing, a.uffd == b.uffd else { return false }
        if case .shmem = a.backing, a.pgoff + UInt64(a.pages) != b.pgoff { return false }
        if case .anon = a.backing, a.pgoff + UInt64(a.pages) != b.pgoff { return false }
        if a.anonVMA == b.anonVMA { return a.anonVMAChain == b.anonVMAChain }
        if a.anonVMA == nil { return b.anonVMAChain.count <= 1 }
        if b.anonVMA == nil { return a.anonVMAChain.count <= 1 }
        return false
    }

    /// Models vma_merge_existing_range(): merge VMAs in [lo, hi] with their neighbours.
    mutating func mergeVMAs(_ m: Int, around range: ClosedRange<Int>) {
        var i = max(range.lowerBound - 1, 0)
        var hi = min(range.upperBound + 1, mms[m].vmas.count - 1)
        while i < hi {
            let a = mms[m].vmas[i], b = mms[m].vmas[i + 1]
            if canMerge(a, b) {
                var merged = a
                merged.end = b.end
                if merged.anonVMA == nil {
                    merged.anonVMA = b.anonVMA
                    merged.anonVMAChain = b.anonVMAChain
                }
                merged.flags.formUnion(b.flags.intersection(.softDirty))
                mms[m].vmas[i] = merged
                mms[m].vmas.remove(at: i + 1)
                hi -= 1
            } else {
                i += 1
            }
        }
    }

    /// Models munmap(2), run to its end (see munmapStep()).
    public mutating func munmap(_ mmID: MMID, start: UInt64, length: UInt64) -> Errno? {
        performForError(.munmap(mmID, address: start, length: length))
    }

    /// One step of munmap(2) (__vm_munmap()): userfaultfd_unmap_prep() collects the contexts
    /// that want UNMAP events, do_vmi_munmap() unmaps under mmap_lock (write), then
    /// userfaultfd_unmap_complete() queues one UNMAP event per context and waits until each
    /// is read (the next steps, one per event read).
    mutating func munmapStep(_ task: inout SyscallTask, _ mm: MMID, start: UInt64, length: UInt64) -> StepResult {
        if case .events = task.progress { return waitForEvents(&task) }
        var ctxs: [UffdID] = []
        let end = start &+ ((length &+ pageSize &- 1) & ~(pageSize - 1))
        for vma in mms[Int(mm)].vmas where vma.end > start && vma.start < end {
            if let u = vma.uffd, uffdFeatures(vma).contains(.eventUnmap), !ctxs.contains(u) { ctxs.append(u) }
        }
        if let e = doVmiMunmap(mm, start: start, length: length) { return .finished(.errno(e)) }
        var pending: [WaitID] = []
        for u in ctxs { pending.append(queueEvent(u, UffdMessage(event: .unmap, start: start, end: end))) }
        task.progress = .events(pending: pending, result: .ok)
        return waitForEvents(&task)
    }

    /// The end of a call that raised synchronous userfaultfd events: it sleeps until each was
    /// read, in order (userfaultfd_event_wait_completion()), then returns its result.
    mutating func waitForEvents(_ task: inout SyscallTask) -> StepResult {
        guard case .events(var pending, let result) = task.progress else { return .finished(.errno(.EIO)) }
        while let w = pending.first {
            if !isWoken(w) {
                task.progress = .events(pending: pending, result: result)
                return .blocked(w, .event)
            }
            pending.removeFirst()
        }
        task.progress = .events(pending: [], result: result)
        return .finished(result)
    }

    /// Models do_vmi_munmap(): zap with ZAP_FLAG_DROP_MARKER, remove VMAs, free page tables.
    mutating func doVmiMunmap(_ mmID: MMID, start: UInt64, length: UInt64) -> Errno? {
        guard start & (pageSize - 1) == 0, length > 0 else { return .EINVAL }
        let m = Int(mmID)
        let end = start + ((length + pageSize - 1) & ~(pageSize - 1))
        if let e = daxMaySplit(m, start, end) { return e }
        lruAddDrain()   // unmap_region() / vms_clear_ptes()
        let r = isolateRange(m, start, end)
        var files: [InodeID] = []
        for v in r {
            let vma = mms[m].vmas[v]
            zapPTERange(m, vma: vma, vma.start, vma.end, details: ZapDetails(evenCOWs: true, dropMarkers: true))
            noteDiscard(m, vma.start, vma.end)
            if let ino = vma.inode, !files.contains(ino) { files.append(ino) }
        }
        mms[m].vmas.removeSubrange(r)
        freePgtables(m, start, end)
        for ino in files { releaseInodeIfUnused(ino) }
        check()
        return nil
    }

    /// Models free_pgtables(): free PTE tables no VMA covers any more.
    /// Only the tables that exist are visited (free_pgd_range() skips none entries).
    mutating func freePgtables(_ m: Int, _ start: UInt64, _ end: UInt64) {
        for pmd in mms[m].pageTables.tables(start & ~(pmdSize - 1), end) {
            let lo = pmd << 21, hi = lo &+ pmdSize
            let v = mms[m].vmaIndex(containing: lo) ?? mms[m].vmas.firstIndex { $0.start >= lo }
            let used = v.map { mms[m].vmas[$0].start < hi && mms[m].vmas[$0].end > lo } ?? false
            if !used {
                guard mms[m].pageTables.tableIsEmpty(pmd: pmd) else {
                    invariantViolations.append("free_pgtables: the PTE table at 0x\(String(lo, radix: 16)) still maps pages (a model bug)")
                    continue
                }
                mms[m].pageTables.freeTable(pmd: pmd)
            }
        }
    }

    /// Models do_mprotect_pkey() + mprotect_fixup() + change_protection().
    public mutating func mprotect(_ mmID: MMID, start: UInt64, length: UInt64, prot: Prot) -> Errno? {
        guard start & (pageSize - 1) == 0 else { return .EINVAL }
        let m = Int(mmID)
        let end = start + ((length + pageSize - 1) & ~(pageSize - 1))
        guard end > start else { return nil }
        if let e = daxMaySplit(m, start, end) { return e }
        let r = isolateRange(m, start, end)
        var result: Errno? = nil
        var expected = start
        for v in r {
            // A hole ends the walk with ENOMEM; VMAs before it keep their change, as in the kernel.
            if mms[m].vmas[v].start != expected { result = .ENOMEM; break }
            expected = mms[m].vmas[v].end
            var vma = mms[m].vmas[v]
            if prot == .rw && !vma.flags.contains(.mayWrite) { result = .EACCES; break }
            let oldFlags = vma.flags
            vma.flags.remove([.read, .write])
            if prot != .none { vma.flags.insert(.read) }
            if prot == .rw { vma.flags.insert(.write) }
            mms[m].vmas[v] = vma
            if vma.flags != oldFlags { changeProtection(m, vma: vma) }
        }
        if result == nil && expected < end { result = .ENOMEM }
        if !r.isEmpty { mergeVMAs(m, around: r.lowerBound...(r.upperBound - 1)) }
        check()
        return result
    }

    /// Models change_protection() → change_pte_range() with MM_CP_TRY_CHANGE_WRITABLE.
    mutating func changeProtection(_ m: Int, vma: VMA) {
        let newProt = pageProt(vma)
        let tryWritable = vma.flags.contains(.write) && vmaWantsManualPTEWriteUpgrade(vma)
        var a = vma.start
        // change_pmd_range() skips pmd_none() entries (and absent upper levels).
        while let t = mms[m].pageTables.nextTable(a, vma.end) {
            a = t
            _ = mms[m].pageTables.walkTable(a)
            let tableEnd = min(vma.end, (a | (pmdSize - 1)) &+ 1)
            while a < tableEnd {
                let pte = mms[m].pageTables.pte(a)
                costs.pteReads += 1
                if pte.isPresent {
                    // pte_modify(): keep _PAGE_CHG_MASK (pfn, dirty, young, special, soft-dirty, uffd-wp).
                    let keep = PTE.pfnMask | PTE.dirty | PTE.accessed | PTE.special | PTE.softDirty | PTE.uffdWP
                    var new = ksmWrprotect(PTE(raw: (pte.raw & keep) | newProt))
                    if new.uffdWP { new = new.without(PTE.rw) }
                    if tryWritable && !new.isWritable && canChangePTEWritable(vma, new) { new = new.with(PTE.rw) }
                    if new != pte {
                        mms[m].pageTables.set(a, new)
                        costs.pteWrites += 1
                    }
                }
                a += pageSize
            }
        }
        costs.tlbFlushes += 1
    }

    /// Models vma_wants_manual_pte_write_upgrade().
    func vmaWantsManualPTEWriteUpgrade(_ vma: VMA) -> Bool {
        if vma.flags.contains(.shared) { return !vmaWantsWritenotify(vma) }
        return vma.anonVMA != nil
    }

    /// Models pte_needs_soft_dirty_wp(): soft-dirty tracking is on and the PTE is clean of it.
    func pteNeedsSoftDirtyWP(_ vma: VMA, _ pte: PTE) -> Bool {
        config.memSoftDirty && !vma.flags.contains(.softDirty) && !pte.softDirty
    }

    /// Models can_change_pte_writable().
    func canChangePTEWritable(_ vma: VMA, _ pte: PTE) -> Bool {
        guard vma.flags.contains(.write), !pte.isProtNone else { return false }
        if let pfn = normalPage(pte), frames.flags(pfn).contains(.ksm) { return false }   // never a KSM page
        if pteNeedsSoftDirtyWP(vma, pte) { return false }
        if pte.uffdWP && vma.flags.contains(.uffdWP) { return false }
        if !vma.flags.contains(.shared) {
            guard let pfn = normalPage(pte) else { return false }
            return frames[pfn].flags.contains(.anon) && frames[pfn].flags.contains(.anonExclusive)
        }
        return pte.isDirty
    }
}
