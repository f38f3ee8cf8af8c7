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
        var mapcount = [UInt32](repeating: 0, count: frames.count)
        var swapRefs: [[UInt32]] = swapDevices.map { [UInt32](repeating: 0, count: $0.swapMap.count) }
        var inPageCache = [Bool](repeating: false, count: frames.count)

        for mm in mms where mm.alive {
            var anon = 0, shmem = 0, swapents = 0
            for (pmd, t) in mm.pageTables.tableOf.sorted(by: { $0.key < $1.key }) {
                let base = Int(t) * ptrsPerPTE
                for i in 0..<ptrsPerPTE {
                    let pte = PTE(raw: mm.pageTables.entries[base + i])
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
                        mapcount[Int(pfn)] += 1
                        if frames[pfn].flags.contains(.anon) { anon += 1 } else { shmem += 1 }
                        if !frames[pfn].flags.contains(.anon) && mm.vmas[v].inode == nil {
                            errors.append("\(where_): anon VMA maps page-cache frame \(pfn)")
                        }
                    } else {
                        let e = pte.swapEntry
                        if e.isRealSwap {
                            guard Int(e.type) < swapDevices.count, Int(e.offset) < swapDevices[Int(e.type)].swapMap.count else {
                                errors.append("\(where_): swap entry \(e) beyond any device"); continue
                            }
                            swapRefs[Int(e.type)][Int(e.offset)] += 1
                            swapents += 1
                        }
                    }
                }
            }
            if anon != mm.rssAnon { errors.append("\(mm.name): rss anon \(mm.rssAnon), page tables say \(anon)") }
            if shmem != mm.rssShmem { errors.append("\(mm.name): rss shmem \(mm.rssShmem), page tables say \(shmem)") }
            if swapents != mm.swapEntries { errors.append("\(mm.name): swapents \(mm.swapEntries), page tables say \(swapents)") }
        }
        for inode in inodes {
            for (i, entry) in inode.pages.enumerated() {
                if let pfn = entry.folio {
                    guard frames.isAllocated(pfn) else {
                        errors.append("\(inode.name)[\(i)]: page cache holds freed frame \(pfn)"); continue
                    }
                    inPageCache[Int(pfn)] = true
                    let f = frames[pfn]
                    if !f.flags.contains(.pagecache) || f.mappingID != mappingID(inode.id) || f.index != UInt64(i) {
                        errors.append("\(inode.name)[\(i)]: frame \(pfn) does not point back at its page-cache slot")
                    }
                } else if let e = entry.swapEntry {
                    if Int(e.type) < swapRefs.count, Int(e.offset) < swapRefs[Int(e.type)].count {
                        swapRefs[Int(e.type)][Int(e.offset)] += 1
                    } else {
                        errors.append("\(inode.name)[\(i)]: swap entry beyond any device")
                    }
                }
            }
        }
        let pinned = pinCounts
        for pfn in 1..<frames.count {
            let f = frames[PFN(pfn)]
            guard f.flags.contains(.allocated) else { continue }
            let swapcache: UInt32 = f.flags.contains(.swapcache) ? 1 : 0
            let pc: UInt32 = inPageCache[pfn] ? 1 : 0
            if UInt32(f.mapcount) != mapcount[pfn] {
                errors.append("frame \(pfn): mapcount \(f.mapcount), page tables map it \(mapcount[pfn]) times")
            }
            let pins = pinned[PFN(pfn)] ?? 0
            if UInt32(f.refcount) != mapcount[pfn] + swapcache + pc + pins * UInt32(gupPinCountingBias) {
                errors.append("frame \(pfn): refcount \(f.refcount), expected \(mapcount[pfn]) mappings + \(swapcache) swap cache + \(pc) page cache"
                              + (pins > 0 ? " + \(pins) pins × \(gupPinCountingBias)" : ""))
            }
            if f.refcount == 0 { errors.append("frame \(pfn): allocated with refcount 0 (leaked)") }
            if f.flags.contains(.pagecache) != inPageCache[pfn] {
                errors.append("frame \(pfn): page-cache flag disagrees with the page caches")
            }
            if f.flags.contains(.swapcache) {
                if let e = swapCacheEntry[PFN(pfn)] {
                    if swapDevices[Int(e.type)].cached[Int(e.offset)] != PFN(pfn) {
                        errors.append("frame \(pfn): swap cache index disagrees for slot \(e.offset)")
                    }
                } else {
                    errors.append("frame \(pfn): PG_swapcache without a swap entry")
                }
            }
        }
        for d in swapDevices.indices {
            let dev = swapDevices[d]
            var inuse = 0
            for o in 1..<dev.swapMap.count {
                let count = dev.count(o)
                let hasCache = dev.swapMap[o] & SwapDevice.hasCache != 0
                if dev.swapMap[o] != 0 { inuse += 1 }
                if count != Int(swapRefs[d][o]) {
                    errors.append("swap \(d):\(o): count \(count), referenced \(swapRefs[d][o]) times")
                }
                if hasCache != (dev.cached[o] != 0) {
                    errors.append("swap \(d):\(o): SWAP_HAS_CACHE disagrees with the swap cache")
                }
                if hasCache && count == 0 && dev.cached[o] != 0 && frames[dev.cached[o]].mapcount == 0
                    && !frames[dev.cached[o]].flags.contains(.anon) && !frames[dev.cached[o]].flags.contains(.pagecache) {
                    errors.append("swap \(d):\(o): an unreferenced shmem folio lingers in the swap cache")
                }
            }
            if inuse != dev.inuse { errors.append("swap \(d): inuse \(dev.inuse), counted \(inuse)") }
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
