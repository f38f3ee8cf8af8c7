// SPDX-License-Identifier: Apache-2.0
//
// guest_memfd in-place conversion, design guest_memfd.conversion = in_place (seed 004): the
// series of Ackerley Tng and Sean Christopherson (v7, 2026-05; in linux-next, not in a
// release). Each guest_memfd inode keeps its shared/private attributes as ranges (a maple tree
// in the series; sorted disjoint ranges of private pages here), and the guest_memfd itself
// takes KVM_SET_MEMORY_ATTRIBUTES2 = _IOWR(KVMIO, 0xd2, struct kvm_memory_attributes2). To
// private: unmap every host mapping of the range, then every folio must be at its baseline
// refcount, else EAGAIN with the error offset and nothing converted. To shared: always. A host
// fault on a private page is SIGBUS; contents stay in place. Under `none` (6.18) there are no
// attributes: the file's INIT_SHARED flag decides for every page (GuestMemfd.swift).

extension Kernel {
    /// Models the series' kvm_gmem_is_private(inode, index), the one place the design switch
    /// guest_memfd.conversion is read for faults: under `none` (6.18), every page is private
    /// unless the file was created with INIT_SHARED (kvm_gmem_fault_user_mapping()); under
    /// `in_place`, the attribute ranges of the inode decide.
    public func kvmGmemIsPrivate(_ ino: InodeID, _ index: UInt64) -> Bool {
        guard let flags = inodes[Int(ino)].gmemFlags else { return false }
        switch design.guestMemfdConversion {
        case .none: return !flags.contains(.initShared)
        case .in_place: return gmemRangeIndex(ino, containing: index) != nil
        }
    }

    /// The private range holding `index` (a binary search of the sorted ranges: mas_walk()).
    func gmemRangeIndex(_ ino: InodeID, containing index: UInt64) -> Int? {
        let r = inodes[Int(ino)].gmemPrivate
        var lo = 0, hi = r.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if r[mid].upperBound <= index { lo = mid + 1 } else { hi = mid }
        }
        return lo < r.count && r[lo].contains(index) ? lo : nil
    }

    /// Models kvm_gmem_init_attributes() of the series at creation: all private, or all shared
    /// with INIT_SHARED (one range store when there is a private range).
    mutating func kvmGmemInitAttributes(_ ino: InodeID) {
        guard design.guestMemfdConversion == .in_place, let flags = inodes[Int(ino)].gmemFlags,
              !flags.contains(.initShared) else { return }
        inodes[Int(ino)].gmemPrivate = [0..<inodes[Int(ino)].sizeInPages]
        costs.attributeStores += 1
    }

    /// Models the maple-tree store of an attribute over [first, end): the private ranges are
    /// cut around it and, for private, the new range is added and merged with its neighbours.
    mutating func kvmGmemStoreAttribute(_ ino: InodeID, _ first: UInt64, _ end: UInt64, toPrivate: Bool) {
        var out: [Range<UInt64>] = []
        for r in inodes[Int(ino)].gmemPrivate {
            if r.upperBound <= first || r.lowerBound >= end { out.append(r); continue }
            if r.lowerBound < first { out.append(r.lowerBound..<first) }
            if r.upperBound > end { out.append(end..<r.upperBound) }
        }
        if toPrivate { out.append(first..<end) }
        out.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<UInt64>] = []
        for r in out {
            if let last = merged.last, last.upperBound == r.lowerBound {
                merged[merged.count - 1] = last.lowerBound..<r.upperBound
            } else {
                merged.append(r)
            }
        }
        inodes[Int(ino)].gmemPrivate = merged
        costs.attributeStores += 1
    }

    /// Models KVM_SET_MEMORY_ATTRIBUTES2 on a guest_memfd (kvm_gmem_set_attributes() →
    /// kvm_gmem_convert() of the series). Under 6.18 (`none`) the file has no ioctl: ENOTTY,
    /// as for a memfd under either design. Under `in_place`: offset and length page-aligned,
    /// length non-zero, the range inside i_size (EINVAL). To private: unmap_mapping_pages()
    /// over the range in every process, then every folio of the range must be at its baseline
    /// refcount (folio_ref_count() == folio_nr_pages() + 1 with the lookup's own reference; the
    /// model takes none, so the page cache's one reference is the baseline); an elevated one
    /// drains the LRU-add batch once and is read again; if still elevated, EAGAIN with that
    /// folio's offset in error_offset, and no attribute changes (the unmapping stays: shared
    /// pages fault back in). To shared: the store only (the arch's make-shared hook is
    /// nothing without encryption).
    mutating func kvmGmemConvert(_ ino: InodeID, offset: UInt64, length: UInt64, toPrivate: Bool) -> CallResult {
        guard Int(ino) < inodes.count else { return .errno(.EBADF) }
        guard design.guestMemfdConversion == .in_place, isGuestMemfd(ino) else {
            note("ioctl(KVM_SET_MEMORY_ATTRIBUTES2): the file has no unlocked_ioctl → ENOTTY")
            return .errno(.ENOTTY)
        }
        guard length > 0, offset & (pageSize - 1) == 0, length & (pageSize - 1) == 0,
              offset <= inodes[Int(ino)].size, length <= inodes[Int(ino)].size - offset else { return .errno(.EINVAL) }
        let first = offset >> pageShift, end = (offset + length) >> pageShift
        if toPrivate {
            note("kvm_gmem_convert(private) → unmap_mapping_pages(pages \(first)..\(end - 1))")
            unmapMappingRange(ino, first: first, last: end - 1, evenCOWs: false)
            var drained = false
            for index in first..<end {
                guard let pfn = inodes[Int(ino)].pages[index].folio else { continue }
                costs.refcountChecks += 1
                if kvmGmemFolioAtBaseline(pfn) { continue }
                if !drained {
                    note("kvm_gmem_convert: refcount above baseline → lru_add_drain()")
                    lruAddDrain()
                    costs.lruDrains += 1
                    drained = true
                    costs.refcountChecks += 1
                    if kvmGmemFolioAtBaseline(pfn) { continue }
                }
                note("kvm_gmem_convert: folio at page \(index) still referenced → EAGAIN")
                costs.conversionsRefused += 1
                check()
                return .conversionFailed(.EAGAIN, errorOffset: index << pageShift)
            }
        }
        kvmGmemStoreAttribute(ino, first, end, toPrivate: toPrivate)
        costs.conversions += 1
        check()
        return .ok
    }

    /// folio_ref_count() == folio_nr_pages() + 1 for an order-0 folio of the page cache, where
    /// the model's baseline is the page cache's reference alone; a folio in the lazyfree batch
    /// holds one more (the batch's reference the model keeps as membership).
    func kvmGmemFolioAtBaseline(_ pfn: PFN) -> Bool {
        frames[pfn].refcount == 1 && !lazyfreeBatch.contains(pfn)
    }
}
