// SPDX-License-Identifier: Apache-2.0
//
// The model's own invariants, checked after every operation when `internalChecks` is on
// (tests, `explore`): what the kernel's VM_BUG_ONs, bad-rss-counter and swap-count checks
// would catch. Violations are recorded, never trapped.

extension Kernel {
    /// Runs verifyInvariants() when internal checks are on and records any violation.
    mutating func check() {
        guard internalChecks else { return }
        let v = invariantViolationsNow()
        if !v.isEmpty && invariantViolations.count < 100 { invariantViolations.append(contentsOf: v) }
    }

    /// Checks refcounts and mapcounts against page tables and page caches, swap counts
    /// against the entries that reference each slot, that no PTE points at a freed frame or
    /// lies outside a VMA, and the rss counters. Returns one line per violation.
    public func verifyInvariants() -> [String] {
        var copy = self
        return copy.invariantViolationsNow()
    }

    /// verifyInvariants() without a copy of the kernel (check() runs after every operation).
    mutating func invariantViolationsNow() -> [String] {
        var errors: [String] = []
        // Local copies, read many times below (a debug build would copy the stored property
        // for every call on it).
        let frames = self.frames, swapDevices = self.swapDevices
        // Per RAM frame (dense: proportional to the frames ever allocated); device frames and
        // swap slots are counted sparsely, by what references them.
        var mapcount = [UInt32](repeating: 0, count: frames.count)
        var deviceMapcount: [PFN: UInt32] = [:]
        var swapRefs: [[UInt64: UInt32]] = swapDevices.map { _ in [:] }
        // Page-cache slots holding each frame: one for a page-cache folio, one per alias for a
        // KSM page standing in for slots (ksm.file_pages = on).
        var inPageCache = [UInt32](repeating: 0, count: frames.count)

        for mm in mms where mm.alive {
            var anon = 0, shmem = 0, swapents = 0
            for (pmd, t) in mm.pageTables.tableOf.sorted(by: { $0.key < $1.key }) {
                for i in 0..<ptrsPerPTE {
                    let pte = PTE(raw: mm.pageTables.entry(code: t, index: i))
                    if pte.isNone { continue }
                    let a = pmd << 21 | UInt64(i) << 12
                    let where_ = "\(mm.name) 0x\(String(a, radix: 16))"
                    guard let v = mm.vmaIndex(containing: a) else {
                        errors.append("\(where_): PTE \(pte) outside any VMA"); continue
                    }
                    if pte.isPresent {
                        guard let pfn = normalPage(pte) else { continue }
                        guard frames.isAllocated(pfn) else {
                            errors.append("\(where_): PTE maps freed frame \(pfn)"); continue
                        }
                        if Int(pfn) < frames.count { mapcount[Int(pfn)] += 1 } else { deviceMapcount[pfn, default: 0] += 1 }
                        if frames[pfn].flags.contains(.anon) { anon += 1 } else { shmem += 1 }
                        if frames[pfn].flags.contains(.ksm) {
                            if pte.isWritable { errors.append("\(where_): writable PTE of KSM page \(pfn)") }
                            let vma = mm.vmas[v]
                            if vma.flags.contains(.shared), let ino = vma.inode, ksmAlias(ino, vma.pgoff(of: a)) != pfn {
                                errors.append("\(where_): a shared file VMA maps KSM page \(pfn), which is not its file's alias there")
                            }
                        }
                        if !frames[pfn].flags.contains(.anon) && mm.vmas[v].inode == nil {
                            errors.append("\(where_): anon VMA maps page-cache frame \(pfn)")
                        }
                    } else {
                        let e = pte.swapEntry
                        if e.isRealSwap {
                            guard Int(e.type) < swapDevices.count, e.offset > 0, e.offset < swapDevices[Int(e.type)].maxSlots else {
                                errors.append("\(where_): swap entry \(e) beyond any device"); continue
                            }
                            swapRefs[Int(e.type)][e.offset, default: 0] += 1
                            swapents += 1
                        }
                    }
                }
            }
            if anon != mm.rssAnon { errors.append("\(mm.name): rss anon \(mm.rssAnon), page tables say \(anon)") }
            if shmem != mm.rssShmem { errors.append("\(mm.name): rss shmem \(mm.rssShmem), page tables say \(shmem)") }
            if swapents != mm.swapEntries { errors.append("\(mm.name): swapents \(mm.swapEntries), page tables say \(swapents)") }
            if mm.pageTables.tableCount != mm.pageTables.tableOf.count {
                errors.append("\(mm.name): \(mm.pageTables.tableCount) PTE tables counted, \(mm.pageTables.tableOf.count) present")
            }
            if mm.pageTables.tables(0, .max).count != mm.pageTables.tableOf.count {
                errors.append("\(mm.name): the page-table index disagrees with the PTE tables")
            }
        }
        for inode in inodes {
            if inode.pages.entries().count != inode.pages.count {
                errors.append("\(inode.name): the page cache's index disagrees with its entries")
            }
            for (i, entry) in inode.pages.entries() {
                if i >= inode.sizeInPages { errors.append("\(inode.name)[\(i)]: page-cache entry beyond i_size") }
                if let pfn = entry.folio {
                    guard frames.isAllocated(pfn), Int(pfn) < frames.count else {
                        errors.append("\(inode.name)[\(i)]: page cache holds freed frame \(pfn)"); continue
                    }
                    inPageCache[Int(pfn)] += 1
                    let f = frames[pfn]
                    if f.flags.contains(.ksm) {
                        if ksmAlias(inode.id, i) != pfn {
                            errors.append("\(inode.name)[\(i)]: KSM page \(pfn) in the page cache without an alias")
                        }
                    } else if !f.flags.contains(.pagecache) || f.mappingID != mappingID(inode.id) || f.index != i {
                        errors.append("\(inode.name)[\(i)]: frame \(pfn) does not point back at its page-cache slot")
                    }
                } else if let e = entry.swapEntry {
                    if Int(e.type) < swapRefs.count, e.offset > 0, e.offset < swapDevices[Int(e.type)].maxSlots {
                        swapRefs[Int(e.type)][e.offset, default: 0] += 1
                    } else {
                        errors.append("\(inode.name)[\(i)]: swap entry beyond any device")
                    }
                }
            }
        }
        for (n, al) in ksm.aliases.enumerated() {
            let here = "alias of \(Int(al.inode) < inodes.count ? inodes[Int(al.inode)].name : "inode \(al.inode)")[\(al.index)]"
            if Int(al.inode) >= inodes.count || inodes[Int(al.inode)].pages[al.index].folio != al.kpage {
                errors.append("\(here): the slot does not hold KSM page \(al.kpage)")
            }
            // (An aliased KSM page may sit in the swap cache, when an anonymous page swapped
            // back in became it; reclaim never writes it back: Reclaim/Pageout.swift.)
            if !frames.isAllocated(al.kpage) || !frames[al.kpage].flags.contains(.ksm) {
                errors.append("\(here): frame \(al.kpage) is not a KSM page")
            }
            if ksm.aliases[..<n].contains(where: { $0.inode == al.inode && $0.index == al.index }) {
                errors.append("\(here): a second alias of the same slot")
            }
        }
        let pinned = pinCounts
        for pfn in 1..<frames.count {
            let f = frames[PFN(pfn)]
            guard f.flags.contains(.allocated) else { continue }
            let swapcache: UInt32 = f.flags.contains(.swapcache) ? 1 : 0
            let pc = inPageCache[pfn]
            if pc > 1 && !f.flags.contains(.ksm) { errors.append("frame \(pfn): in \(pc) page-cache slots") }
            if UInt32(f.mapcount) != mapcount[pfn] {
                errors.append("frame \(pfn): mapcount \(f.mapcount), page tables map it \(mapcount[pfn]) times")
            }
            let pins = pinned[PFN(pfn)] ?? 0
            if UInt32(f.refcount) != mapcount[pfn] + swapcache + pc + pins * UInt32(gupPinCountingBias) {
                errors.append("frame \(pfn): refcount \(f.refcount), expected \(mapcount[pfn]) mappings + \(swapcache) swap cache + \(pc) page cache"
                              + (pins > 0 ? " + \(pins) pins × \(gupPinCountingBias)" : ""))
            }
            if f.refcount == 0 { errors.append("frame \(pfn): allocated with refcount 0 (leaked)") }
            if f.flags.contains(.pagecache) != (pc > 0 && !f.flags.contains(.ksm)) {
                errors.append("frame \(pfn): page-cache flag disagrees with the page caches")
            }
            if f.flags.contains(.swapcache) {
                if let e = swapCacheEntry[PFN(pfn)] {
                    if swapDevices[Int(e.type)].slots[e.offset].cached != PFN(pfn) {
                        errors.append("frame \(pfn): swap cache index disagrees for slot \(e.offset)")
                    }
                } else {
                    errors.append("frame \(pfn): PG_swapcache without a swap entry")
                }
            }
        }
        // Device frames: every one that has a record or is mapped holds the device's
        // reference and one per PTE mapping it.
        var checked = 0
        for (i, f) in frames.deviceFrames.entries() {
            let pfn = PFN(i)
            let mc = deviceMapcount[pfn] ?? 0
            if mc > 0 { checked += 1 }
            if UInt32(f.mapcount) != mc { errors.append("device frame \(pfn): mapcount \(f.mapcount), page tables map it \(mc) times") }
            if UInt32(f.refcount) != mc + 1 { errors.append("device frame \(pfn): refcount \(f.refcount), expected \(mc) mappings + the device's") }
        }
        if checked != deviceMapcount.count {   // a mapped device frame in its initial state (mapcount 0)
            for pfn in deviceMapcount.keys.sorted() where frames.deviceFrames[UInt64(pfn)] == .empty {
                errors.append("device frame \(pfn): mapcount 0, page tables map it \(deviceMapcount[pfn]!) times")
            }
        }
        for d in swapDevices.indices {
            let dev = swapDevices[d]
            var inuse = 0
            var offsets = dev.slots.entries(from: 1).map(\.index)
            offsets += swapRefs[d].keys.sorted().filter { dev.slots[$0] == .empty }
            for o in offsets.sorted() {
                let count = dev.count(o)
                let slot = dev.slots[o]
                let hasCache = slot.map & SwapDevice.hasCache != 0
                if slot.map != 0 { inuse += 1 } else if slot != .empty {
                    errors.append("swap \(d):\(o): an unused slot keeps state")
                }
                let refs = swapRefs[d][o] ?? 0
                if count != Int(refs) {
                    errors.append("swap \(d):\(o): count \(count), referenced \(refs) times")
                }
                if hasCache != (slot.cached != 0) {
                    errors.append("swap \(d):\(o): SWAP_HAS_CACHE disagrees with the swap cache")
                }
                if hasCache && count == 0 && slot.cached != 0 && frames[slot.cached].mapcount == 0
                    && !frames[slot.cached].flags.contains(.anon) && !frames[slot.cached].flags.contains(.pagecache) {
                    errors.append("swap \(d):\(o): an unreferenced shmem folio lingers in the swap cache")
                }
            }
            if inuse != dev.inuse { errors.append("swap \(d): inuse \(dev.inuse), counted \(inuse)") }
            if dev.maxSlots > 0 && dev.map(0) != SwapDevice.mapBad { errors.append("swap \(d): the header slot is not SWAP_MAP_BAD") }
        }
        return errors
    }

    /// After every process exited and every file was closed: nothing may remain allocated.
    public func leakReport() -> [String] {
        var errors: [String] = []
        let live = frames.allocatedCount
        if live != 0 { errors.append("\(live) frames still allocated after every process exited") }
        for d in swapDevices where d.inuse != 0 {
            errors.append("swap \(d.type): \(d.inuse) slots still in use after every process exited")
        }
        return errors
    }
}
