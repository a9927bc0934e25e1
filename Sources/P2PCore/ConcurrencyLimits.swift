// Counting concurrent work a remote peer can start (inbound streams of one
// protocol, requests being served) against a per-peer and a total limit.

/// Concurrent items per key and in total, each against a limit. A value type:
/// the owner (typically an actor) keeps it and calls `release` for every
/// successful `acquire`.
public struct ConcurrencyLimits<Key: Hashable & Sendable>: Sendable {
    public let perKey: Int
    public let total: Int
    /// Items held now, per key (keys with none are absent).
    public private(set) var active: [Key: Int] = [:]
    /// Items held now, all keys together.
    public private(set) var count = 0

    public init(perKey: Int, total: Int = .max) {
        precondition(perKey > 0 && total > 0, "limits must be positive")
        self.perKey = perKey
        self.total = total
    }

    /// Takes a slot for `key`; false (nothing taken) when `key` or everyone is at the limit.
    public mutating func acquire(_ key: Key) -> Bool {
        let held = active[key, default: 0]
        guard held < perKey, count < total else { return false }
        active[key] = held + 1
        count += 1
        return true
    }

    /// Gives back a slot taken by `acquire(key)`.
    public mutating func release(_ key: Key) {
        guard let held = active[key] else { return }
        active[key] = held > 1 ? held - 1 : nil
        count -= 1
    }
}
