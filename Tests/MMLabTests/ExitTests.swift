// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// A process that exited makes no more calls: the model answers ESRCH and its state stays
/// consistent (a fuzz finding: statements after `exit` used to run in the torn-down mm).
final class ExitTests: XCTestCase {
    func testCallsOfAnExitedProcessAreESRCHAndChangeNothing() {
        var t = TestKernel()
        let a = t.anon(4)
        t.write(a, 0x1)
        let child = t.k.fork(t.mm, childName: "c")
        t.k.exitMM(child)
        XCTAssertEqual(t.k.perform(.mmap(child, length: 4096, prot: .rw, shared: false, object: nil, offset: 0, align: pmdSize)),
                       .errno(.ESRCH))
        XCTAssertEqual(t.k.access(child, a, store: 0x2), .modelError("an access finished with errno(ESRCH)"))
        XCTAssertEqual(t.k.perform(.access(child, address: a, store: 0x2)), .errno(.ESRCH))
        XCTAssertEqual(t.k.perform(.madvise(child, address: a, length: 4096, advice: .dontneed)), .errno(.ESRCH))
        XCTAssertEqual(t.k.perform(.fork(child, childName: "g")), .errno(.ESRCH))
        XCTAssertEqual(t.k.perform(.exit(child)), .errno(.ESRCH))
        XCTAssertEqual(t.k.frames.allocatedCount, 1, "the parent's page only")
        XCTAssertEqual(t.read(a), .ok(0x1))
        t.assertConsistent()
        t.tearDownAndAssertNoLeaks()
    }
}
