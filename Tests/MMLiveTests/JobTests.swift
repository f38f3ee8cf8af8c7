// SPDX-License-Identifier: Apache-2.0
//
// Jobs, userfaultfd and PAGEMAP_SCAN in a worker: an access that traps really sleeps on a job
// thread until an ioctl resolves it, an event holds its system call until it is read, a FORK
// message gives the reader the child's userfaultfd, and a worker with sleeping threads still
// ends when asked. userfaultfd needs root here (/dev/userfaultfd is root's), so these skip
// without it.

import CMMLinux
import XCTest
@testable import MMLive
#if canImport(Glibc)
import Glibc
#endif

final class LiveJobTests: XCTestCase {
    override func setUpWithError() throws {
        if let why = LiveSession.hostRefusal() { throw XCTSkip("live tests skipped: \(why)") }
    }

    let page: UInt64 = 4096
    let missing: UInt64 = 1, wp: UInt64 = 2
    let featureEventFork: UInt64 = 1 << 1, featureEventRemove: UInt64 = 1 << 3

    func u64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) } }

    func asleep(_ j: LiveJob, file: StaticString = #filePath, line: UInt = #line) -> UInt64? {
        if case .asleep(let id) = j { return id }
        XCTFail("the job finished; it should sleep in userfaultfd", file: file, line: line)
        return nil
    }

    func done(_ j: LiveJob, file: StaticString = #filePath, line: UInt = #line) -> (mml_reply, Int32)? {
        if case .done(let r, let fd) = j { return (r, fd) }
        XCTFail("the job still sleeps; it should have finished", file: file, line: line)
        return nil
    }

    func testAUserfaultSleepsOnAJobThreadUntilCopy() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: 0)
        defer { XCTAssertNil(w.end()) }
        let a = try w.mmap(length: 4 * page, prot: .rw, shared: false, fd: nil, offset: 0, align: 2 << 20).get()
        let u = try w.uffdCreate(features: 0).get()
        try w.uffdIoctl(fd: u, MML_UFFD_REGISTER, start: a, length: 4 * page, flags: missing).get()
        let id = try XCTUnwrap(asleep(try w.startJob(MML_JOB_STORE, [a + page, 0x33])))
        let msg = try w.uffdRead(fd: u).get()
        XCTAssertEqual(msg[0], 0x12, "UFFD_EVENT_PAGEFAULT")
        XCTAssertEqual(u64(msg, 8), 1, "UFFD_PAGEFAULT_FLAG_WRITE")
        XCTAssertEqual(u64(msg, 16), a + page)
        guard case .failure(let e) = try w.uffdRead(fd: u) else { return XCTFail("one fault, one message") }
        XCTAssertEqual(e.errno, EAGAIN)
        XCTAssertNotNil(asleep(try w.pollJob(id, waitMilliseconds: 100)), "nothing woke it")
        try w.uffdIoctl(fd: u, MML_UFFD_COPY, start: a + page, length: page, token: 0x44).get()
        let (r, _) = try XCTUnwrap(done(try w.pollJob(id, waitMilliseconds: 3000)))
        XCTAssertEqual(r.sig, 0)
        XCTAssertEqual(try w.load(a + page), .ok(0x33), "the retried store lands on the copied page")
        XCTAssertThrowsError(try w.pollJob(id, waitMilliseconds: 0), "a finished job is freed")
    }

    func testAnEventHoldsMadviseUntilItIsRead() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: 0)
        defer { XCTAssertNil(w.end()) }
        let a = try w.mmap(length: 4 * page, prot: .rw, shared: false, fd: nil, offset: 0, align: 2 << 20).get()
        let u = try w.uffdCreate(features: featureEventRemove).get()
        try w.uffdIoctl(fd: u, MML_UFFD_REGISTER, start: a, length: 4 * page, flags: missing).get()
        let id = try XCTUnwrap(asleep(try w.startJob(MML_JOB_MADVISE, [a, page, 4])))   // MADV_DONTNEED
        guard case .failure(let e) = try w.uffdIoctl(fd: u, MML_UFFD_ZEROPAGE, start: a + 3 * page, length: page) else {
            return XCTFail("a resolving ioctl fails while the REMOVE event is unread")
        }
        XCTAssertEqual(e.errno, EAGAIN)
        let msg = try w.uffdRead(fd: u).get()
        XCTAssertEqual(msg[0], 0x15, "UFFD_EVENT_REMOVE")
        XCTAssertEqual(u64(msg, 8), a)
        XCTAssertEqual(u64(msg, 16), a + page)
        let (r, _) = try XCTUnwrap(done(try w.pollJob(id, waitMilliseconds: 3000)))
        XCTAssertEqual(r.ret, 0, "madvise returns once its event was read")
    }

    func testTheForkEventGivesTheReaderTheChildsUserfaultfd() throws {
        let parent = try LiveWorker.spawn(name: "main", cpu: 0)
        let a = try parent.mmap(length: page, prot: .rw, shared: false, fd: nil, offset: 0, align: 2 << 20).get()
        XCTAssertEqual(try parent.store(a, token: 0x5), .ok(0x5))
        let u = try parent.uffdCreate(features: featureEventFork).get()
        try parent.uffdIoctl(fd: u, MML_UFFD_REGISTER, start: a, length: page, flags: wp).get()
        try parent.uffdIoctl(fd: u, MML_UFFD_WRITEPROTECT, start: a, length: page, flags: UInt64(MML_UFFD_F_WP.rawValue)).get()
        let id = try XCTUnwrap(asleep(try parent.startJob(MML_JOB_FORK)), "fork waits for its FORK event")
        let forkMsg = try parent.uffdRead(fd: u).get()
        XCTAssertEqual(forkMsg[0], 0x13, "UFFD_EVENT_FORK")
        let childUffd = Int32(truncatingIfNeeded: u64(forkMsg, 8))
        let (r, fd) = try XCTUnwrap(done(try parent.pollJob(id, waitMilliseconds: 3000)))
        XCTAssertGreaterThan(r.ret, 0)
        XCTAssertGreaterThanOrEqual(fd, 0, "the child's channel comes with the finished fork")
        let child = parent.adoptChild(pid: Int32(r.ret), socket: fd, name: "child")
        let write = try XCTUnwrap(asleep(try child.startJob(MML_JOB_STORE, [a, 0x6])), "the child keeps uffd-wp")
        let msg = try parent.uffdRead(fd: childUffd).get()
        XCTAssertEqual(msg[0], 0x12)
        XCTAssertEqual(u64(msg, 8), 3, "WP | WRITE")
        try parent.uffdIoctl(fd: childUffd, MML_UFFD_WRITEPROTECT, start: a, length: page).get()
        XCTAssertNotNil(done(try child.pollJob(write, waitMilliseconds: 3000)), "unprotecting from the parent wakes the child")
        XCTAssertEqual(try child.load(a), .ok(0x6))
        XCTAssertEqual(try parent.load(a), .ok(0x5))
        for w in [child, parent] { XCTAssertNil(w.end(), "\(w.name) ends when asked") }
    }

    func testAWorkerWithSleepingThreadsEnds() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: 0)
        let a = try w.mmap(length: 2 * page, prot: .rw, shared: false, fd: nil, offset: 0, align: 2 << 20).get()
        let u = try w.uffdCreate(features: featureEventRemove).get()
        try w.uffdIoctl(fd: u, MML_UFFD_REGISTER, start: a, length: 2 * page, flags: missing).get()
        XCTAssertNotNil(asleep(try w.startJob(MML_JOB_LOAD, [a])))
        XCTAssertNotNil(asleep(try w.startJob(MML_JOB_MADVISE, [a + page, page, 4])))
        XCTAssertNil(w.end(), "the worker exits by itself; its sleeping threads die with it")
        XCTAssertTrue(kill(w.pid, 0) == -1 && errno == ESRCH)
    }

    func testPagemapScanReturnsRegions() throws {
        let w = try LiveWorker.spawn(name: "main", cpu: 0)
        defer { XCTAssertNil(w.end()) }
        let a = try w.mmap(length: 4 * page, prot: .rw, shared: false, fd: nil, offset: 0, align: 2 << 20).get()
        XCTAssertEqual(try w.store(a + page, token: 1), .ok(1))
        let all: UInt64 = (1 << 9) - 1
        let regions = try w.pagemapScan(start: a, end: a + 4 * page, flags: 0, inverted: 0, mask: 0, anyof: 0,
                                        returnMask: all, maxPages: 0).get()
        let present = regions.filter { $0.2 & (1 << 3) != 0 }
        XCTAssertEqual(present.map { [$0.0, $0.1] }, [[a + page, a + 2 * page]], "one present page")
        guard case .failure(let e) = try w.pagemapScan(start: a, end: a + page, flags: 2, inverted: 0, mask: 0, anyof: 0,
                                                       returnMask: all, maxPages: 0) else {
            return XCTFail("CHECK_WPASYNC on a VMA without async uffd-wp fails")
        }
        XCTAssertEqual(e.errno, EPERM)
    }
}
