// SPDX-License-Identifier: Apache-2.0
//
// KSM on the running kernel. `madvise mergeable/unmergeable` is a plain madvise(2) in the
// worker. The rest drives ksmd through /sys/kernel/mm/ksm, so that it does what the model
// means: `ksm run` only enables the scanner; `ksm scan N` lets ksmd do exactly N full scans
// (one batch each: pages_to_scan covers every page) and stops it again (run=0 between
// statements, so nothing changes behind the scenario's back); `expect ksm` reads the
// counters, full_scans relative to the start of the run. Every knob touched is recorded in
// the host record (CMMLinux/host.c) and restored on every exit path.

import CMMLinux
import MMLab
import MMScenario
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The KSM side of one live run.
struct LiveKSM {
    /// The knobs were set for the run (ksmPrepare).
    var prepared = false
    /// `ksm run` was executed: `ksm scan` scans.
    var enabled = false
    /// /sys/kernel/mm/ksm/full_scans when the run began (the model starts at 0).
    var baseFullScans: Int64 = 0
    /// /sys/kernel/mm/ksm/ksm_zero_pages when the run began: a count KSM leaked earlier
    /// (see examples/ksm/zero-pages-fork.mms) stays forever, so it is subtracted.
    var baseZeroPages: Int64 = 0
    /// Other processes registered with KSM, seen so far (pid: description).
    var foreign: [Int32: String] = [:]
    /// Alternates sleep_millisecs between two values, which wakes ksmd from its sleep.
    var kick = false
    /// A worker may be registered with KSM although /proc/PID/ksm_stat cannot tell: it asked
    /// for merging (madvise MERGEABLE, prctl PR_SET_MEMORY_MERGE) since ksmd was last seen not
    /// to run. An mm stays registered (MMF_VM_MERGEABLE) until a scan finds no mergeable VMA
    /// in it and drops it (scan_get_next_rmap_item()), and that scan counts.
    var mayBeRegistered = false
}

extension LiveBackend {
    static let ksmDirectory = "/sys/kernel/mm/ksm"
    /// Pages ksmd may scan in one batch: far more than a scenario maps, so one batch is one
    /// full scan (ksm_do_scan() stops where scan_get_next_rmap_item() ends a scan).
    static let ksmPagesToScan = 100_000
    /// ksmd's sleep after a batch. Long, so that it cannot start another scan before the
    /// controller writes run=0; the next scan wakes it by writing the other value.
    static let ksmSleepMilliseconds = (1000, 1001)
    /// How long one `ksm scan N` statement may take.
    nonisolated(unsafe) static var ksmScanTimeoutMilliseconds = 30_000
    /// How long ksmd has to start a scan when no worker is known to be registered: a
    /// registered mm is scanned within milliseconds of run=1 (run_store() wakes ksmd).
    static let ksmProbeMilliseconds = 500
    /// The counters `expect ksm` may name.
    static var ksmCounterNames: [String] { KSMCounter.names }

    /// Whether this kernel has KSM (CONFIG_KSM: /sys/kernel/mm/ksm/run).
    public static var kernelHasKSM: Bool { readSmallFile(ksmDirectory + "/run") != nil }

    /// Sets ksmd up for a scenario that uses KSM, before it runs: stopped (run=0, also when
    /// the host had it running, so that ksmd does not merge behind the scenario's back),
    /// the advisor off (it would change pages_to_scan), one batch per full scan, no smart
    /// scan (it skips pages that did not change for a few scans; the model looks at every
    /// page in every scan), no zero-page merging (the model's default). Records the
    /// full_scans baseline and who else uses KSM.
    func ksmPrepare() throws(LiveError) {
        guard let host else { throw LiveError("KSM needs the host set-up (it writes /sys/kernel/mm/ksm)") }
        guard !ksm.prepared else { return }
        let settings: [(String, String)] = [
            ("run", "0"), ("advisor_mode", "none"), ("smart_scan", "0"), ("use_zero_pages", "0"),
            ("pages_to_scan", String(LiveBackend.ksmPagesToScan)),
            ("sleep_millisecs", String(LiveBackend.ksmSleepMilliseconds.0)),
        ]
        // Only the run's own state may be dropped at the end (run=2 unmerges every process).
        noteForeignKSMUsers()
        // The old values of every knob set here, in the journal at once (one durable write).
        if let e = host.saveKSM(settings.map(\.0), unmergeAtRestore: ksm.foreign.isEmpty) {
            throw LiveError("cannot record the KSM knobs in \(HostSetup.journalPath): \(errnoName(e))")
        }
        for (knob, value) in settings {
            if let e = host.setKSM(knob, value) {
                throw LiveError("cannot set \(LiveBackend.ksmDirectory)/\(knob) to \(value): \(errnoName(e))")
            }
        }
        ksm.prepared = true
        ksm.baseFullScans = try ksmRead("full_scans")
        ksm.baseZeroPages = try ksmRead("ksm_zero_pages")
        var leftover: [String] = []
        if ksm.baseZeroPages != 0 {
            host.note("ksm_zero_pages was \(ksm.baseZeroPages) when the run began (with no KSM zero page mapped this "
                + "is a count leaked earlier, see examples/ksm/zero-pages-fork.mms): `expect ksm` sees it subtracted")
        }
        for name in ["pages_shared", "pages_sharing", "pages_unshared", "pages_volatile"] {
            if let v = try? ksmRead(name), v != 0 { leftover.append("\(name)=\(v)") }
        }
        if !leftover.isEmpty {
            host.note("KSM already had state when the run began (\(leftover.joined(separator: " "))): "
                + "the counters are host-wide, so `expect ksm` includes it")
        }
        // The model starts from the default max_page_sharing (256); it can only change while
        // no KSM page exists on the host.
        if let sharing = try? ksmRead("max_page_sharing"), sharing != 256, let e = host.setKSM("max_page_sharing", "256") {
            host.note("KSM max_page_sharing is \(sharing) on this host and cannot be set to the model's 256 "
                + "(\(errnoName(e)): KSM pages exist): stable-node chains form at \(sharing) mappings here")
        }
    }

    /// A number from /sys/kernel/mm/ksm.
    func ksmRead(_ name: String) throws(LiveError) -> Int64 {
        var v: Int64 = 0
        let r = mml_ksm_read(name, &v)
        if r != 0 { throw LiveError("cannot read \(LiveBackend.ksmDirectory)/\(name): \(errnoName(-r))") }
        return v
    }

    func ksmWrite(_ knob: String, _ value: String) throws(LiveError) {
        guard let host else { throw LiveError("KSM needs the host set-up") }
        if let e = host.setKSM(knob, value) {
            throw LiveError("cannot write \(value) to \(LiveBackend.ksmDirectory)/\(knob): \(errnoName(e))")
        }
    }

    /// The lines of /proc/PID/ksm_stat, as name → value.
    static func ksmStat(_ pid: Int32) -> [String: String]? {
        guard let text = readSmallFile("/proc/\(pid)/ksm_stat") else { return nil }
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == ":" }).map(String.init)
            if parts.count >= 2 { out[parts[0]] = parts[parts.count - 1] }
        }
        return out
    }

    /// Whether a process's mm is registered with ksmd (it has a mergeable VMA, or
    /// MMF_VM_MERGE_ANY), or still has rmap items.
    static func usesKSM(_ pid: Int32) -> Bool {
        guard let stat = ksmStat(pid) else { return false }
        return stat["ksm_mergeable"] == "yes" || stat["ksm_merge_any"] == "yes"
            || (Int(stat["ksm_rmap_items"] ?? "0") ?? 0) > 0
    }

    /// Notes every process other than this run's workers that uses KSM: full_scans and the
    /// counters are host-wide, and ksmd scans their pages too.
    func noteForeignKSMUsers() {
        let mine = Set(workers.map(\.pid) + [getpid()])
        guard let dir = opendir("/proc") else { return }
        defer { closedir(dir) }
        var found: [Int32] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), !mine.contains(pid), ksm.foreign[pid] == nil else { continue }
            if LiveBackend.usesKSM(pid) { found.append(pid) }
        }
        guard !found.isEmpty else { return }
        for pid in found.sorted() {
            let comm = readSmallFile("/proc/\(pid)/comm")?.split(separator: "\n").first.map(String.init) ?? "?"
            ksm.foreign[pid] = "\(pid) (\(comm))"
        }
        host?.note("other processes use KSM on this host: "
            + ksm.foreign.keys.sorted().compactMap { ksm.foreign[$0] }.joined(separator: ", ")
            + "; ksmd scans their pages too, full_scans and the KSM counters include them, and the end of the run "
            + "does not unmerge (run=2) to drop this run's KSM state")
        host?.unmergeKSMAtRestore(false)
    }

    /// Whether any live worker's mm is surely registered with ksmd: it has a mergeable VMA
    /// or rmap items. MMF_VM_MERGE_ANY alone does not say: a scan that found no mergeable VMA
    /// drops the mm and keeps that flag (scan_get_next_rmap_item()).
    func anyWorkerUsesKSM() -> Bool {
        workers.contains { w in
            guard w.alive, let stat = LiveBackend.ksmStat(w.pid) else { return false }
            return stat["ksm_mergeable"] == "yes" || (Int(stat["ksm_rmap_items"] ?? "0") ?? 0) > 0
        }
    }

    /// `ksm max_page_sharing N`: the knob ksmPrepare() set to 256 (the restore puts back the
    /// host's value). The kernel refuses it with EBUSY while KSM pages exist, EINVAL below 2.
    func ksmSetMaxPageSharing(_ n: Int) -> Errno? {
        do { try ksmPrepare() } catch { return broken(error) }
        guard let host else { return .EIO }
        if let e = host.setKSM("max_page_sharing", String(n)) { return Errno(rawValue: e) ?? .EIO }
        return nil
    }

    /// `ksm use_zero_pages on|off`: the knob ksmPrepare() set to 0 (and the restore puts back).
    func ksmSetUseZeroPages(_ on: Bool) -> Errno? {
        do {
            try ksmPrepare()
            try ksmWrite("use_zero_pages", on ? "1" : "0")
        } catch { return broken(error) }
        return nil
    }

    func ksmRun() -> Errno? {
        do { try ksmPrepare() } catch { return broken(error) }
        ksm.enabled = true
        return nil
    }

    /// `n` full scans, one at a time: a new sleep_millisecs (which wakes ksmd from the sleep
    /// after its last batch), run=1, wait until full_scans advances, run=0 (which
    /// waits for ksmd's batch to end: ksm_thread_mutex). Bounded: at most
    /// `ksmScanTimeoutMilliseconds` for the statement.
    func ksmScan(_ n: Int) -> Errno? {
        guard ksm.enabled, n > 0 else { return nil }   // run=0: nothing scans, as in the model
        noteForeignKSMUsers()
        // ksmd_should_run() is false while no mm is registered: it does not scan, and
        // full_scans does not advance. A worker that asked for merging may still be
        // registered without a mergeable VMA left: then ksmd is given a short time to start
        // a scan, and not starting one means nothing is registered.
        let surely = !ksm.foreign.isEmpty || anyWorkerUsesKSM()
        if !surely && !ksm.mayBeRegistered {
            host?.note("`ksm scan` with no mm registered with KSM: ksmd does not scan (ksmd_should_run() is false) "
                + "and full_scans does not advance")
            return nil
        }
        let deadline = LiveBackend.nowMilliseconds() + LiveBackend.ksmScanTimeoutMilliseconds
        do throws(LiveError) {
            for i in 0..<n {
                let probing = !(!ksm.foreign.isEmpty || anyWorkerUsesKSM())
                let until = probing ? min(deadline, LiveBackend.nowMilliseconds() + LiveBackend.ksmProbeMilliseconds) : deadline
                let before = try ksmRead("full_scans")
                // The new sleep first: it wakes ksmd if it still sleeps after its last batch
                // (it then finds run=0 and waits for run). Written after run=1 it could wake
                // ksmd from the sleep after this scan's batch, for a second scan.
                ksm.kick.toggle()
                let sleep = ksm.kick ? LiveBackend.ksmSleepMilliseconds.1 : LiveBackend.ksmSleepMilliseconds.0
                try ksmWrite("sleep_millisecs", String(sleep))
                try ksmWrite("run", "1")
                var now = try ksmRead("full_scans")
                while now == before && LiveBackend.nowMilliseconds() < until {
                    usleep(500)
                    now = try ksmRead("full_scans")
                }
                try ksmWrite("run", "0")
                let after = try ksmRead("full_scans")
                if after == before && probing {
                    ksm.mayBeRegistered = false
                    host?.note("`ksm scan`: ksmd did not start a scan within \(LiveBackend.ksmProbeMilliseconds) ms: no mm is "
                        + "registered with KSM (ksmd_should_run() is false), full_scans stays")
                    return nil
                }
                if after == before {
                    throw LiveError("ksm scan \(n): ksmd did not complete full scan \(i + 1) of \(n) within "
                        + "\(LiveBackend.ksmScanTimeoutMilliseconds / 1000) s (full_scans stayed \(before - ksm.baseFullScans))")
                }
                if after != before + 1 {
                    throw LiveError("ksm scan \(n): ksmd completed \(after - before) full scans instead of one "
                        + "before run=0 took effect (full_scans \(before - ksm.baseFullScans) → \(after - ksm.baseFullScans))")
                }
            }
        } catch {
            _ = try? ksmWrite("run", "0")
            return broken(error)
        }
        return nil
    }

    func ksmCounters() -> [(String, Int64)] {
        guard ksm.prepared || (try? ksmPrepare()) != nil else { return [] }
        var out: [(String, Int64)] = []
        for name in LiveBackend.ksmCounterNames {
            do {
                let v = try ksmRead(name)
                switch name {
                case "full_scans": out.append((name, v - ksm.baseFullScans))
                case "ksm_zero_pages": out.append((name, v - ksm.baseZeroPages))
                case "general_profit": out.append((name, v - ksm.baseZeroPages * Int64(getpagesize())))
                default: out.append((name, v))
                }
            } catch {
                problems.append(error.message)
            }
        }
        return out
    }

    static func nowMilliseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
    }
}
