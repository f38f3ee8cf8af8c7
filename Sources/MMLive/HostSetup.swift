// SPDX-License-Identifier: Apache-2.0
//
// What the live backend changes on the host and how it gives it back. The record itself
// lives in the C shim (one place, readable by the SIGINT/SIGTERM handler); this type drives
// it from Swift and collects notes for people.

import CMMLinux
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The host changes of one live run: vm.page-cluster=0, swap files, KSM knobs, the signal
/// handlers that restore them, the subreaper that collects orphaned workers.
public final class HostSetup {
    /// Swap devices active when the run began.
    public let swapsAtStart: Int
    /// Things people should know about the host (printed on standard error).
    public private(set) var notes: [String] = []
    private var swapCount = 0
    private var restored = false

    /// Where swap files go (a disk file system: tmpfs cannot hold swap).
    public static let swapDirectory = "/var/tmp"

    /// The lock file that keeps live runs on this host one at a time.
    public static let lockPath = "/var/tmp/mmlab-live.lock"
    /// How long a run waits for another one to finish.
    nonisolated(unsafe) public static var lockTimeoutMilliseconds: Int32 = 120_000

    /// Takes the host-wide lock (waiting for another live run to finish), then starts
    /// recording: installs the restoring signal handlers.
    public init() throws(LiveError) {
        let r = mml_host_lock(HostSetup.lockPath, HostSetup.lockTimeoutMilliseconds)
        if r != 0 {
            throw LiveError(r == -EWOULDBLOCK
                ? "another live run held \(HostSetup.lockPath) for \(HostSetup.lockTimeoutMilliseconds / 1000) s"
                : "cannot lock \(HostSetup.lockPath): \(errnoName(-r))")
        }
        mml_host_begin()
        swapsAtStart = max(Int(mml_active_swaps()), 0)
        if let stale = HostSetup.staleSwapFiles(), !stale.isEmpty {
            notes.append("swap file(s) from an earlier interrupted mmlab run are still active: "
                + stale.joined(separator: ", ") + " (remove with swapoff and rm)")
        }
    }

    /// Sets vm.page-cluster=0 (swap-in reads one page: no readahead around a fault).
    public func setPageClusterZero() throws(LiveError) {
        let r = mml_host_set_page_cluster(0)
        if r != 0 { throw LiveError("cannot set vm.page-cluster=0: \(errnoName(-r))") }
    }

    /// The `swap SIZE` statement: with no swap active at the start, a new swap file of
    /// that size (type 0 for the first, as in the model); with swap already active, that
    /// swap is used and a note says so.
    public func swapon(bytes: UInt64) -> Int32? {
        if swapsAtStart > 0 {
            if swapCount == 0 {
                notes.append("the host already had \(swapsAtStart) active swap device(s); the scenario uses them "
                    + "(pagemap swap types may differ from the model's 0, and their size from the scenario's)")
            }
            swapCount += 1
            return nil
        }
        let path = "\(HostSetup.swapDirectory)/mmlab-live-swap.\(getpid()).\(swapCount)"
        swapCount += 1
        let r = mml_host_add_swapfile(path, bytes)
        return r == 0 ? nil : -r
    }

    /// Adds a note for people (printed once on standard error).
    public func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// Writes /sys/kernel/mm/ksm/`knob`, recording its old value for the restore.
    public func setKSM(_ knob: String, _ value: String) -> Int32? {
        let r = mml_host_set_ksm(knob, value + "\n")
        return r == 0 ? nil : -r
    }

    /// Whether the restore unmerges everything (run=2) before the KSM knobs go back: frees
    /// the run's rmap items and the KSM slots of its exited workers at once. Only right
    /// when no other process on the host uses KSM.
    public func unmergeKSMAtRestore(_ on: Bool) { mml_host_ksm_unmerge_at_restore(on ? 1 : 0) }

    /// Gives everything back (idempotent). Problems for people, empty when all went well.
    public func restore() -> [String] {
        guard !restored else { return [] }
        restored = true
        let failed = mml_host_restore()
        return failed == 0 ? [] : ["\(failed) host setting(s) could not be restored (swap file, vm.page-cluster or a KSM knob); check swapon --show, sysctl vm.page-cluster and /sys/kernel/mm/ksm"]
    }

    deinit { _ = restore() }

    /// Active swap files that an earlier run of the live backend created and never removed
    /// (it was killed with SIGKILL); nil when /proc/swaps cannot be read.
    static func staleSwapFiles() -> [String]? {
        guard let text = readSmallFile("/proc/swaps") else { return nil }
        let mine = "mmlab-live-swap.\(getpid())."
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let path = String(line.split(separator: " ").first ?? "")
            return path.contains("/mmlab-live-swap.") && !path.contains(mine) ? path : nil
        }
    }
}

/// The contents of a small text file (procfs), or nil.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        bytes += buf[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
