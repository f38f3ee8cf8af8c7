// SPDX-License-Identifier: Apache-2.0
//
// The PAGEMAP_SCAN ioctl on /proc/PID/pagemap (fs/proc/task_mmu.c do_pagemap_scan(),
// pagemap_scan_test_walk(), pagemap_page_category(), pagemap_scan_output()).

/// Where a PAGEMAP_SCAN walk stands: the next address (nil before the first step), the
/// regions found so far and the pages reported (for max_pages).
public struct PagemapScanState: Hashable, Sendable {
    var position: UInt64? = nil
    var regions: [PageRegion] = []
    var reported: UInt64 = 0
    public init() {}
}

/// The next piece of a PAGEMAP_SCAN walk.
enum ScanPiece: Equatable {
    case piece(v: Int, start: UInt64, end: UInt64, wpAllowed: Bool)
    /// pagemap_scan_test_walk() fails the call (CHECK_WPASYNC on a VMA without async uffd-wp).
    case eperm
    case none
}

extension Kernel {
    /// Models do_pagemap_scan(): the matching pages as merged regions, with the
    /// WP_MATCHING side effect of write-protecting every matched page that is WRITTEN. The
    /// walk is the stepped task `explore` interleaves, run to its end.
    public mutating func pagemapScan(_ mmID: MMID, _ args: PagemapScanArgs) -> Result<[PageRegion], Errno> {
        switch perform(.pagemapScan(mmID, args)) {
        case .regions(let r): return .success(r)
        case .errno(let e): return .failure(e)
        default: return .failure(.EIO)
        }
    }

    /// One step of do_pagemap_scan() → walk_page_range(): the argument check with the first
    /// piece, then one VMA's piece within one PTE table per step (pagemap_scan_pmd_entry()
    /// under the table's lock, mmap_lock held for read throughout). pagemap_scan_test_walk()
    /// decides per VMA: without async uffd-wp, CHECK_WPASYNC fails the call with EPERM (after
    /// what was already done) and WP_MATCHING skips the VMA.
    mutating func pagemapScanStep(_ task: inout SyscallTask, _ mmID: MMID, _ args: PagemapScanArgs) -> StepResult {
        var st = PagemapScanState()
        if case .scan(let s) = task.progress { st = s }
        let m = Int(mmID)
        if st.position == nil {
            let masks = args.categoryInverted | args.categoryMask | args.categoryAnyofMask | args.returnMask
            guard masks & ~PageCategory.all == 0, args.start & (pageSize - 1) == 0 else { return .finished(.errno(.EINVAL)) }
            st.position = args.start
        }
        var a = st.position!
        do {
            let v: Int, from: UInt64, pieceEnd: UInt64, wpAllowed: Bool
            switch pagemapScanPiece(m, args, from: a) {
            case .none: check(); return .finished(.regions(st.regions))
            case .eperm: return .finished(.errno(.EPERM))
            case .piece(let pv, let ps, let pe, let pw): (v, from, pieceEnd, wpAllowed) = (pv, ps, pe, pw)
            }
            let vma = mms[m].vmas[v]
            var vmaCats: UInt64 = 0
            if wpAllowed { vmaCats |= PageCategory.wpAllowed }
            if vma.flags.contains(.softDirty) { vmaCats |= PageCategory.softDirty }
            // pagemap_scan_pte_hole(): a range without a PTE table reads as written on a
            // uffd-wp VMA only ("fix PAGEMAP_SCAN written state for pmd holes", in 6.18.44).
            let holeCats = vmaCats | (vma.flags.contains(.uffdWP) && !vma.flags.contains(.hugetlb) ? PageCategory.written : 0)
            a = from
            let name = mms[m].name
            note("pagemap_scan_pmd_entry(\(name), 0x\(String(from, radix: 16))..0x\(String(pieceEnd, radix: 16)))")
            if mms[m].pageTables.nextTable(a, pieceEnd) == nil && !(args.wpMatching && holeCats & PageCategory.written != 0) {
                // No table: every page is a none PTE, reported in one go (pagemap_scan_pte_hole()).
                let cats = holeCats
                let c = cats ^ args.categoryInverted
                if (c & args.categoryMask) == args.categoryMask && (args.categoryAnyofMask == 0 || c & args.categoryAnyofMask != 0) {
                    var n = (pieceEnd - a) >> pageShift
                    if args.maxPages != 0 {
                        guard st.reported < args.maxPages else { check(); return .finished(.regions(st.regions)) }
                        n = min(n, args.maxPages - st.reported)
                    }
                    st.reported += n
                    let out = cats & args.returnMask, holeEnd = a + n << pageShift
                    if let last = st.regions.last, last.end == a, last.categories == out {
                        st.regions[st.regions.count - 1].end = holeEnd
                    } else {
                        // pagemap_scan_push_range(): a region even with no category left.
                        st.regions.append(PageRegion(start: a, end: holeEnd, categories: out))
                    }
                    if holeEnd < pieceEnd { check(); return .finished(.regions(st.regions)) }
                }
                a = pieceEnd
            }
            while a < pieceEnd {
                let cats = mms[m].pageTables.hasTable(a) ? vmaCats | pageCategories(vma, mms[m].pageTables.pte(a)) : holeCats
                let c = cats ^ args.categoryInverted
                let match = (c & args.categoryMask) == args.categoryMask
                    && (args.categoryAnyofMask == 0 || c & args.categoryAnyofMask != 0)
                if match {
                    if args.maxPages != 0 && st.reported >= args.maxPages { check(); return .finished(.regions(st.regions)) }
                    st.reported += 1
                    let out = cats & args.returnMask
                    if let last = st.regions.last, last.end == a, last.categories == out {
                        st.regions[st.regions.count - 1].end = a + pageSize
                    } else {
                        // pagemap_scan_push_range(): a region even with no category left.
                        st.regions.append(PageRegion(start: a, end: a + pageSize, categories: out))
                    }
                    if args.wpMatching && cats & PageCategory.written != 0 { writeProtectForScan(m, v, a) }
                }
                a += pageSize
            }
            check()
            guard pagemapScanPiece(m, args, from: a) != .none else { return .finished(.regions(st.regions)) }
            st.position = a
            task.progress = .scan(st)
            return .running
        }
    }

    /// The PTEs the next step of a PAGEMAP_SCAN reads (and with WP_MATCHING may write).
    func pagemapScanNextPiece(_ mmID: MMID, _ args: PagemapScanArgs, _ st: PagemapScanState) -> Range<UInt64>? {
        guard case .piece(_, let s, let e, _) = pagemapScanPiece(Int(mmID), args, from: st.position ?? args.start) else { return nil }
        return s..<e
    }

    /// What the next step of a PAGEMAP_SCAN reads and writes: one table's PTEs, read (and
    /// written with WP_MATCHING: the scan write-protects what it reports written), mmap_lock
    /// held for read.
    func pagemapScanFootprint(_ task: SyscallTask) -> Footprint {
        guard case .pagemapScan(let mm, let args) = task.call else { return Footprint(writes: [.global]) }
        var st = PagemapScanState()
        if case .scan(let s) = task.progress { st = s }
        guard Int(mm) < mms.count, mms[Int(mm)].alive, let r = pagemapScanNextPiece(mm, args, st) else {
            return Footprint(reads: [.vmas(mm: mm)])
        }
        var f = Footprint(reads: [.vmas(mm: mm)])
        let ptes = Resource.ptes(mm: mm, pages: (r.lowerBound >> pageShift)..<(r.upperBound >> pageShift))
        if args.wpMatching { f.writes.append(ptes) } else { f.reads.append(ptes) }
        return f
    }

    /// Where a PAGEMAP_SCAN walk goes next from `from`: the next VMA piece within one PTE
    /// table, after the VMAs pagemap_scan_test_walk() skips (no async uffd-wp with
    /// WP_MATCHING, VM_PFNMAP); EPERM for a VMA without async uffd-wp under CHECK_WPASYNC.
    func pagemapScanPiece(_ m: Int, _ args: PagemapScanArgs, from: UInt64) -> ScanPiece {
        let end = (args.end + pageSize - 1) & ~(pageSize - 1)
        var a = from
        while a < end, let v = mms[m].vmas.firstIndex(where: { $0.end > a && $0.start < end }) {
            let vma = mms[m].vmas[v]
            let wpAllowed = uffdWPAsync(vma) && uffdWPUseMarkers(vma)
            if !wpAllowed {
                if args.checkWPAsync { return .eperm }
                if args.wpMatching { a = vma.end; continue }
            }
            if vma.flags.contains(.pfnmap) { a = vma.end; continue }
            a = max(a, vma.start)
            // One table under its lock, or the absent tables up to the next one
            // (pagemap_scan_pte_hole() for what pmd_none() entries cover).
            return .piece(v: v, start: a, end: mms[m].pageTables.lockStepEnd(a, min(end, vma.end)), wpAllowed: wpAllowed)
        }
        return .none
    }

    /// Models pagemap_page_category() for one PTE (the PTE-level categories). A none PTE
    /// reads as written, as the PAGE_IS_WRITTEN fast path of pagemap_scan_pmd_entry() reports
    /// it ("fix PAGEMAP_SCAN written state for unpopulated ptes", in 6.18.44; checked on it).
    func pageCategories(_ vma: VMA, _ pte: PTE) -> UInt64 {
        var c: UInt64 = 0
        if pte.isNone { return PageCategory.written }
        if pte.isPresent {
            c |= PageCategory.present
            if pte.raw & PTE.pse != 0 { c |= PageCategory.huge }   // mapped by a PMD or PUD
            if !pte.uffdWP { c |= PageCategory.written }
            if let page = normalPage(pte), !frames.flags(page).contains(.anon) { c |= PageCategory.file }
            if pte.pfn == FrameTable.zeroPFN { c |= PageCategory.pfnZero }
            if pte.softDirty { c |= PageCategory.softDirty }
        } else if pte.isSwapPTE {
            c |= PageCategory.swapped
            let marker = pte.marker
            if !pte.swpUffdWP && !(marker?.contains(.uffdWP) ?? false) { c |= PageCategory.written }
            if marker?.contains(.guard_) ?? false { c |= PageCategory.guardRegion }
            if pte.swpSoftDirty { c |= PageCategory.softDirty }
        }
        return c
    }

    /// The WP_MATCHING side effect on one page (make_uffd_wp_pte()): uffd-wp bit on a present
    /// PTE, the swap uffd-wp bit on a swap PTE (a guard or poison marker included), a uffd-wp
    /// marker on a none PTE.
    mutating func writeProtectForScan(_ m: Int, _ v: Int, _ a: UInt64) {
        let pte = mms[m].pageTables.pte(a)
        let new: PTE
        if pte.isPresent { new = pte.mkUffdWP() }
        else if pte.isSwapPTE { new = pte.with(PTE.swpUffdWP) }   // pte_swp_mkuffd_wp(), a marker too
        else { new = PTEMarker.uffdWP.pte }
        mms[m].pageTables.set(a, new)
        costs.pteWrites += 1
        noteWriteProtect(m, a, a + pageSize, protect: true)
    }
}
