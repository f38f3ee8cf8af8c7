// SPDX-License-Identifier: Apache-2.0
//
// Flag sets whose bits the scenario language names (`features=event_fork,sigbus`).

/// An OptionSet with one language word per flag.
public protocol NamedOptionSet: OptionSet where Element == Self {
    /// Each flag's word, in the kernel's bit order.
    static var names: [(String, Self)] { get }
}

extension NamedOptionSet {
    /// The flags named in `list`; nil when a name is unknown.
    public init?(names list: [String]) {
        self.init()
        for n in list {
            guard let f = Self.names.first(where: { $0.0 == n })?.1 else { return nil }
            insert(f)
        }
    }

    /// The words of the flags that are set, in bit order.
    public var names: [String] { Self.names.filter { contains($0.1) }.map(\.0) }
}
