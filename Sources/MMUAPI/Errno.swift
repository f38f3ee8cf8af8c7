// SPDX-License-Identifier: Apache-2.0
//
// Error numbers (include/uapi/asm-generic/errno-base.h, errno.h) and the signals a
// memory access can raise, with the si_code the kernel reports.

/// An errno value as the x86-64 kernel returns it.
public enum Errno: Int32, CaseIterable, Error, Sendable, CustomStringConvertible {
    case EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7
    case ENOEXEC = 8, EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13
    case EFAULT = 14, EBUSY = 16, EEXIST = 17, ENODEV = 19, EINVAL = 22, EFBIG = 27, ENOSPC = 28
    case ESPIPE = 29, EROFS = 30, ERANGE = 34, ENOSYS = 38, ENOTTY = 25
    case EOVERFLOW = 75, EOPNOTSUPP = 95, EHWPOISON = 133

    public var description: String {
        switch self {
        case .EPERM: "EPERM"; case .ENOENT: "ENOENT"; case .ESRCH: "ESRCH"; case .EINTR: "EINTR"
        case .EIO: "EIO"; case .ENXIO: "ENXIO"; case .E2BIG: "E2BIG"; case .ENOEXEC: "ENOEXEC"
        case .EBADF: "EBADF"; case .ECHILD: "ECHILD"; case .EAGAIN: "EAGAIN"; case .ENOMEM: "ENOMEM"
        case .EACCES: "EACCES"; case .EFAULT: "EFAULT"; case .EBUSY: "EBUSY"; case .EEXIST: "EEXIST"
        case .ENODEV: "ENODEV"; case .EINVAL: "EINVAL"; case .EFBIG: "EFBIG"; case .ENOSPC: "ENOSPC"; case .ESPIPE: "ESPIPE"
        case .EROFS: "EROFS"; case .ERANGE: "ERANGE"; case .ENOSYS: "ENOSYS"; case .ENOTTY: "ENOTTY"
        case .EOVERFLOW: "EOVERFLOW"; case .EOPNOTSUPP: "EOPNOTSUPP"; case .EHWPOISON: "EHWPOISON"
        }
    }
    public init?(name: String) {
        guard let e = Errno.allCases.first(where: { $0.description == name }) else { return nil }
        self = e
    }
}

/// A signal raised by a memory access, with its si_code and, for a machine check
/// (BUS_MCEERR_AR/AO under CONFIG_MEMORY_FAILURE), si_addr and si_addr_lsb.
public struct SignalInfo: Hashable, Sendable, CustomStringConvertible {
    public enum Signal: String, CaseIterable, Sendable { case SIGSEGV, SIGBUS }
    public var signal: Signal
    /// si_code: SEGV_MAPERR 1, SEGV_ACCERR 2; BUS_ADRERR 2, BUS_MCEERR_AR 4, BUS_MCEERR_AO 5.
    public var code: Int32
    /// si_addr, when the model reports it (machine-check signals; nil otherwise, as the live
    /// backend reports no address).
    public var address: UInt64? = nil
    /// si_addr_lsb: the log2 of the size of the corrupted range (12 a page, 21 a PMD, 30 a PUD).
    public var addrLSB: Int? = nil

    public init(signal: Signal, code: Int32, address: UInt64? = nil, addrLSB: Int? = nil) {
        self.signal = signal
        self.code = code
        self.address = address
        self.addrLSB = addrLSB
    }

    public static let segvMapErr = SignalInfo(signal: .SIGSEGV, code: 1)
    public static let segvAccErr = SignalInfo(signal: .SIGSEGV, code: 2)
    public static let busAdrErr = SignalInfo(signal: .SIGBUS, code: 2)
    public static let busMceErrAR = SignalInfo(signal: .SIGBUS, code: 4)
    public static let busMceErrAO = SignalInfo(signal: .SIGBUS, code: 5)
    /// force_sig(SIGBUS): si_code SI_KERNEL (0x80), no address (kill_me_now() after an
    /// unrecovered machine check).
    public static let busKernel = SignalInfo(signal: .SIGBUS, code: 0x80)

    /// Models force_sig_mceerr() / send_sig_mceerr(): SIGBUS with BUS_MCEERR_AR (action
    /// required, the current task consumed the error) or BUS_MCEERR_AO, si_addr and si_addr_lsb.
    public static func mceErr(actionRequired: Bool, address: UInt64, lsb: Int) -> SignalInfo {
        SignalInfo(signal: .SIGBUS, code: actionRequired ? 4 : 5, address: address, addrLSB: lsb)
    }

    public var codeName: String {
        switch (signal, code) {
        case (.SIGSEGV, 1): return "SEGV_MAPERR"
        case (.SIGSEGV, 2): return "SEGV_ACCERR"
        case (.SIGBUS, 2): return "BUS_ADRERR"
        case (.SIGBUS, 4): return "BUS_MCEERR_AR"
        case (.SIGBUS, 5): return "BUS_MCEERR_AO"
        case (_, 0x80): return "SI_KERNEL"
        default: return "code \(code)"
        }
    }

    /// `SIGBUS (BUS_MCEERR_AR, lsb 21, si_addr M[0])`: the si_code, si_addr_lsb when known,
    /// and si_addr named by `addressName` (nil: si_addr is not shown).
    public func text(addressName: String?) -> String {
        var parts = [codeName]
        if let lsb = addrLSB { parts.append("lsb \(lsb)") }
        if let addressName { parts.append("si_addr \(addressName)") }
        return "\(signal.rawValue) (\(parts.joined(separator: ", ")))"
    }

    /// `SIGBUS (BUS_ADRERR)`, or `SIGBUS (BUS_MCEERR_AR, lsb 21)` for a machine check.
    public var description: String { text(addressName: nil) }
}
