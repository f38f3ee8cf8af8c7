// SPDX-License-Identifier: Apache-2.0
//
// Values of MMLab types that have no public initializer (UffdMessage, PageRegion,
// SyscallState), made by running a tiny scenario on a throwaway model. The live backend sets
// their public fields; a SyscallState cannot be changed, so each one comes from a model fork
// whose child name carries the live WaitID (the backend reads it back in `resume`).
// Once MMLab gives these types public initializers, this file can go.

import MMLab
import MMScenario

enum ModelTemplates {
    /// A model with one anonymous page registered MISSING on a userfaultfd with `features`.
    static func model(features: UffdFeatures) -> (ModelBackend, UffdHandle, UInt64)? {
        var b = ModelBackend()
        let p = b.mainProcess
        guard case .success(let a) = b.mmap(p, length: 4096, prot: .rw, shared: false, object: nil, offset: 0, align: 2 << 20),
              case .success(let u) = b.uffdCreate(p, features: features),
              b.uffdRegister(u, address: a, length: 4096, mode: .missing) == nil else { return nil }
        return (b, u, a)
    }

    /// A page-fault message (its fields are public and are overwritten).
    static let message: UffdMessage? = {
        guard var (b, u, a) = model(features: []) else { return nil }
        guard case .blocked = b.access(b.mainProcess, address: a, store: nil) else { return nil }
        return b.uffdRead(u)
    }()

    /// A page region (its fields are public and are overwritten).
    static let region: PageRegion? = {
        guard var (b, _, a) = model(features: []) else { return nil }
        _ = b.uffdMfill(0, address: a, length: 4096, mode: .zeropage, wp: false, dontwake: false)
        guard case .success(let regions) = b.pagemapScan(b.mainProcess, PagemapScanArgs(start: a, end: a + 4096)) else { return nil }
        return regions.first
    }()

    /// A sleeping system call's state whose call is `fork` with child name `tag`.
    static func syscallState(tag: String) -> SyscallState? {
        guard var (b, _, _) = model(features: [.eventFork]) else { return nil }
        guard case .blocked(_, let st) = b.start(.fork(mm: b.mainProcess, childName: tag)) else { return nil }
        return st
    }
}
