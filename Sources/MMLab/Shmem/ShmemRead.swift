// SPDX-License-Identifier: Apache-2.0
//
// pread(2) on a file the model knows (fs/read_write.c ksys_pread64()): shmem's read_iter,
// or the refusal of a file without one (guest_memfd).

extension Kernel {
    /// Models ksys_pread64() of 8 bytes at `offset`: the token of the page there (0 for a
    /// hole or at EOF). A guest_memfd has no read_iter and is not FMODE_PREAD → ESPIPE; a
    /// device-dax file has no ->read or ->read_iter, so vfs_read() refuses it (no
    /// FMODE_CAN_READ: EINVAL).
    public mutating func pread(_ ino: InodeID, offset: UInt64) -> Result<UInt64, Errno> {
        guard Int(ino) < inodes.count, inodes[Int(ino)].open else { return .failure(.EBADF) }
        if isGuestMemfd(ino) { return .failure(kvmGmemReadWrite(ino, positioned: true)) }
        if isDax(ino) { return .failure(.EINVAL) }
        return .success(shmemFileRead(ino, index: offset >> pageShift))
    }

    /// Models shmem_file_read_iter() for one page: shmem_get_folio(SGP_READ) finds the folio
    /// or swaps it in, but allocates nothing for a hole (which reads zeros).
    mutating func shmemFileRead(_ ino: InodeID, index: UInt64) -> UInt64 {
        costs.pageCacheLookups += 1
        guard index < inodes[Int(ino)].sizeInPages else { return 0 }   // EOF
        let entry = inodes[Int(ino)].pages[index]
        if let pfn = entry.folio { return frames[pfn].token }
        if let e = entry.swapEntry {
            let pfn = shmemSwapinFolio(ino, index, e)
            check()
            return frames[pfn].token
        }
        return 0
    }
}
