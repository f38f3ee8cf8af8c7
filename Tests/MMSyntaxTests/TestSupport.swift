// SPDX-License-Identifier: Apache-2.0

import XCTest
@testable import MMSyntax

/// The file name every test scenario is parsed under.
let testFile = "t.mms"

/// A source location in `t.mms`.
func at(_ line: Int, _ column: Int) -> SourceLocation {
    SourceLocation(file: testFile, line: line, column: column)
}

/// A page reference written at `line:column` of `t.mms`.
func ref(_ name: String, _ first: Int? = nil, _ last: Int? = nil, line: Int = 1, column: Int) -> PageRef {
    PageRef(name: name, first: first, last: last ?? first, location: at(line, column))
}

/// Parses `source` as `t.mms`, failing the test on a diagnostic.
func parse(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> Scenario? {
    do {
        return try ScenarioParser.parse(source, file: testFile)
    } catch {
        XCTFail("unexpected diagnostic: \(error)", file: file, line: line)
        return nil
    }
}

/// Parses a one-statement scenario and returns its statement.
func statement(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> Statement? {
    guard let scenario = parse(source, file: file, line: line) else { return nil }
    guard scenario.statements.count == 1, let first = scenario.statements.first else {
        XCTFail("expected one statement, got \(scenario.statements.count)", file: file, line: line)
        return nil
    }
    return first
}

/// Asserts that the one statement of `source` has kind `expected`.
func assertKind(_ source: String, _ expected: StatementKind, file: StaticString = #filePath, line: UInt = #line) {
    guard let s = statement(source, file: file, line: line) else { return }
    XCTAssertEqual(s.kind, expected, file: file, line: line)
}

/// Asserts that parsing `source` fails with exactly the diagnostic `expected` (its description).
func assertError(_ source: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
    do {
        let scenario = try ScenarioParser.parse(source, file: testFile)
        XCTFail("expected the error \(expected), parsed \(scenario.statements.count) statements",
                file: file, line: line)
    } catch {
        XCTAssertEqual(error.description, expected, file: file, line: line)
    }
}
