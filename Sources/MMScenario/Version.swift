// SPDX-License-Identifier: Apache-2.0
//
// What `mmlab --version` prints: mmlab's version, the kernel it models, and the git commit
// of the checkout it was built from (the command line passes that in: only its build knows it).

/// mmlab's version and the kernel it models.
public enum MMLabVersion {
    /// mmlab's own version (semantic versioning; 0.x while the language may still change).
    public static let version = "0.1.0"
    /// The kernel whose memory management the model mirrors.
    public static let modelledKernel = "Linux 6.18"
    /// The version of the .mms language (docs/language.md).
    public static let language = "0"

    /// The text of `mmlab --version`: one `key: value` line each, the commit line only when
    /// mmlab was built from a git checkout (`-modified` when its tracked files had changes).
    public static func text(commit: String?) -> String {
        var lines = ["mmlab \(version)", "models: \(modelledKernel) memory management", "language: .mms version \(language)"]
        lines.append("commit: " + (commit ?? "unknown (not built from a git checkout)"))
        return lines.joined(separator: "\n")
    }
}
