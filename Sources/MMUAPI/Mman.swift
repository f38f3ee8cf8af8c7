// SPDX-License-Identifier: Apache-2.0
//
// mmap(2), mprotect(2) and madvise(2) arguments (include/uapi/asm-generic/mman-common.h).

/// PROT_* as the scenario language names them.
public enum Prot: String, CaseIterable, Sendable { case none, r, rw }

/// MADV_* values (include/uapi/asm-generic/mman-common.h).
public enum Advice: String, CaseIterable, Sendable {
    case dontneed, pageout, cold, remove, mergeable, unmergeable, guard_install, guard_remove
    case populate_read, populate_write, free, wipeonfork, keeponfork, dontfork, dofork

    /// The advice number the kernel uses.
    public var value: Int32 {
        switch self {
        case .dontneed: 4
        case .free: 8
        case .remove: 9
        case .dontfork: 10
        case .dofork: 11
        case .mergeable: 12
        case .unmergeable: 13
        case .wipeonfork: 18
        case .keeponfork: 19
        case .cold: 20
        case .pageout: 21
        case .populate_read: 22
        case .populate_write: 23
        case .guard_install: 102
        case .guard_remove: 103
        }
    }
}
