// SPDX-License-Identifier: Apache-2.0
//
// What a scheduler needs to know about a task, from the mechanism that owns it: what its next
// step reads and writes (for the partial-order reduction), the sleeping locks it holds between
// its steps, and the locks its first step takes for write.

extension Kernel {
    /// What the next step of `task` reads and writes. A call that runs as one step declares
    /// `.global` (it conflicts with every other step).
    public func footprint(of task: SyscallTask) -> Footprint {
        switch task.call {
        case .access(let mm, let address, let store): return accessFootprint(mm, address, store: store)   // Fault/Access.swift
        case .punchHole: return punchFootprint(task)                 // Shmem/Punch.swift
        case .uffdWriteProtect: return writeProtectFootprint(task)   // Userfaultfd/WriteProtect.swift
        case .uffdMfill: return mfillFootprint(task)                 // Userfaultfd/UffdIoctls.swift
        case .pagemapScan: return pagemapScanFootprint(task)         // Proc/PagemapScan.swift
        case .madvise(_, _, _, .dontneed): return madviseFootprint(task)   // Madvise/Madvise.swift
        default: return Footprint(writes: [.global])
        }
    }

    /// The sleeping locks `task` holds between its steps (for read): a scheduler must not run
    /// a step that takes one of them for write (munmap, mmap, mprotect, fork…) until the task
    /// ends. A task asleep on a userfaultfd holds none (handle_userfault() and
    /// userfaultfd_remove() drop mmap_lock before sleeping).
    public func heldLocks(of task: SyscallTask) -> [KernelLock] {
        guard task.sleepsOn == nil else { return [] }
        switch (task.call, task.progress) {
        case (.punchHole, _):
            return punchHeldLocks(task)
        case (.uffdWriteProtect(let u, _, _, _, _), .writeProtect), (.uffdMfill(let u, _, _, _, _, _), .mfill):
            return Int(u) < uffds.count ? [.mmapLock(uffds[Int(u)].mm)] : []
        case (.pagemapScan(let mm, _), .scan):
            return [.mmapLock(mm)]
        case (.madvise(let mm, _, _, .dontneed), .madvise):
            return [.mmapLock(mm)]
        default:
            return []
        }
    }

    /// The sleeping locks the first step of `task` takes for write: mmap_lock of its mm for the
    /// calls that change the VMA tree or VMA flags (mmap, munmap, mprotect, fork, exit,
    /// userfaultfd register/unregister, prctl, the advice get_lock_mode() says, clear_refs 4),
    /// and with it the i_mmap_rwsem of every file that mm maps (linking or unlinking a file
    /// VMA takes it for write), plus that of the file an mmap maps. Nothing once started.
    public func locksTaken(by task: SyscallTask) -> [KernelLock] {
        guard !task.started else { return [] }
        var mm: MMID? = nil
        var extra: [KernelLock] = []
        switch task.call {
        case .mmap(let p, _, _, _, let object, _, _):
            mm = p
            if let f = object { extra.append(.iMmapRwsem(f)) }
        case .munmap(let p, _, _), .mprotect(let p, _, _, _), .fork(let p, _), .exit(let p), .prctlSetMemoryMerge(let p, _):
            mm = p
        case .uffdRegister(let u, _, _, _), .uffdUnregister(let u, _, _):
            if Int(u) < uffds.count { mm = uffds[Int(u)].mm }
        case .madvise(let p, _, _, let advice):
            if advice.lockMode == .mmapWrite { mm = p }
        case .clearRefs(let p, let v):
            if v == 4 { mm = p }   // clear_refs_write(): CLEAR_REFS_SOFT_DIRTY changes VMA flags
        case .swapon, .memfdCreate, .guestMemfdCreate, .daxCreate, .madviseHWPoison, .punchHole, .pread, .pwrite, .access,
             .pagemapRead, .uffdCreate, .uffdWriteProtect, .uffdMfill, .uffdWake, .uffdRead, .pagemapScan,
             .ksmRun, .ksmScan, .ksmSetUseZeroPages, .ksmSetMaxPageSharing, .ksmCounters, .pin, .unpin, .gmemConvert:
            // No sleeping lock for write: mmap_lock for read at most (faults, the uffd ioctls,
            // PAGEMAP_SCAN, GUP of a pin), i_mmap_rwsem for read (punch), the inode's i_rwsem
            // (pwrite, punch: not a lock the scheduler models, the call runs as one step), or
            // none (files, sysfs). Exhaustive
            // on purpose: a new call must say which locks it takes.
            break
        }
        guard let mm, Int(mm) < mms.count else { return extra }
        var out: [KernelLock] = [.mmapLock(mm)] + extra
        for vma in mms[Int(mm)].vmas {
            if let ino = vma.inode, !out.contains(.iMmapRwsem(ino)) { out.append(.iMmapRwsem(ino)) }
        }
        return out
    }
}
