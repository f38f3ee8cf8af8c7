// SPDX-License-Identifier: Apache-2.0
//
// What the live backend changes on the host and how it gives it back. The record itself
// lives in the C shim (one place, readable by the SIGINT/SIGTERM handler, written to the
// journal before each change so that the guardian or the next run can restore the host
// after a SIGKILL); this type drives it from Swift and collects notes for people.

import CMMLinux
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The host changes of one live run: swap files and vm.page-cluster=0 for them, KSM knobs,
/// the journal that records them, the guardian and the signal handlers that restore them,
/// the subreaper that collects orphaned workers.
public final class HostSetup {
    /// Swap devices active when the run began.
    public private(set) var swapsAtStart = 0
    /// Things people should know about the host (printed on standard error).
    public private(set) var notes: [String] = []
    private var swapCount = 0
    private var restored = false

    /// Where swap files and the journal go (a disk file system: tmpfs cannot hold swap, and
    /// the journal must outlive the run).
    public static let swapDirectory = "/var/tmp"
    /// The journal of the host changes of the live run in progress (see docs/live.md).
    public static let journalPath = "/var/tmp/mmlab-host-journal"

    /// The lock file that keeps live runs on this host one at a time.
    public static let lockPath = "/var/tmp/mmlab-live.lock"
    /// How long a run waits for another one to finish.
    nonisolated(unsafe) public static var lockTimeoutMilliseconds: Int32 = 120_000

    /// Takes the host-wide lock (waiting for another live run, or the guardian of a killed
    /// one, to finish), restores what a killed run left in the journal, then starts
    /// recording: the journal, the guardian, the restoring signal handlers.
    public init() throws(LiveError) {
        let r = mml_host_lock(HostSetup.lockPath, HostSetup.lockTimeoutMilliseconds)
        if r != 0 {
            throw LiveError(r == -EWOULDBLOCK
                ? "another live run held \(HostSetup.lockPath) for \(HostSetup.lockTimeoutMilliseconds / 1000) s"
                : "cannot lock \(HostSetup.lockPath): \(errnoName(-r))")
        }
        // Before anything is saved: a killed run's values are not the host's.
        var report = [CChar](repeating: 0, count: 4096)
        let recovered = mml_host_recover(HostSetup.journalPath, &report, Int32(report.count))
        let text = cText(report)
        if recovered < 0 {
            mml_host_unlock()
            throw LiveError("the host still has settings of an earlier live run: \(text)")
        }
        if recovered == 1 || recovered == 2 { notes.append(text) }
        let g = mml_host_begin(HostSetup.journalPath)
        if g != 0 {
            notes.append("the guardian process could not start (\(errnoName(-g))): if this run is killed with "
                + "SIGKILL, the next live run restores the host from \(HostSetup.journalPath)")
        }
        swapsAtStart = max(Int(mml_active_swaps()), 0)
        if let stale = HostSetup.staleSwapFiles(), !stale.isEmpty {
            notes.append("swap file(s) from an earlier interrupted mmlab run are still active: "
                + stale.joined(separator: ", ") + " (remove with swapoff and rm)")
        }
    }

    /// The pid of the guardian process of this run, or nil.
    public var guardian: Int32? {
        let g = mml_host_guardian()
        return g > 0 ? g : nil
    }

    /// Sets vm.page-cluster=0 (swap-in reads one page: no readahead around a fault).
    public func setPageClusterZero() throws(LiveError) {
        let r = mml_host_set_sysctl("vm.page-cluster", "0")
        if r != 0 { throw LiveError("cannot set vm.page-cluster=0: \(errnoName(-r))") }
    }

    /// The `swap SIZE` statement: with no swap active at the start, a new swap file of
    /// that size (type 0 for the first, as in the model) and vm.page-cluster=0, both in the
    /// journal (one durable write) before either is made; with swap already active, that
    /// swap is used and a note says so (the run set vm.page-cluster=0 at its start).
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
        let saved = mml_host_save_sysctl("vm.page-cluster")
        if saved != 0 { return -saved }
        let r = mml_host_add_swapfile(path, bytes)
        if r != 0 { return -r }
        let pc = mml_host_set_sysctl("vm.page-cluster", "0")
        return pc == 0 ? nil : -pc
    }

    /// Adds a note for people (printed once on standard error).
    public func note(_ text: String) {
        if !notes.contains(text) { notes.append(text) }
    }

    /// Records the current values of KSM knobs the run is about to write, and whether the
    /// restore unmerges everything first, in one durable journal write. nil, or the errno.
    public func saveKSM(_ knobs: [String], unmergeAtRestore: Bool) -> Int32? {
        mml_host_ksm_unmerge_at_restore(unmergeAtRestore ? 1 : 0)
        for knob in knobs {
            let r = mml_host_save_ksm(knob)
            if r != 0 { return -r }
        }
        let r = mml_host_commit()
        return r == 0 ? nil : -r
    }

    /// Writes /sys/kernel/mm/ksm/`knob`, its old value recorded in the journal first.
    public func setKSM(_ knob: String, _ value: String) -> Int32? {
        let r = mml_host_set_ksm(knob, value + "\n")
        return r == 0 ? nil : -r
    }

    /// Whether the restore unmerges everything (run=2) before the KSM knobs go back: frees
    /// the run's rmap items and the KSM slots of its exited workers at once. Only right
    /// when no other process on the host uses KSM.
    public func unmergeKSMAtRestore(_ on: Bool) {
        mml_host_ksm_unmerge_at_restore(on ? 1 : 0)
        _ = mml_host_commit()
    }

    /// Gives everything back (idempotent). Problems for people, empty when all went well.
    public func restore() -> [String] {
        guard !restored else { return [] }
        restored = true
        var problems = [CChar](repeating: 0, count: 2048)
        let failed = mml_host_restore(&problems, Int32(problems.count))
        guard failed > 0 else { return [] }  // -1: a signal handler restores, and the process ends
        return ["\(failed) host setting(s) could not be restored: \(cText(problems)); "
            + "\(HostSetup.journalPath) keeps them, and the next live run tries again before it starts"]
    }

    deinit { _ = restore() }

    /// Active swap files that an earlier run of the live backend created and that no journal
    /// knew (a version of mmlab without one was killed); nil when /proc/swaps cannot be read.
    static func staleSwapFiles() -> [String]? {
        guard let text = readSmallFile("/proc/swaps") else { return nil }
        let mine = "mmlab-live-swap.\(getpid())."
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let path = String(line.split(separator: " ").first ?? "")
            return path.contains("/mmlab-live-swap.") && !path.contains(mine) ? path : nil
        }
    }
}

/// The text a C function left in a NUL-terminated buffer.
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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
