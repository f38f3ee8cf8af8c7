// SPDX-License-Identifier: Apache-2.0
import XCTest
@testable import MMLab

/// A kernel with internal checks on and one process, plus helpers that fail the test on errors.
struct TestKernel {
    var k: Kernel
    let mm: MMID

    init(design: Design = Design(), config: KernelConfig = KernelConfig(), swapMiB: UInt64 = 0) {
        k = Kernel(design: design, config: config)
        k.internalChecks = true
        mm = k.createProcess(name: "main")
        if swapMiB > 0 { XCTAssertNil(k.swapon(bytes: swapMiB << 20)) }
    }

    mutating func anon(_ pages: Int, prot: Prot = .rw) -> UInt64 {
        try! k.mmap(mm, length: UInt64(pages) << 12, prot: prot, shared: false, target: .anon).get()
    }

    mutating func memfd(_ pages: Int) -> InodeID {
        try! k.memfdCreate(name: "f", bytes: UInt64(pages) << 12).get()
    }

    mutating func map(_ ino: InodeID, pages: Int, shared: Bool = true, prot: Prot = .rw, align: UInt64 = pmdSize,
                      in mm: MMID? = nil) -> UInt64 {
        try! k.mmap(mm ?? self.mm, length: UInt64(pages) << 12, prot: prot, shared: shared, target: .file(ino),
                    align: align).get()
    }

    @discardableResult
    mutating func write(_ a: UInt64, page: Int = 0, _ token: UInt64, in mm: MMID? = nil,
                        file: StaticString = #filePath, line: UInt = #line) -> AccessResult {
        let r = k.access(mm ?? self.mm, a + UInt64(page) << 12, store: token)
        XCTAssertEqual(r, .ok(token), file: file, line: line)
        return r
    }

    mutating func read(_ a: UInt64, page: Int = 0, in mm: MMID? = nil) -> AccessResult {
        k.access(mm ?? self.mm, a + UInt64(page) << 12, store: nil)
    }

    func pagemap(_ a: UInt64, page: Int = 0, in mm: MMID? = nil) -> UInt64 {
        k.pagemapRead(mm ?? self.mm, a + UInt64(page) << 12)
    }

    func flags(_ a: UInt64, page: Int = 0, in mm: MMID? = nil) -> UInt64 {
        pagemap(a, page: page, in: mm) & ~PM.pframeMask
    }

    func pfn(_ a: UInt64, page: Int = 0, in mm: MMID? = nil) -> UInt64 {
        pagemap(a, page: page, in: mm) & PM.pframeMask
    }

    func assertConsistent(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(k.invariantViolations, [], file: file, line: line)
        XCTAssertEqual(k.verifyInvariants(), [], file: file, line: line)
    }

    /// Exits every process, closes every file, and asserts nothing leaked.
    mutating func tearDownAndAssertNoLeaks(file: StaticString = #filePath, line: UInt = #line) {
        for m in k.mms.indices where k.mms[m].alive { k.exitMM(MMID(m)) }
        for i in k.inodes.indices { k.closeFile(InodeID(i)) }
        XCTAssertEqual(k.invariantViolations, [], file: file, line: line)
        XCTAssertEqual(k.leakReport(), [], file: file, line: line)
    }
}

let presentExcl = PM.present | PM.mmapExclusive
let presentFileExcl = PM.present | PM.file | PM.mmapExclusive
