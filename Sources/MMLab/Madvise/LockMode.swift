// SPDX-License-Identifier: Apache-2.0
//
// Which lock madvise() takes for an advice (mm/madvise.c get_lock_mode()).

/// enum madvise_lock_mode.
enum MadviseLockMode: Equatable {
    /// MADVISE_NO_LOCK: memory-failure injection takes no mmap_lock.
    case none
    /// MADVISE_MMAP_READ_LOCK.
    case mmapRead
    /// MADVISE_MMAP_WRITE_LOCK: the advice changes VMA flags (and may split or merge VMAs).
    case mmapWrite
    /// MADVISE_VMA_READ_LOCK: the per-VMA lock when the range lies in one VMA, else mmap_lock
    /// for read; the model holds mmap_lock for read either way (both exclude a writer of the VMA).
    case vmaRead
}

extension Advice {
    /// Models get_lock_mode() in mm/madvise.c.
    var lockMode: MadviseLockMode {
        switch self {
        case .remove, .cold, .pageout, .free, .populate_read, .populate_write, .guard_install, .guard_remove:
            return .mmapRead
        case .dontneed:
            return .vmaRead
        case .mergeable, .unmergeable, .wipeonfork, .keeponfork, .dontfork, .dofork:
            return .mmapWrite
        }
    }
}
