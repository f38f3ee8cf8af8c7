// SPDX-License-Identifier: Apache-2.0
//
// The one entry point of the live backend: a SystemCall made for real. Each call goes to the
// worker (or the controller, for files and sysfs) that the other LiveBackend files drive;
// accesses and the calls that may wait for a userfaultfd reader run as jobs once a
// userfaultfd exists, and come back as a LivePendingCall while they sleep.

import MMLab
import MMScenario

extension LiveBackend {
    public typealias PendingCall = LivePendingCall

    public func start(_ call: SystemCall) -> CallProgress<LivePendingCall> {
        func result(_ e: Errno?) -> CallProgress<LivePendingCall> { .finished(e.map { .errno($0) } ?? .ok) }
        func result<T>(_ r: Result<T, Errno>, _ ok: (T) -> CallResult) -> CallProgress<LivePendingCall> {
            switch r {
            case .success(let v): return .finished(ok(v))
            case .failure(let e): return .finished(.errno(e))
            }
        }
        switch call {
        case .access(let p, let address, let store):
            return access(p, address: address, store: store)
        case .madvise(let p, let a, let l, let advice):
            if advice == .mergeable { ksm.mayBeRegistered = true }
            return jobs ? syscallJob(call) : result(madvise(p, address: a, length: l, advice: advice))
        case .munmap(let p, let a, let l):
            return jobs ? syscallJob(call) : result(munmap(p, address: a, length: l))
        case .fork(let p, let name):
            return jobs ? syscallJob(call) : result(fork(p, childName: name)) { .handle($0) }
        case .swapon(let bytes):
            return result(swapon(bytes: bytes))
        case .memfdCreate(let name, let bytes):
            return result(memfdCreate(name: name, bytes: bytes)) { .handle($0) }
        case .guestMemfdCreate(let name, let bytes, let flags):
            return result(guestMemfdCreate(name: name, bytes: bytes, flags: flags)) { .handle($0) }
        case .daxCreate:
            return .finished(.errno(.ENOSYS))   // this machine has no device-dax (the session refuses dax scenarios)
        case .mmap(let p, let length, let prot, let shared, let object, let offset, let align):
            return result(mmap(p, length: length, prot: prot, shared: shared, object: object, offset: offset, align: align)) { .value($0) }
        case .mprotect(let p, let a, let l, let prot):
            return result(mprotect(p, address: a, length: l, prot: prot))
        case .madviseHWPoison(let p, let a, let l):
            return .finished(.hwpoison(madviseHWPoison(p, address: a, length: l)))
        case .punchHole(let object, let offset, let length):
            return result(punchHole(object, offset: offset, length: length))
        case .pread(let object, let offset):
            return result(filePread(object, offset: offset)) { .value($0) }
        case .pwrite(let object, let offset, let token):
            return result(filePwrite(object, offset: offset, token: token)) { .value($0) }
        case .exit(let p):
            return result(exitProcess(p))
        case .pagemapRead(let p, let address):
            return .finished(.value(pagemap(p, address: address)))
        case .clearRefs(let p, let value):
            return result(clearRefs(p, value: value))
        case .prctlSetMemoryMerge(let p, let on):
            if on { ksm.mayBeRegistered = true }
            return result(prctlSetMemoryMerge(p, on))
        case .uffdCreate(let p, let features):
            return result(uffdCreate(p, features: features)) { .handle($0) }
        case .uffdRegister(let u, let a, let l, let mode):
            return result(uffdRegister(u, address: a, length: l, mode: mode))
        case .uffdUnregister(let u, let a, let l):
            return result(uffdUnregister(u, address: a, length: l))
        case .uffdWriteProtect(let u, let a, let l, let protect, let dontwake):
            return result(uffdWriteProtect(u, address: a, length: l, protect: protect, dontwake: dontwake))
        case .uffdMfill(let u, let a, let l, let mode, let wp, let dontwake):
            return result(uffdMfill(u, address: a, length: l, mode: mode, wp: wp, dontwake: dontwake))
        case .uffdWake(let u, let a, let l):
            return result(uffdWake(u, address: a, length: l))
        case .uffdRead(let u):
            return .finished(.message(uffdRead(u)))
        case .pagemapScan(let p, let args):
            return result(pagemapScan(p, args)) { .regions($0) }
        case .ksmRun:
            return result(ksmRun())
        case .ksmScan(let n):
            return result(ksmScan(n))
        case .ksmSetUseZeroPages(let on):
            return result(ksmSetUseZeroPages(on))
        case .ksmSetMaxPageSharing(let n):
            return result(ksmSetMaxPageSharing(n))
        case .ksmCounters:
            return .finished(.counters(ksmCounters().map { KSMCounterValue($0.0, $0.1) }))
        case .pin(let p, let a, let l, let exclusive):
            // FOLL_EXCLUSIVE exists only under design gup.exclusive = on, which the live
            // backend refuses before the run (LiveSession.designRefusal()).
            if exclusive { return .finished(.backendError("pin … exclusive (FOLL_EXCLUSIVE) is not in Linux 6.18")) }
            return result(pin(p, address: a, length: l)) { .handle($0) }
        case .unpin(let p, let ring):
            return result(unpin(p, ring: ring))
        case .gmemConvert(let object, let offset, let length, let toPrivate):
            return result(gmemConvert(object, offset: offset, length: length, toPrivate: toPrivate))
        }
    }
}
