import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read transaction: a consistent snapshot of the environment.
///
/// Only valid inside the `read`/`write` closure that created it; any use after
/// the closure returns throws `LMDBError.closed`. Raw buffers it hands out point
/// into the memory map and are valid until the transaction ends (and, in a
/// write transaction, until the next write to the same database).
public class LMDBTransaction: @unchecked Sendable {
    fileprivate var pointer: OpaquePointer?
    public unowned let environment: LMDBEnvironment

    init(pointer: OpaquePointer, environment: LMDBEnvironment) {
        self.pointer = pointer
        self.environment = environment
    }

    /// The live MDB_txn, or `.closed`.
    @inline(__always)
    func handle() throws(LMDBError) -> OpaquePointer {
        guard let p = pointer else { throw .closed }
        return p
    }

    /// Ends the transaction without committing (idempotent).
    func finish(commit: Bool) {
        if let p = pointer {
            pointer = nil
            mdb_txn_abort(p)
        }
    }

    /// Records an LMDB failure; the write subclass remembers a full map.
    func noteFailure(_ rc: Int32) {}

    @inline(__always)
    func check(_ rc: Int32) throws(LMDBError) {
        if rc != 0 {
            noteFailure(rc)
            throw LMDBError(code: rc)
        }
    }

    // MARK: Reads

    /// Calls `body` with the value stored under `key` (the first one in a dup-sorted
    /// database), or returns nil when the key is absent. The buffer is valid only inside `body`.
    public func withValue<R>(_ db: LMDBDatabase, key: UnsafeRawBufferPointer,
                             _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(try handle(), db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc)
        return try body(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// The value stored under `key`, copied, or nil.
    public func get(_ db: LMDBDatabase, key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { k in try withValue(db, key: k) { Array($0) } }
    }

    /// Whether `key` is present.
    public func contains(_ db: LMDBDatabase, key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { k in try withValue(db, key: k) { _ in true } } ?? false
    }

    /// The number of entries (key/value pairs, counting every duplicate) in `db`.
    public func count(_ db: LMDBDatabase) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(try handle(), db.dbi, &stat))
        return stat.ms_entries
    }

    /// A cursor over `db`, closed when `body` returns.
    public func withCursor<R>(_ db: LMDBDatabase, _ body: (LMDBCursor) throws -> R) throws -> R {
        var c: OpaquePointer?
        try check(mdb_cursor_open(try handle(), db.dbi, &c))
        let cursor = LMDBCursor(pointer: c!, transaction: self)
        defer { cursor.close() }
        return try body(cursor)
    }

    /// Visits entries in key order (then value order for duplicates), starting at the first key
    /// `>= from` (or the first key) and stopping before the first key `>= to` (or at the end).
    /// With `reverse`, visits the same range from the last entry down. `body` returns false to stop.
    public func scan(_ db: LMDBDatabase, from: [UInt8]? = nil, to: [UInt8]? = nil, reverse: Bool = false,
                     _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool) throws {
        try withCursor(db) { cursor in
            if !reverse {
                var entry = try from.map { try cursor.seek(atOrAfter: $0) } ?? cursor.first()
                while let e = entry {
                    if let to, compareBytes(e.key, to) >= 0 { return }
                    guard try body(e.key, e.value) else { return }
                    entry = try cursor.next()
                }
            } else {
                var entry: LMDBCursor.Entry?
                if let to {
                    entry = try cursor.seek(atOrAfter: to) != nil ? cursor.previous() : cursor.last()
                } else {
                    entry = try cursor.last()
                }
                while let e = entry {
                    if let from, compareBytes(e.key, from) < 0 { return }
                    guard try body(e.key, e.value) else { return }
                    entry = try cursor.previous()
                }
            }
        }
    }

    /// Visits the entries whose key starts with `prefix`, in order.
    public func scan(_ db: LMDBDatabase, prefix: [UInt8], reverse: Bool = false,
                     _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool) throws {
        try scan(db, from: prefix, to: prefixUpperBound(prefix), reverse: reverse, body)
    }

    /// The values stored under `key` in a dup-sorted database, in order (copied).
    public func values(_ db: LMDBDatabase, key: [UInt8]) throws -> [[UInt8]] {
        try withCursor(db) { cursor in
            var out: [[UInt8]] = []
            var entry = try cursor.seek(exactly: key)
            while let e = entry {
                out.append(Array(e.value))
                entry = try cursor.nextDuplicate()
            }
            return out
        }
    }
}

/// A write transaction. See `LMDBEnvironment.write` for the commit/abort/retry rules.
public final class LMDBWriteTransaction: LMDBTransaction, @unchecked Sendable {
    /// Set when LMDB reported MDB_MAP_FULL anywhere in this transaction.
    private(set) var sawMapFull = false
    private var commitHooks: [() -> Void] = []

    override func noteFailure(_ rc: Int32) {
        if rc == MDB_MAP_FULL { sawMapFull = true }
    }

    /// Runs `hook` after this transaction commits successfully (not if it aborts).
    public func onCommit(_ hook: @escaping () -> Void) { commitHooks.append(hook) }

    func commit() throws(LMDBError) {
        guard let p = pointer else { throw .closed }
        pointer = nil
        try check(mdb_txn_commit(p))  // LMDB frees the transaction on failure too
        let hooks = commitHooks
        commitHooks = []
        for hook in hooks { hook() }
    }

    /// Options for `put`.
    public struct PutOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Fail with `.keyExists` if the key is present (MDB_NOOVERWRITE).
        public static let noOverwrite = PutOptions(rawValue: UInt32(MDB_NOOVERWRITE))
        /// Dup-sorted: fail with `.keyExists` if this exact key/value pair is present (MDB_NODUPDATA).
        public static let noDuplicateData = PutOptions(rawValue: UInt32(MDB_NODUPDATA))
        /// The key is greater than every key in the database: fast bulk load (MDB_APPEND).
        public static let append = PutOptions(rawValue: UInt32(MDB_APPEND))
        /// Dup-sorted: the value is greater than every value of its key (MDB_APPENDDUP); fails
        /// with `.keyExists` otherwise (the caller then inserts normally).
        public static let appendDuplicate = PutOptions(rawValue: UInt32(MDB_APPENDDUP))
    }

    /// Stores `value` under `key` (replacing a plain value; adding a duplicate in a dup-sorted database).
    public func put(_ db: LMDBDatabase, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                    options: PutOptions = []) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(try handle(), db.dbi, &k, &v, options.rawValue))
    }

    /// Stores `value` under `key`.
    public func put(_ db: LMDBDatabase, key: [UInt8], value: [UInt8], options: PutOptions = []) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try put(db, key: k, value: v, options: options) } }
    }

    /// Stores `value` under `key` unless the key (or, dup-sorted, the pair) exists; returns whether it stored.
    public func insert(_ db: LMDBDatabase, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws -> Bool {
        let options: PutOptions = db.flags.contains(.dupSort) ? .noDuplicateData : .noOverwrite
        do {
            try put(db, key: key, value: value, options: options)
            return true
        } catch LMDBError.keyExists {
            return false
        }
    }

    /// Deletes `key` (with all its values in a dup-sorted database). Returns false if absent.
    @discardableResult
    public func delete(_ db: LMDBDatabase, key: UnsafeRawBufferPointer) throws -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(try handle(), db.dbi, &k, nil)
        if rc == MDB_NOTFOUND { return false }
        try check(rc)
        return true
    }

    /// Deletes `key`. Returns false if absent.
    @discardableResult
    public func delete(_ db: LMDBDatabase, key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { try delete(db, key: $0) }
    }

    /// Deletes one key/value pair of a dup-sorted database. Returns false if absent.
    @discardableResult
    public func delete(_ db: LMDBDatabase, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        let rc = mdb_del(try handle(), db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return false }
        try check(rc)
        return true
    }

    /// Deletes one key/value pair of a dup-sorted database. Returns false if absent.
    @discardableResult
    public func delete(_ db: LMDBDatabase, key: [UInt8], value: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try delete(db, key: k, value: v) } }
    }

    /// Removes every entry of `db` (the database itself stays).
    public func removeAll(_ db: LMDBDatabase) throws {
        try check(mdb_drop(try handle(), db.dbi, 0))
    }
}

/// A cursor over one database inside a transaction. Entries it returns point into the
/// map and are valid until the cursor moves, the data changes, or the transaction ends.
public final class LMDBCursor {
    public struct Entry {
        public let key: UnsafeRawBufferPointer
        public let value: UnsafeRawBufferPointer
    }

    private var pointer: OpaquePointer?
    private let transaction: LMDBTransaction

    init(pointer: OpaquePointer, transaction: LMDBTransaction) {
        self.pointer = pointer
        self.transaction = transaction
    }

    func close() {
        if let p = pointer {
            pointer = nil
            mdb_cursor_close(p)
        }
    }

    private func get(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil,
                     value: UnsafeRawBufferPointer? = nil) throws(LMDBError) -> Entry? {
        guard let p = pointer else { throw .closed }
        _ = try transaction.handle()
        var k = MDB_val(mv_size: key?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: key?.baseAddress))
        var v = MDB_val(mv_size: value?.count ?? 0, mv_data: UnsafeMutableRawPointer(mutating: value?.baseAddress))
        let rc = mdb_cursor_get(p, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try transaction.check(rc)
        return Entry(key: UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                     value: UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    public func first() throws(LMDBError) -> Entry? { try get(MDB_FIRST) }
    public func last() throws(LMDBError) -> Entry? { try get(MDB_LAST) }
    public func next() throws(LMDBError) -> Entry? { try get(MDB_NEXT) }
    public func previous() throws(LMDBError) -> Entry? { try get(MDB_PREV) }
    /// The entry at the cursor.
    public func current() throws(LMDBError) -> Entry? { try get(MDB_GET_CURRENT) }
    /// Dup-sorted: the next value of the same key, or nil.
    public func nextDuplicate() throws(LMDBError) -> Entry? { try get(MDB_NEXT_DUP) }
    /// Dup-sorted: the first entry of the next key, or nil.
    public func nextKey() throws(LMDBError) -> Entry? { try get(MDB_NEXT_NODUP) }

    /// Positions at the first key `>= key`.
    public func seek(atOrAfter key: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        try get(MDB_SET_RANGE, key: key)
    }

    public func seek(atOrAfter key: [UInt8]) throws(LMDBError) -> Entry? {
        try key.withUnsafeBytes { k in Result { () throws(LMDBError) in try seek(atOrAfter: k) } }.get()
    }

    /// Positions at exactly `key` (its first value), or returns nil.
    public func seek(exactly key: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        try get(MDB_SET_KEY, key: key)
    }

    public func seek(exactly key: [UInt8]) throws(LMDBError) -> Entry? {
        try key.withUnsafeBytes { k in Result { () throws(LMDBError) in try seek(exactly: k) } }.get()
    }

    /// Dup-sorted: positions at the first value `>= value` of exactly `key`.
    public func seek(key: UnsafeRawBufferPointer, valueAtOrAfter value: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        try get(MDB_GET_BOTH_RANGE, key: key, value: value)
    }

    /// Dup-sorted: how many values the current key has.
    public func duplicateCount() throws(LMDBError) -> Int {
        guard let p = pointer else { throw .closed }
        var n: Int = 0
        try transaction.check(mdb_cursor_count(p, &n))
        return n
    }

    /// Deletes the entry at the cursor (write transactions only).
    public func deleteCurrent() throws(LMDBError) {
        guard let p = pointer else { throw .closed }
        try transaction.check(mdb_cursor_del(p, 0))
    }
}

/// LMDB's default key order: bytewise (memcmp), a shorter key before its extensions.
public func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0 {
        let c = memcmp(a.baseAddress!, b.baseAddress!, n)
        if c != 0 { return Int(c) }
    }
    return a.count - b.count
}

public func compareBytes(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int {
    b.withUnsafeBytes { compareBytes(a, $0) }
}

/// The smallest key greater than every key starting with `prefix`, or nil if there is none
/// (the prefix is empty or all 0xff).
public func prefixUpperBound(_ prefix: [UInt8]) -> [UInt8]? {
    var bound = prefix
    while let last = bound.last {
        if last < 0xff {
            bound[bound.count - 1] = last + 1
            return bound
        }
        bound.removeLast()
    }
    return nil
}
