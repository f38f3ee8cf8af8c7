// SPDX-License-Identifier: Apache-2.0
//
// pwrite(2) on a file the model knows (fs/read_write.c ksys_pwrite64() → vfs_write()): shmem's
// write_iter (mm/shmem.c shmem_file_write_iter() → generic_perform_write() in mm/filemap.c,
// through shmem_write_begin() and shmem_write_end()), or the refusal of a file without one. The
// write goes through the page cache only: no PTE is touched, so no fault, no userfault (the
// lookup has no VMA), no soft-dirty or uffd-wp change; a mapping sees the new data at its next
// load, and a hole is filled without any mapping learning of it.

extension Kernel {
    /// Models ksys_pwrite64() of one page (4096 bytes, every word `token`) at `offset`: the
    /// bytes written. A guest_memfd is not FMODE_PWRITE (ESPIPE); a device-dax file has no
    /// ->write or ->write_iter, so vfs_write() refuses it (no FMODE_CAN_WRITE: EINVAL).
    public mutating func pwrite(_ ino: InodeID, offset: UInt64, token: UInt64) -> Result<UInt64, Errno> {
        guard Int(ino) < inodes.count, inodes[Int(ino)].open else { return .failure(.EBADF) }
        if isGuestMemfd(ino) { return .failure(kvmGmemReadWrite(ino, positioned: true)) }
        if isDax(ino) { return .failure(.EINVAL) }
        let r = shmemFileWriteIter(ino, offset: offset, token: token)
        check()
        return r
    }

    /// Models shmem_file_write_iter() for one page: generic_write_checks() under the inode
    /// lock, then generic_perform_write(): write_begin, the copy from the user buffer into the
    /// folio, write_end.
    mutating func shmemFileWriteIter(_ ino: InodeID, offset: UInt64, token: UInt64) -> Result<UInt64, Errno> {
        // generic_write_checks() → generic_write_check_limits(): past MAX_LFS_FILESIZE is
        // EFBIG. The model sizes files up to 2^44 bytes (memfdCreate()'s limit) and refuses a
        // write beyond that the same way.
        guard offset <= (1 << 44) - pageSize else { return .failure(.EFBIG) }
        let index = offset >> pageShift
        note("shmem_file_write_iter → generic_perform_write(page \(index))")
        let pfn: PFN
        switch shmemWriteBegin(ino, index) {
        case .success(let p): pfn = p
        case .failure(let e): return .failure(e)
        }
        // copy_folio_from_iter_atomic(): the whole page comes from the user buffer.
        frames.setToken(pfn, token)
        costs.pageCopies += 1
        shmemWriteEnd(ino, pfn, end: offset + pageSize)
        noteFileWrite(ino, index: index, token: token)
        return .success(pageSize)
    }

    /// Models shmem_write_begin(): no seals in the model (F_SEAL_WRITE/GROW would be EPERM);
    /// shmem_get_folio(SGP_WRITE); a folio with a hardware-poisoned page is EIO.
    mutating func shmemWriteBegin(_ ino: InodeID, _ index: UInt64) -> Result<PFN, Errno> {
        let pfn = shmemGetFolioForWrite(ino, index)
        if frames[pfn].flags.contains(.hwpoison) { return .failure(.EIO) }
        return .success(pfn)
    }

    /// Models shmem_get_folio_gfp(…, SGP_WRITE) without a VMA (pwrite's lookup): find the
    /// folio, or swap it in (which frees the swap entry and dirties it), or allocate a new
    /// one, which is not zeroed (the write fills it); no userfaultfd check, since there is no
    /// VMA. The index may lie past i_size (a write extends the file). A page-cache slot
    /// that is a KSM page's alias (design ksm.file_pages = on) is broken here, at the lookup:
    /// the file gets its own copy before anything writes to it.
    mutating func shmemGetFolioForWrite(_ ino: InodeID, _ index: UInt64) -> PFN {
        costs.pageCacheLookups += 1
        let entry = inodes[Int(ino)].pages[index]
        if let pfn = entry.folio {
            if frames[pfn].flags.contains(.ksm) { return ksmBreakAlias(ino, index) }
            return pfn
        }
        if let e = entry.swapEntry { return shmemSwapinFolio(ino, index, e) }
        let pfn = frames.alloc(token: 0)
        shmemAddToPageCache(pfn, ino, index)
        return pfn
    }

    /// Models shmem_write_end(): i_size grows to the end of the write, the folio is uptodate
    /// (a whole page was copied, so nothing is left to zero) and dirty.
    mutating func shmemWriteEnd(_ ino: InodeID, _ pfn: PFN, end: UInt64) {
        if end > inodes[Int(ino)].size { inodes[Int(ino)].size = end }
        frames[pfn].flags.formUnion([.uptodate, .dirty])
    }
}
