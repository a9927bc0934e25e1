/// A named database with typed keys and values (one value per key).
///
/// Tables are plain values that name a database; all access goes through a
/// transaction, so several tables can change atomically in one `write`.
public struct StoreTable<Key: StoreKey, Value: StoreValue>: Sendable {
    public let database: LMDBDatabase

    /// Opens (creating if needed) the table `name` in `environment`.
    public init(_ name: String, in environment: LMDBEnvironment) throws {
        database = try environment.database(name)
    }

    /// A table over an already opened database (see `LMDBEnvironment.database(_:flags:create:in:)`).
    public init(database: LMDBDatabase) {
        self.database = database
    }

    public func get(_ key: Key, in txn: LMDBTransaction) throws -> Value? {
        try key.withKeyBytes { k in try txn.withValue(database, key: k) { try Value.storeDecoded($0) } }
    }

    public func contains(_ key: Key, in txn: LMDBTransaction) throws -> Bool {
        try key.withKeyBytes { k in try txn.withValue(database, key: k) { _ in true } } ?? false
    }

    /// Stores `value` under `key`, replacing any previous value.
    public func put(_ value: Value, for key: Key, in txn: LMDBWriteTransaction) throws {
        let bytes = try value.storeEncoded()
        try key.withKeyBytes { k in try bytes.withUnsafeBytes { try txn.put(database, key: k, value: $0) } }
    }

    /// Stores `value` only if `key` is absent; returns whether it was stored.
    public func insert(_ value: Value, for key: Key, in txn: LMDBWriteTransaction) throws -> Bool {
        let bytes = try value.storeEncoded()
        return try key.withKeyBytes { k in try bytes.withUnsafeBytes { try txn.insert(database, key: k, value: $0) } }
    }

    /// Reads, changes and writes back the value under `key` (nil = absent; setting nil deletes).
    public func update(_ key: Key, in txn: LMDBWriteTransaction, _ change: (inout Value?) throws -> Void) throws {
        var value = try get(key, in: txn)
        try change(&value)
        if let value { try put(value, for: key, in: txn) } else { try delete(key, in: txn) }
    }

    /// Deletes `key`; returns whether it existed.
    @discardableResult
    public func delete(_ key: Key, in txn: LMDBWriteTransaction) throws -> Bool {
        try key.withKeyBytes { try txn.delete(database, key: $0) }
    }

    /// Number of entries.
    public func count(in txn: LMDBTransaction) throws -> Int { try txn.count(database) }

    /// Visits entries with `from <= key < to` in key order (or reverse); `body` returns false to stop.
    public func forEach(in txn: LMDBTransaction, from: Key? = nil, to: Key? = nil, reverse: Bool = false,
                        _ body: (Key, Value) throws -> Bool) throws {
        let lower = from.map { $0.withKeyBytes { Array($0) } }
        let upper = to.map { $0.withKeyBytes { Array($0) } }
        try txn.scan(database, from: lower, to: upper, reverse: reverse) { k, v in
            try body(try Key(keyBytes: k), try Value.storeDecoded(v))
        }
    }

    /// Visits entries whose key bytes start with `prefix`, in order.
    public func forEach(in txn: LMDBTransaction, prefix: [UInt8], reverse: Bool = false,
                        _ body: (Key, Value) throws -> Bool) throws {
        try txn.scan(database, prefix: prefix, reverse: reverse) { k, v in
            try body(try Key(keyBytes: k), try Value.storeDecoded(v))
        }
    }

    /// Entries with `from <= key < to`, in order (or reverse), at most `limit`.
    public func entries(in txn: LMDBTransaction, from: Key? = nil, to: Key? = nil, reverse: Bool = false,
                        limit: Int = .max) throws -> [(key: Key, value: Value)] {
        var out: [(key: Key, value: Value)] = []
        guard limit > 0 else { return out }
        try forEach(in: txn, from: from, to: to, reverse: reverse) { k, v in
            out.append((k, v))
            return out.count < limit
        }
        return out
    }

    /// The entry with the greatest key, if any (e.g. to allocate the next numeric id).
    public func last(in txn: LMDBTransaction) throws -> (key: Key, value: Value)? {
        try entries(in: txn, reverse: true, limit: 1).first
    }

    /// Deletes every entry.
    public func removeAll(in txn: LMDBWriteTransaction) throws { try txn.removeAll(database) }
}

/// A dup-sorted named database: each key holds a sorted set of distinct values
/// (values are ordered by their bytes and limited to 511 bytes each).
public struct StoreMultiTable<Key: StoreKey, Value: StoreValue>: Sendable {
    public let database: LMDBDatabase

    public init(_ name: String, in environment: LMDBEnvironment) throws {
        database = try environment.database(name, flags: .dupSort)
    }

    /// A table over an already opened dup-sorted database.
    public init(database: LMDBDatabase) {
        precondition(database.flags.contains(.dupSort), "StoreMultiTable needs a dupSort database")
        self.database = database
    }

    /// Adds `value` to `key`'s set; returns false if it was already there.
    @discardableResult
    public func add(_ value: Value, for key: Key, in txn: LMDBWriteTransaction) throws -> Bool {
        let bytes = try value.storeEncoded()
        return try key.withKeyBytes { k in try bytes.withUnsafeBytes { try txn.insert(database, key: k, value: $0) } }
    }

    /// All values of `key`, in byte order.
    public func values(for key: Key, in txn: LMDBTransaction) throws -> [Value] {
        try key.withKeyBytes { k in
            try txn.withCursor(database) { cursor in
                var out: [Value] = []
                var entry = try cursor.seek(exactly: k)
                while let e = entry {
                    out.append(try Value.storeDecoded(e.value))
                    entry = try cursor.nextDuplicate()
                }
                return out
            }
        }
    }

    /// The first value of `key` (in byte order), if any — a fast lookup for "any location will do".
    public func first(for key: Key, in txn: LMDBTransaction) throws -> Value? {
        try key.withKeyBytes { k in try txn.withValue(database, key: k) { try Value.storeDecoded($0) } }
    }

    public func contains(_ key: Key, in txn: LMDBTransaction) throws -> Bool {
        try key.withKeyBytes { k in try txn.withValue(database, key: k) { _ in true } } ?? false
    }

    /// How many values `key` has.
    public func count(for key: Key, in txn: LMDBTransaction) throws -> Int {
        try key.withKeyBytes { k in
            try txn.withCursor(database) { cursor in try cursor.seek(exactly: k) == nil ? 0 : try cursor.duplicateCount() }
        }
    }

    /// Removes one value of `key`; returns whether it was there.
    @discardableResult
    public func remove(_ value: Value, for key: Key, in txn: LMDBWriteTransaction) throws -> Bool {
        let bytes = try value.storeEncoded()
        return try key.withKeyBytes { k in try bytes.withUnsafeBytes { try txn.delete(database, key: k, value: $0) } }
    }

    /// Removes `key` with all its values; returns whether it existed.
    @discardableResult
    public func removeAll(for key: Key, in txn: LMDBWriteTransaction) throws -> Bool {
        try key.withKeyBytes { try txn.delete(database, key: $0) }
    }

    /// Total number of key/value pairs.
    public func count(in txn: LMDBTransaction) throws -> Int { try txn.count(database) }

    /// Visits every (key, value) pair with `from <= key < to`, in order; `body` returns false to stop.
    public func forEach(in txn: LMDBTransaction, from: Key? = nil, to: Key? = nil, reverse: Bool = false,
                        _ body: (Key, Value) throws -> Bool) throws {
        let lower = from.map { $0.withKeyBytes { Array($0) } }
        let upper = to.map { $0.withKeyBytes { Array($0) } }
        try txn.scan(database, from: lower, to: upper, reverse: reverse) { k, v in
            try body(try Key(keyBytes: k), try Value.storeDecoded(v))
        }
    }
}
