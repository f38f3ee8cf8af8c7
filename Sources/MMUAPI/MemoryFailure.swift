// SPDX-License-Identifier: Apache-2.0
//
// What madvise(MADV_HWPOISON) returns and raises (mm/madvise.c madvise_inject_error()).

/// What madvise(MADV_HWPOISON) did (the `poison` statement).
public struct HWPoisonResult: Hashable, Sendable {
    /// madvise()'s error (nil: it returned 0).
    public var error: Errno?
    /// The SIGBUS queued for the calling task, delivered when the call returns (it takes precedence
    /// over the return value for whoever observes the call).
    public var signal: SignalInfo?
    /// The address madvise_inject_error() was at when that signal was queued.
    public var signalAt: UInt64
    /// Set when memory_failure() reached memory the model does not handle (RAM pages).
    public var notModelled: String?

    public init(error: Errno? = nil, signal: SignalInfo? = nil, signalAt: UInt64 = 0, notModelled: String? = nil) {
        self.error = error
        self.signal = signal
        self.signalAt = signalAt
        self.notModelled = notModelled
    }
}
