// SPDX-License-Identifier: Apache-2.0
//
// Reading the scenario file a subcommand names (the model's targets never touch files).

import Foundation
import MMScenario

/// A scenario file that cannot be read: the message for people, exit status 2.
public struct UnreadableScenario: Error, Sendable {
    public var message: String
    public var outcome: CommandOutcome { .usageError(message) }
}

public enum ScenarioFile {
    /// The file's text, or why it cannot be read.
    public static func read(_ path: String) throws(UnreadableScenario) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw UnreadableScenario(message: "\(path): error: cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw UnreadableScenario(message: "\(path): error: expected UTF-8 text, found bytes that are not")
        }
        return text
    }
}
