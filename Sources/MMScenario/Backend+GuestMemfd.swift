// SPDX-License-Identifier: Apache-2.0
//
// KVM guest_memfd in a backend: creation (KVM_CREATE_GUEST_MEMFD on a default VM). The file
// is then an object like a memfd: mmap, punch and close go through the plain calls.

import MMLab

extension ScenarioBackend {
    public mutating func guestMemfdCreate(name: String, bytes: UInt64, flags: GuestMemfdFlags) -> Result<ObjectHandle, Errno> {
        .failure(.ENOSYS)
    }
}

extension ModelBackend {
    public mutating func guestMemfdCreate(name: String, bytes: UInt64, flags: GuestMemfdFlags) -> Result<ObjectHandle, Errno> {
        let r = kernel.kvmGmemCreate(name: name, size: bytes, flags: flags)
        if case .success(let h) = r { files.append(h) }
        return r
    }
}

extension ScenarioBackend {
    public mutating func filePread(_ object: ObjectHandle, offset: UInt64) -> Result<UInt64, Errno> { .failure(.ENOSYS) }
    public mutating func daxCreate(name: String, bytes: UInt64, align: UInt64) -> Result<ObjectHandle, Errno> { .failure(.ENOSYS) }
    public var metadataBytes: [(String, Int)] { [] }
}

extension ModelBackend {
    public mutating func filePread(_ object: ObjectHandle, offset: UInt64) -> Result<UInt64, Errno> {
        kernel.pread(object, offset: offset)
    }
    public mutating func daxCreate(name: String, bytes: UInt64, align: UInt64) -> Result<ObjectHandle, Errno> {
        let r = kernel.daxCreate(name: name, bytes: bytes, align: align)
        if case .success(let h) = r { files.append(h) }
        return r
    }
    public var metadataBytes: [(String, Int)] { kernel.metadataBytes }
}
