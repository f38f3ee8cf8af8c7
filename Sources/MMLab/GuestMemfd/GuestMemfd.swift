// SPDX-License-Identifier: Apache-2.0
//
// KVM guest_memfd as Linux 6.18 ships it (virt/kvm/guest_memfd.c): a file created by
// KVM_CREATE_GUEST_MEMFD on a VM, whose inode owns order-0 page-cache folios that are
// unevictable (the mapping is "inaccessible") and zeroed on first use. Host userspace may
// mmap it only with GUEST_MEMFD_FLAG_MMAP and MAP_SHARED; its faults go through
// kvm_gmem_fault_user_mapping() (a .fault without .map_pages, so no fault-around) and
// raise SIGBUS on every access unless the file was created with INIT_SHARED. fallocate
// needs KEEP_SIZE; a punched hole is truncated (unmapping host mappings) and reads back as
// zeros. read/write/pread/pwrite fail (no read_iter/write_iter). Every guest_memfd rule of
// the model is in this file; the rest of the model only calls in here.

/// FALLOC_FL_* bits a guest_memfd's fallocate looks at (include/uapi/linux/falloc.h).
public struct FallocMode: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let keepSize = FallocMode(rawValue: 0x01)
    public static let punchHole = FallocMode(rawValue: 0x02)
    public static let zeroRange = FallocMode(rawValue: 0x10)
}

extension Kernel {
    /// Whether `ino` is a guest_memfd inode (its mapping has kvm_gmem_aops).
    public func isGuestMemfd(_ ino: InodeID) -> Bool {
        Int(ino) < inodes.count && inodes[Int(ino)].gmemFlags != nil
    }

    /// Whether a VMA maps a guest_memfd (vma->vm_ops == &kvm_gmem_vm_ops).
    func vmaIsGuestMemfd(_ vma: VMA) -> Bool {
        vma.inode.map(isGuestMemfd) ?? false
    }

    /// Models kvm_gmem_get_supported_flags(): MMAP always, INIT_SHARED only for a VM without private memory.
    func kvmGmemSupportedFlags(vmHasPrivateMem: Bool) -> GuestMemfdFlags {
        vmHasPrivateMem ? [.mmap] : [.mmap, .initShared]
    }

    /// Models kvm_gmem_create() → __kvm_gmem_create(): a new guest_memfd of `size` bytes on a
    /// VM (default type 0: no private memory). Unsupported flags, a size of 0, not a multiple of
    /// the page size, or negative as loff_t (2^63 or more) → EINVAL; any other size is i_size.
    public mutating func kvmGmemCreate(name: String, size: UInt64, flags: GuestMemfdFlags,
                                       vmHasPrivateMem: Bool = false) -> Result<InodeID, Errno> {
        guard flags.isSubset(of: kvmGmemSupportedFlags(vmHasPrivateMem: vmHasPrivateMem)) else { return .failure(.EINVAL) }
        guard size > 0, size <= UInt64(Int64.max), size & (pageSize - 1) == 0 else { return .failure(.EINVAL) }
        note("kvm_gmem_create(size \(size), flags 0x\(String(flags.rawValue, radix: 16)))")
        let ino = createShmemInode(name: "[kvm-gmem]:" + name, size: size)
        inodes[Int(ino)].gmemFlags = flags   // mapping_set_inaccessible(): also unevictable, unmovable
        kvmGmemInitAttributes(ino)           // design guest_memfd.conversion = in_place: Conversion.swift
        check()
        return .success(ino)
    }

    /// Models kvm_gmem_mmap(): ENODEV without GUEST_MEMFD_FLAG_MMAP, EINVAL unless MAP_SHARED.
    func kvmGmemMmap(_ ino: InodeID, shared: Bool) -> Errno? {
        guard let flags = inodes[Int(ino)].gmemFlags else { return nil }
        if !flags.contains(.mmap) { return .ENODEV }
        if !shared { return .EINVAL }   // VM_SHARED | VM_MAYSHARE both required: no COW
        return nil
    }

    /// Models kvm_gmem_get_folio() → __filemap_get_folio(FGP_CREAT) + kvm_gmem_prepare_folio():
    /// find the order-0 folio at `index`, or add a new one, zeroed on first use.
    mutating func kvmGmemGetFolio(_ ino: InodeID, _ index: UInt64) -> PFN {
        costs.pageCacheLookups += 1
        if let pfn = inodes[Int(ino)].pages[index].folio { return pfn }
        let pfn = frames.alloc(token: 0)   // folio_zero_user() on first use, then folio_mark_uptodate()
        costs.pageZeroings += 1
        kvmGmemAddToPageCache(pfn, ino, index)
        return pfn
    }

    /// Models filemap_add_folio() into an inaccessible mapping: unevictable, not swap-backed.
    mutating func kvmGmemAddToPageCache(_ pfn: PFN, _ ino: InodeID, _ index: UInt64) {
        frames[pfn].setOwner(mapping: mappingID(ino), index: index)
        frames[pfn].flags.formUnion([.pagecache, .uptodate, .unevictable])
        frames[pfn].refcount += 1
        inodes[Int(ino)].pages[index] = .folio(pfn)
    }

    /// Models kvm_gmem_fault_user_mapping(): SIGBUS at or beyond i_size and on a private
    /// page (6.18: every page without INIT_SHARED; in_place: the attributes); otherwise map the folio.
    mutating func kvmGmemFaultUserMapping(_ ino: InodeID, _ index: UInt64) -> ShmemGetResult {
        guard inodes[Int(ino)].gmemFlags != nil else { return .sigbus }
        if index >= inodes[Int(ino)].sizeInPages { return .sigbus }
        if kvmGmemIsPrivate(ino, index) {
            note("kvm_gmem_fault_user_mapping: private memory → SIGBUS")
            return .sigbus
        }
        return .folio(kvmGmemGetFolio(ino, index))
    }

    /// Models do_fault() on a guest_memfd VMA: do_read_fault() with no fault-around (no
    /// .map_pages) or do_shared_fault() (mappings are always shared), both through
    /// kvm_gmem_fault_user_mapping() and finish_fault().
    mutating func kvmGmemDoFault(_ m: Int, _ v: Int, _ address: UInt64, write: Bool, orig: PTE) -> VMFault {
        let vma = mms[m].vmas[v]
        guard let ino = vma.inode else { return .sigbus }
        note(write ? "do_shared_fault → kvm_gmem_fault_user_mapping" : "do_read_fault (no map_pages: no fault-around) → kvm_gmem_fault_user_mapping")
        guard case .folio(let pfn) = kvmGmemFaultUserMapping(ino, vma.pgoff(of: address)) else { return .sigbus }
        let r = finishFault(m, v, address, page: pfn, write: write, cow: false, orig: orig)
        if write { frames[pfn].flags.insert(.dirty) }   // fault_dirty_shared_page()
        return r
    }

    /// Models kvm_gmem_fallocate(): KEEP_SIZE is mandatory and only PUNCH_HOLE may join it
    /// (EOPNOTSUPP), offset and length must be page-aligned (EINVAL); then punch or allocate.
    public mutating func kvmGmemFallocate(_ ino: InodeID, mode: FallocMode, offset: UInt64, length: UInt64) -> Errno? {
        guard isGuestMemfd(ino) else { return .EINVAL }
        guard length > 0 else { return .EINVAL }   // vfs_fallocate()
        if !mode.contains(.keepSize) { return .EOPNOTSUPP }
        if !mode.subtracting([.keepSize, .punchHole]).isEmpty { return .EOPNOTSUPP }
        if offset & (pageSize - 1) != 0 || length & (pageSize - 1) != 0 { return .EINVAL }
        let r = mode.contains(.punchHole)
            ? kvmGmemPunchHole(ino, offset: offset, length: length)
            : kvmGmemAllocate(ino, offset: offset, length: length)
        check()
        return r
    }

    /// Models kvm_gmem_punch_hole(): under the invalidate lock, invalidate bound VMs (none
    /// in the model), then truncate_inode_pages_range(), which unmaps host mappings of each
    /// folio (ZAP_FLAG_DROP_MARKER) and frees it; at or beyond i_size nothing happens.
    mutating func kvmGmemPunchHole(_ ino: InodeID, offset: UInt64, length: UInt64) -> Errno? {
        let first = offset >> pageShift
        let end = min((offset + length) >> pageShift, inodes[Int(ino)].sizeInPages)
        guard end > first else { return nil }
        note("kvm_gmem_punch_hole → truncate_inode_pages_range(pages \(first)..\(end - 1))")
        // truncate_inode_pages_range(): the model's page-cache truncation, shared with shmem.
        shmemTruncateRange(ino, first: first, last: end - 1)
        return nil
    }

    /// Models kvm_gmem_allocate(): pre-allocate (zeroed) folios in [offset, offset+len),
    /// which must lie within i_size (EINVAL).
    mutating func kvmGmemAllocate(_ ino: InodeID, offset: UInt64, length: UInt64) -> Errno? {
        guard offset + length <= inodes[Int(ino)].size else { return .EINVAL }
        for index in (offset >> pageShift)..<((offset + length) >> pageShift) {
            _ = kvmGmemGetFolio(ino, index)
        }
        return nil
    }

    /// Models kvm_gmem_fops having no read/write: read(2)/write(2) → EINVAL,
    /// pread(2)/pwrite(2) → ESPIPE (the file is not FMODE_PREAD/FMODE_PWRITE).
    public func kvmGmemReadWrite(_ ino: InodeID, positioned: Bool) -> Errno {
        positioned ? .ESPIPE : .EINVAL
    }

    /// Models kvm_gmem_setattr(): the size is fixed for life (ftruncate → EINVAL).
    public func kvmGmemSetattr(_ ino: InodeID, size: UInt64) -> Errno { .EINVAL }
}
