// SPDX-License-Identifier: Apache-2.0
//
// What a timeline (`live --html`, `diff --html`) asks the kernel besides the pagemap words
// the runner reads: whether a frame is a KSM page, from /proc/kpageflags (as root).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension LiveBackend {
    /// KPF_KSM (include/uapi/linux/kernel-page-flags.h).
    static let kpfKSM: UInt64 = 1 << 21

    /// Whether the frame at `pfn` is a KSM page: its word of /proc/kpageflags (fs/proc/page.c
    /// kpageflags_read()) has KPF_KSM. False when the file cannot be read.
    public func frameIsKSM(_ pfn: UInt64) -> Bool {
        #if os(Linux)
        let fd = open("/proc/kpageflags", O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var word: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &word) { pread(fd, $0.baseAddress, 8, off_t(pfn * 8)) }
        return n == 8 && word & Self.kpfKSM != 0
        #else
        return false
        #endif
    }
}
