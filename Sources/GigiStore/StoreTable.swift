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
        try key.withKeyBytes { k in try value.withStoreBytes { try txn.put(database, key: k, value: $0) } }
    }

    /// Stores `value` only if `key` is absent; returns whether it was stored.
    public func insert(_ value: Value, for key: Key, in txn: LMDBWriteTransaction) throws -> Bool {
        try key.withKeyBytes { k in try value.withStoreBytes { try txn.insert(database, key: k, value: $0) } }
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
        try key.withKeyBytes { k in try value.withStoreBytes { try txn.insert(database, key: k, value: $0) } }
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
        try key.withKeyBytes { k in try value.withStoreBytes { try txn.delete(database, key: k, value: $0) } }
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

// MARK: - Batch lookups

/// Looks up every key of `keys` in `database` with one cursor, visiting them in key order (a
/// sorted copy; no copy when `keys` already is sorted). LMDB skips the descent from the root when
/// the next key lies on the cursor's current leaf page, and neighbouring keys share branch pages
/// in the cache, so a large batch costs much less per key than separate lookups. Calls
/// `body(i, value)` for each index `i` of `keys` — in key order, not index order — with the bytes
/// of its (first) value, or nil when the key is absent. The bytes are valid only inside `body`.
func lookUpInKeyOrder<Key: StoreOrderedKey>(_ keys: [Key], in database: LMDBDatabase, txn: LMDBTransaction,
                                            _ body: (_ index: Int, _ value: UnsafeRawBufferPointer?) throws -> Void) throws {
    guard !keys.isEmpty else { return }
    try txn.withCursor(database) { cursor in
        var sorted = true
        for i in 1..<keys.count where keys[i] < keys[i - 1] {
            sorted = false
            break
        }
        if sorted {
            for i in keys.indices {
                try keys[i].withKeyBytes { k in try body(i, try cursor.seek(exactly: k)?.value) }
            }
            return
        }
        var order = keys.enumerated().map { (prefix: $0.element.orderPrefix, index: $0.offset) }
        order.sort { $0.prefix != $1.prefix ? $0.prefix < $1.prefix : keys[$0.index] < keys[$1.index] }
        for entry in order {
            try keys[entry.index].withKeyBytes { k in try body(entry.index, try cursor.seek(exactly: k)?.value) }
        }
    }
}

/// `lookUpInKeyOrder`, decoding each value found; the result is in the order of `keys`.
func decodedInKeyOrder<Key: StoreOrderedKey, Value: StoreValue>(_ keys: [Key], in database: LMDBDatabase,
                                                                 txn: LMDBTransaction) throws -> [Value?] {
    var out = [Value?](repeating: nil, count: keys.count)
    try lookUpInKeyOrder(keys, in: database, txn: txn) { i, v in
        if let v { out[i] = try Value.storeDecoded(v) }
    }
    return out
}

extension StoreTable where Key: StoreOrderedKey {
    /// The value of each of `keys` (nil where absent), in the order of `keys`; one cursor pass
    /// in key order (see `lookUpInKeyOrder`). For large batches, much faster than `get` per key.
    public func get(_ keys: [Key], in txn: LMDBTransaction) throws -> [Value?] {
        try decodedInKeyOrder(keys, in: database, txn: txn)
    }
}

extension StoreMultiTable where Key: StoreOrderedKey {
    /// The first value (in byte order) of each of `keys`, nil where absent, in the order of
    /// `keys`; one cursor pass in key order. For large batches, much faster than `first(for:)` per key.
    public func firstValues(for keys: [Key], in txn: LMDBTransaction) throws -> [Value?] {
        try decodedInKeyOrder(keys, in: database, txn: txn)
    }

    /// Whether each of `keys` is present, in the order of `keys`; one cursor pass in key order.
    public func contains(_ keys: [Key], in txn: LMDBTransaction) throws -> [Bool] {
        var out = [Bool](repeating: false, count: keys.count)
        try lookUpInKeyOrder(keys, in: database, txn: txn) { i, v in out[i] = v != nil }
        return out
    }
}

extension StoreMultiTable {
    /// Adds `value` to `key`'s set like `add`, cheaply when `value` sorts after every value the key
    /// has (MDB_APPENDDUP: the key's values are not searched and their pages fill completely);
    /// out of order it falls back to a normal insert.
    /// Returns false if the pair was already there.
    @discardableResult
    public func append(_ value: Value, for key: Key, in txn: LMDBWriteTransaction) throws -> Bool {
        try key.withKeyBytes { k in
            try value.withStoreBytes { v in
                do {
                    try txn.put(database, key: k, value: v, options: .appendDuplicate)
                    return true
                } catch LMDBError.keyExists {
                    // Not after the last value (or already present): a normal insert tells which.
                    return try txn.insert(database, key: k, value: v)
                }
            }
        }
    }
}
