// SPDX-License-Identifier: Apache-2.0
//
// Guard regions: MADV_GUARD_INSTALL / MADV_GUARD_REMOVE (mm/madvise.c
// madvise_guard_install(), madvise_guard_remove()).

extension Kernel {
    /// Models madvise_guard_install() over one VMA piece: install guard markers, zapping
    /// (zap_page_range_single() with no details: even COWs, markers kept) whatever is mapped
    /// there first. Existing content is discarded; shmem pages stay in the page cache.
    mutating func madviseGuardInstall(_ m: Int, _ v: Int, _ s: UInt64, _ e: UInt64) -> Errno? {
        let vma = mms[m].vmas[v]
        if !vma.flags.intersection(VMFlags.special.union([.hugetlb, .locked])).isEmpty { return .EINVAL }
        // anon_vma_prepare(): so that fork copies the markers even in file VMAs.
        anonVMAPrepare(m, v)
        var retries = 0
        while true {
            var needsZap = false
            var a = s
            while a < e {
                let pte = mms[m].pageTables.pte(a)
                if pte.isNone {
                    mms[m].pageTables.set(a, PTEMarker.guard_.pte)
                    costs.pteWrites += 1
                } else if pte.marker?.contains(.guard_) != true {
                    needsZap = true
                }
                a += pageSize
            }
            guard needsZap else { return nil }
            retries += 1
            // MAX_MADVISE_GUARD_RETRIES, then restart_syscall(): a uffd-wp marker in a file
            // VMA survives the zap and would make the kernel loop; the model stops here.
            if retries > 3 { return .EAGAIN }
            var b = s
            while b < e {
                guard let t = mms[m].pageTables.nextTable(b, e) else { break }
                b = t
                let pte = mms[m].pageTables.pte(b)
                if !pte.isNone && pte.marker?.contains(.guard_) != true {
                    _ = zapOne(m, vma: mms[m].vmas[v], b, pte, ZapDetails(evenCOWs: true, dropMarkers: false))
                }
                b += pageSize
            }
            costs.tlbFlushes += 1
        }
    }

    /// Models madvise_guard_remove(): clear guard markers, nothing else.
    mutating func madviseGuardRemove(_ m: Int, _ v: Int, _ s: UInt64, _ e: UInt64) -> Errno? {
        let vma = mms[m].vmas[v]
        if !vma.flags.intersection(VMFlags.special.union([.hugetlb])).isEmpty { return .EINVAL }
        var a = s
        while a < e {
            // walk_page_range() visits the tables that exist.
            guard let t = mms[m].pageTables.nextTable(a, e) else { break }
            a = t
            _ = mms[m].pageTables.walkTable(a)
            let pte = mms[m].pageTables.pte(a)
            if let marker = pte.marker, marker.contains(.guard_) {
                let rest = marker.subtracting(.guard_)
                mms[m].pageTables.set(a, rest.isEmpty ? .none : rest.pte)
                costs.pteWrites += 1
            }
            a += pageSize
        }
        return nil
    }
}
