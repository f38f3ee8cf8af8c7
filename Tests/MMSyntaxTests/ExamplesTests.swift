// SPDX-License-Identifier: Apache-2.0

import Foundation
import XCTest
@testable import MMSyntax

/// Every `.mms` file under the package's `examples/` folder must parse.
final class ExamplesTests: XCTestCase {
    /// `examples/` of the package that holds this test file (symbolic links resolved, so that a
    /// scratch package linking to the test folder finds the real package's examples).
    private var examplesDirectory: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent()  // MMSyntaxTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // the package
            .appendingPathComponent("examples")
    }

    private func exampleFiles() -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: examplesDirectory,
                                                              includingPropertiesForKeys: nil) else { return [] }
        return enumerator.compactMap { $0 as? URL }
            .filter { $0.pathExtension == "mms" }
            .sorted { $0.path < $1.path }
    }

    func testEveryExampleParses() throws {
        for url in exampleFiles() {
            let source = try String(contentsOf: url, encoding: .utf8)
            do {
                _ = try ScenarioParser.parse(source, file: url.path)
            } catch {
                XCTFail("\(error)")
            }
        }
    }
}
