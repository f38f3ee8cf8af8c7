// SPDX-License-Identifier: Apache-2.0
//
// shmem / memfd (mm/shmem.c): the page cache of a tmpfs inode, its faults, swap-out and
// swap-in through the page cache, and hole punching as the kernel performs it: first
// unmap_mapping_range() in every mapper, then shmem_truncate_range().

/// What shmem_get_folio_gfp() gives a fault.
enum ShmemGetResult {
    case folio(PFN)
    case sigbus
}

extension Kernel {
    /// Models shmem_get_inode() for a new tmpfs file of `size` bytes.
    mutating func createShmemInode(name: String, size: UInt64) -> InodeID {
        let id = InodeID(inodes.count)
        inodes.append(Inode(id: id, name: name, size: size))
        return id
    }

    /// Models memfd_create(2) followed by ftruncate(2) to `bytes`: do_sys_ftruncate() refuses
    /// a negative length (a size of 2^63 or more as off_t: EINVAL); inode_newsize_ok() refuses
    /// more than s_maxbytes (EFBIG), which for tmpfs is MAX_LFS_FILESIZE = LLONG_MAX, so every
    /// other size is accepted; memfd files are VM_NORESERVE (no accounting of their size).
    public mutating func memfdCreate(name: String, bytes: UInt64) -> Result<InodeID, Errno> {
        guard bytes <= UInt64(Int64.max) else { return .failure(.EINVAL) }
        let ino = createShmemInode(name: "memfd:" + name, size: bytes)
        check()
        return .success(ino)
    }

    /// The page-cache mapping id of an inode as stored in folio owners.
    func mappingID(_ ino: InodeID) -> UInt32 { UInt32(ino) + 1 }

    /// Models shmem_add_to_page_cache(): `pfn` becomes page `index` of `ino`.
    mutating func shmemAddToPageCache(_ pfn: PFN, _ ino: InodeID, _ index: UInt64) {
        frames[pfn].setOwner(mapping: mappingID(ino), index: index)
        frames[pfn].flags.formUnion([.pagecache, .swapbacked, .uptodate])
        frames[pfn].refcount += 1
        inodes[Int(ino)].pages[index] = .folio(pfn)
    }

    /// Models filemap_remove_folio() for a shmem folio: drop it from the page cache. A KSM
    /// page in the slot (ksm.file_pages = on) loses only this file's alias.
    mutating func shmemRemoveFromPageCache(_ pfn: PFN, _ ino: InodeID, _ index: UInt64) {
        if frames[pfn].flags.contains(.ksm) { return ksmRemoveAlias(ino, index, pfn) }
        inodes[Int(ino)].pages[index] = .empty
        frames[pfn].flags.remove(.pagecache)
        putFolio(pfn)
    }

    /// Models shmem_get_folio_gfp(…, SGP_CACHE) as shmem_fault() calls it: find the folio,
    /// swap it in, or allocate a zero-filled one.
    mutating func shmemGetFolio(_ ino: InodeID, _ index: UInt64) -> ShmemGetResult {
        costs.pageCacheLookups += 1
        guard index < inodes[Int(ino)].sizeInPages else { return .sigbus }
        let entry = inodes[Int(ino)].pages[index]
        if let pfn = entry.folio { return .folio(pfn) }
        if let e = entry.swapEntry { return .folio(shmemSwapinFolio(ino, index, e)) }
        let pfn = frames.alloc(token: 0)
        costs.pageZeroings += 1
        shmemAddToPageCache(pfn, ino, index)
        return .folio(pfn)
    }

    /// Models shmem_swapin_folio(): bring a swapped shmem page back into the page cache.
    /// A swap-cache hit keeps the same frame.
    mutating func shmemSwapinFolio(_ ino: InodeID, _ index: UInt64, _ e: SwapEntry) -> PFN {
        let pfn = swapCacheLookup(e) ?? swapReadIntoCache(e)
        shmemAddToPageCache(pfn, ino, index)
        frames[pfn].flags.insert(.dirty)
        deleteFromSwapCache(pfn)
        swapFree(e)   // the reference the page-cache slot held
        return pfn
    }

    /// Models shmem_writeout(): move a clean-of-mappings shmem folio to swap. Without swap
    /// the folio is redirtied and stays in the page cache. Returns whether it left the cache.
    mutating func shmemWriteout(_ pfn: PFN) -> Bool {
        guard totalSwapPages > 0 else { return false }
        let ino = InodeID(Int(frames[pfn].mappingID) - 1)
        let index = frames[pfn].index
        guard let e = folioAllocSwap(pfn) else { return false }
        swapDuplicate(e)   // the page-cache slot's reference (swap_shmem_alloc)
        inodes[Int(ino)].pages[index] = .swap(e)
        frames[pfn].flags.remove(.pagecache)
        putFolio(pfn)      // the page cache's reference
        swapWriteout(pfn, e)
        return true
    }

    /// Step 2 of shmem_fallocate(FALLOC_FL_PUNCH_HOLE): shmem_truncate_range() →
    /// shmem_undo_range(): drop folios (unmapping any that were faulted back meanwhile, with
    /// ZAP_FLAG_DROP_MARKER) and free swap entries held in the page cache.
    mutating func shmemTruncateRange(_ ino: InodeID, first: UInt64, last: UInt64) {
        let n = inodes[Int(ino)].sizeInPages
        guard n > 0, first < n else { return }
        note("shmem_truncate_range(pages \(first)..\(last))")
        noteFileDiscard(ino, first: first, last: last)
        // find_lock_entries(): only the entries present, in index order.
        let end = min(last, n - 1) + 1
        var index = first
        while let i = inodes[Int(ino)].pages.next(from: index, below: end) {
            let entry = inodes[Int(ino)].pages[i]
            if let pfn = entry.folio {
                if frames[pfn].mapcount > 0 { unmapMappingFolio(ino, index: i) }
                shmemRemoveFromPageCache(pfn, ino, i)
            } else if let e = entry.swapEntry {
                inodes[Int(ino)].pages[i] = .empty
                freeSwapAndCache(e)   // shmem_free_swap()
            }
            index = i + 1
        }
    }

    /// The end of shmem_fallocate(PUNCH_HOLE): clear i_private and wake the faults that
    /// waited on the hole (they retry).
    mutating func shmemFallocDone(_ ino: InodeID) {
        inodes[Int(ino)].falloc = nil
        for i in waiters.indices where !waiters[i].woken {
            if case .fallocPunch(let wi) = waiters[i].reason, wi == ino { waiters[i].woken = true }
        }
    }

    /// Models the final fput() of a memfd: shmem_evict_inode() truncates everything. The
    /// inode lives on while a mapping still references it (the VMA holds the file).
    public mutating func closeFile(_ ino: InodeID) {
        guard Int(ino) < inodes.count, inodes[Int(ino)].open else { return }
        inodes[Int(ino)].open = false
        releaseInodeIfUnused(ino)
    }

    /// Frees an inode's pages once no fd and no VMA references it.
    mutating func releaseInodeIfUnused(_ ino: InodeID) {
        guard !inodes[Int(ino)].open else { return }
        for mm in mms where mm.alive {
            if mm.vmas.contains(where: { $0.inode == ino }) { return }
        }
        if isDax(ino) { return daxRelease(ino) }
        let n = inodes[Int(ino)].sizeInPages
        if n > 0 { shmemTruncateRange(ino, first: 0, last: n - 1) }
    }
}
