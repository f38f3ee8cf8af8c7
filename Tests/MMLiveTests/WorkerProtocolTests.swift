// SPDX-License-Identifier: Apache-2.0
//
// The controller/worker protocol of the live backend, on parts that need no privilege: a
// worker maps, writes and reads its own memory, faults are caught and reported with their
// si_code, fork gives a child worker with its own channel, and every worker ends.

import CMMLinux
import XCTest
@testable import MMLive
#if canImport(Glibc)
import Glibc
#endif

final class WorkerProtocolTests: XCTestCase {
    override func setUpWithError() throws {
        guard mml_is_linux() != 0 else { throw XCTSkip("live tests skipped: not Linux") }
    }

    /// Whether a process is gone (reaped or never ours and ended).
    func isGone(_ pid: Int32) -> Bool { kill(pid, 0) == -1 && errno == ESRCH }

    func testMapWriteReadInAWorker() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: nil)
        defer { XCTAssertNil(w.end()) }
        let addr = try w.mmap(length: 4 * 4096, prot: .rw, shared: false, fd: nil, offset: 0, align: 2 << 20).get()
        XCTAssertEqual(addr % (2 << 20), 0, "a mapping without align= starts on a 2 MiB boundary")
        XCTAssertEqual(try w.load(addr), .ok(0), "an untouched anonymous page reads 0")
        XCTAssertEqual(try w.store(addr + 4096, token: 0x1234), .ok(0x1234))
        XCTAssertEqual(try w.load(addr + 4096), .ok(0x1234))
        let word = try w.pagemap(addr + 4096).get()
        XCTAssertNotEqual(word & (1 << 63), 0, "a written page is present")
        XCTAssertEqual(try w.pagemap(addr + 3 * 4096).get(), 0, "an untouched page has no PTE")
    }

    func testPlacementFollowsTheModel() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: nil)
        defer { XCTAssertNil(w.end()) }
        let a = try w.mmap(length: 4096, prot: .rw, shared: false, fd: nil, offset: 0, align: 12288).get()
        XCTAssertEqual(a % (2 << 20), 12288, "align below 2 MiB: that many bytes past a 2 MiB boundary")
        let b = try w.mmap(length: 4096, prot: .rw, shared: false, fd: nil, offset: 0, align: 4 << 20).get()
        XCTAssertEqual(b % (4 << 20), 0, "align of 4 MiB: a multiple of 4 MiB")
        let gap = a > b ? a - (b + 4096) : b - (a + 4096)
        XCTAssertGreaterThanOrEqual(gap, 2 << 20, "mappings keep 2 MiB apart, so they never merge")
        guard case .failure(let e) = try w.mmap(length: 4096, prot: .rw, shared: false, fd: nil, offset: 0, align: 3 << 20)
        else { return XCTFail("align of 3 MiB (not a power of two) is refused") }
        XCTAssertEqual(e.errno, EINVAL)
    }

    func testFaultsAreReportedWithTheirCode() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: nil)
        defer { XCTAssertNil(w.end()) }
        let addr = try w.mmap(length: 2 * 4096, prot: .rw, shared: false, fd: nil, offset: 0, align: 2 << 20).get()
        XCTAssertEqual(try w.store(addr, token: 7), .ok(7))
        try w.mprotect(address: addr, length: 4096, prot: .r).get()
        XCTAssertEqual(try w.store(addr, token: 8), .signal(SIGSEGV, code: 2), "SEGV_ACCERR on a read-only page")
        XCTAssertEqual(try w.load(addr), .ok(7))
        try w.munmap(address: addr, length: 4096).get()
        XCTAssertEqual(try w.load(addr), .signal(SIGSEGV, code: 1), "SEGV_MAPERR on an unmapped page")
        // The worker survives its faults and keeps answering.
        XCTAssertEqual(try w.store(addr + 4096, token: 9), .ok(9))
    }

    func testMemfdPunchHoleAndBusError() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: nil)
        defer { XCTAssertNil(w.end()) }
        let fd = mml_memfd("mmlab-test", 2 * 4096)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { mml_close(fd) }
        let addr = try w.mmap(length: 4 * 4096, prot: .rw, shared: true, fd: fd, offset: 0, align: 2 << 20).get()
        XCTAssertEqual(try w.store(addr + 4096, token: 0x55), .ok(0x55))
        XCTAssertEqual(try w.load(addr + 4096), .ok(0x55))
        XCTAssertEqual(try w.load(addr + 3 * 4096), .signal(SIGBUS, code: 2), "BUS_ADRERR beyond the end of the file")
        try w.punchHole(fd: fd, offset: 4096, length: 4096).get()
        XCTAssertEqual(try w.load(addr + 4096), .ok(0), "a punched page reads 0")
        XCTAssertEqual(try w.madvise(address: addr, length: 4096, advice: 4).map { _ in 0 }.get(), 0)
        guard case .failure(let e) = try w.madvise(address: addr + 1, length: 4096, advice: 4) else {
            return XCTFail("an unaligned madvise fails")
        }
        XCTAssertEqual(e.errno, EINVAL)
    }

    func testForkGivesAChildWorker() throws {
        let parent = try LiveWorker.spawn(name: "main", cpu: nil)
        let addr = try parent.mmap(length: 4096, prot: .rw, shared: false, fd: nil, offset: 0, align: 2 << 20).get()
        XCTAssertEqual(try parent.store(addr, token: 0x50001), .ok(0x50001))
        let child = try parent.fork(childName: "child").get()
        XCTAssertNotEqual(child.pid, parent.pid)
        XCTAssertEqual(try child.load(addr), .ok(0x50001), "the child sees the parent's memory")
        XCTAssertEqual(try child.store(addr, token: 0x50002), .ok(0x50002))
        XCTAssertEqual(try parent.load(addr), .ok(0x50001), "a private page is copied on write")
        XCTAssertEqual(try child.load(addr), .ok(0x50002))
        // Grandchildren too: the child forks again.
        let grandchild = try child.fork(childName: "grandchild").get()
        XCTAssertEqual(try grandchild.load(addr), .ok(0x50002))
        for w in [grandchild, child, parent] { XCTAssertNil(w.end(), "\(w.name) ends when asked") }
        for w in [grandchild, child, parent] { XCTAssertTrue(isGone(w.pid), "\(w.name) (pid \(w.pid)) is gone") }
    }

    func testAWorkerThatDiesIsReportedNotAwaitedForever() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: nil)
        kill(w.pid, SIGKILL)
        XCTAssertThrowsError(try w.load(0x1000)) { error in
            XCTAssertTrue("\(error)".contains("is gone"), "\(error)")
        }
        _ = w.end()
        XCTAssertTrue(isGone(w.pid))
    }

    func testPinnedWorkerRunsOnCPU0() throws {
        // Pinning can fail in a restricted cpuset; the spawn then says so.
        do {
            let w = try LiveWorker.spawn(name: "main", cpu: 0)
            XCTAssertNil(w.end())
        } catch {
            XCTAssertTrue(error.message.contains("pinned to CPU 0"), error.message)
        }
    }
}
