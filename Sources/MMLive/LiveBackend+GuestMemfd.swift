// SPDX-License-Identifier: Apache-2.0
//
// KVM guest_memfd on the running kernel: the controller opens /dev/kvm, creates one VM of
// the default type (0, no private memory) for the run and creates each guest_memfd on it.
// The fd is then held and passed to workers like a memfd (mmap MAP_SHARED, fallocate punch).

import CMMLinux
import MMLab
import MMScenario

extension LiveBackend {
    func guestMemfdCreate(name: String, bytes: UInt64, flags: GuestMemfdFlags) -> Result<ObjectHandle, Errno> {
        let fd = mml_guest_memfd(&vmFd, bytes, flags.rawValue)
        if fd < 0 { return .failure(errno(SyscallError(errno: -fd))) }
        files.append(fd)
        return .success(ObjectHandle(files.count - 1))
    }
}

extension LiveBackend {
    /// The conversion ioctl from the controller, which holds every file.
    func gmemConvert(_ object: ObjectHandle, offset: UInt64, length: UInt64, toPrivate: Bool) -> Errno? {
        guard Int(object) < files.count, object >= 0 else { return .EBADF }
        let r = mml_gmem_set_attributes(files[Int(object)], offset, length, toPrivate ? 1 : 0)
        return r < 0 ? errno(SyscallError(errno: Int32(-r))) : nil
    }

    /// pread(2) from the controller, which holds every file (a file operation, no mapping).
    func filePread(_ object: ObjectHandle, offset: UInt64) -> Result<UInt64, Errno> {
        guard Int(object) < files.count, object >= 0 else { return .failure(.EBADF) }
        var value: UInt64 = 0
        let n = mml_pread(files[Int(object)], offset, &value)
        if n < 0 { return .failure(errno(SyscallError(errno: Int32(-n)))) }
        return .success(value)
    }
}
