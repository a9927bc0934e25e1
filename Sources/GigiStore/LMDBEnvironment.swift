import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Flags of a named database (fixed when it is created).
public struct LMDBDatabaseFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Several sorted values per key (MDB_DUPSORT). Values are then limited to 511 bytes.
    public static let dupSort = LMDBDatabaseFlags(rawValue: UInt32(MDB_DUPSORT))
    /// With `dupSort`: all values of a key have the same size (MDB_DUPFIXED).
    public static let dupFixed = LMDBDatabaseFlags(rawValue: UInt32(MDB_DUPFIXED))
    /// Keys are compared as reversed byte strings (MDB_REVERSEKEY).
    public static let reverseKey = LMDBDatabaseFlags(rawValue: UInt32(MDB_REVERSEKEY))
}

/// A named database inside an environment. Cheap to copy; valid as long as its environment.
public struct LMDBDatabase: Sendable, Hashable {
    public let name: String
    public let flags: LMDBDatabaseFlags
    let dbi: MDB_dbi
}

/// An LMDB environment: one memory-mapped file holding several named databases.
///
/// Threads and tasks: read transactions may run on any thread at the same time
/// (the environment is opened with MDB_NOTLS, so a read transaction is not tied to
/// a thread). Write transactions are serialised — by an in-process lock and by
/// LMDB's own lock across processes — so a `write` call may block while another
/// writer, possibly in another process (CLI and daemon), finishes. Keep write
/// closures short and never `await` inside them (the closures are synchronous, so
/// the compiler enforces this).
///
/// Map size: the map starts at `Configuration.mapSize` and doubles (up to
/// `maxMapSize`) whenever LMDB reports MDB_MAP_FULL; the failed transaction is
/// aborted and the write closure runs again from the start in a new transaction,
/// so **write closures must not have side effects outside the transaction**.
/// When another process has grown the map, this process adopts the new size.
public final class LMDBEnvironment: @unchecked Sendable {
    /// How much durability commits buy.
    public enum Durability: Sendable {
        /// fsync at every commit (the default): a committed transaction survives power loss.
        case full
        /// Skip the metadata fsync (MDB_NOMETASYNC): a crash of the OS may lose the last
        /// commit but never corrupts the database; process crashes lose nothing.
        case noMetaSync
        /// No fsync at all (MDB_NOSYNC): only for tests and benchmarks; process crashes lose nothing,
        /// an OS crash may lose recent commits.
        case none
    }

    public struct Configuration: Sendable {
        /// Initial map size in bytes (rounded by LMDB to the page size).
        public var mapSize: Int = 64 << 20
        /// The map never grows beyond this; at the limit writes fail with `LMDBError.mapFull`.
        public var maxMapSize: Int = 1 << 40
        /// Most named databases.
        public var maxDatabases: UInt32 = 32
        /// Most concurrent read transactions across all processes.
        public var maxReaders: UInt32 = 126
        public var durability: Durability = .full
        /// Permissions of the data and lock files.
        public var fileMode: mode_t = 0o600

        public init() {}
    }

    let env: OpaquePointer
    public let path: String
    public let configuration: Configuration
    private let writeLock = PThreadMutex()
    private let resizeLock = PThreadRWLock()
    private let databaseLock = PThreadMutex()
    private var databases: [String: LMDBDatabase] = [:]
    private var isClosed = false

    /// Opens (creating if needed) the environment in directory `path` (created if missing).
    /// Reader slots left by processes that died are released.
    public init(path: String, configuration: Configuration = Configuration()) throws(LMDBError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw .system(errno: errno, message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var envPointer: OpaquePointer?
        try LMDBError.check(mdb_env_create(&envPointer))
        guard let env = envPointer else { throw .unknown(code: -1) }
        do {
            try LMDBError.check(mdb_env_set_maxdbs(env, configuration.maxDatabases))
            try LMDBError.check(mdb_env_set_maxreaders(env, configuration.maxReaders))
            try LMDBError.check(mdb_env_set_mapsize(env, configuration.mapSize))
            var flags = UInt32(MDB_NOTLS)
            switch configuration.durability {
            case .full: break
            case .noMetaSync: flags |= UInt32(MDB_NOMETASYNC)
            case .none: flags |= UInt32(MDB_NOSYNC)
            }
            try LMDBError.check(mdb_env_open(env, path, flags, configuration.fileMode))
            var dead: Int32 = 0
            try LMDBError.check(mdb_reader_check(env, &dead))
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.env = env
        self.path = path
        self.configuration = configuration
    }

    deinit { close() }

    /// Closes the environment. Further use throws `LMDBError.closed`. Called by `deinit`.
    /// Must not be called while transactions of this environment are running.
    public func close() {
        resizeLock.lockExclusive()
        defer { resizeLock.unlock() }
        if !isClosed {
            isClosed = true
            mdb_env_close(env)
        }
    }

    /// The current map size in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Bytes used by the data file on disk (the last used page times the page size).
    public var usedBytes: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }

    /// Flushes buffers to disk (useful with `.noMetaSync` / `.none` durability).
    public func sync() throws(LMDBError) {
        try LMDBError.check(mdb_env_sync(env, 1))
    }

    // MARK: Databases

    /// Opens (and, when `create`, creates) the named database. Handles are cached: opening
    /// the same name again returns the same database. Flags must match the creation flags.
    public func database(_ name: String, flags: LMDBDatabaseFlags = [], create: Bool = true) throws -> LMDBDatabase {
        if let db = databaseLock.withLock({ databases[name] }) {
            guard db.flags == flags else { throw LMDBError.incompatible }
            return db
        }
        return try write { txn in try database(name, flags: flags, create: create, in: txn) }
    }

    /// Opens (and, when `create`, creates) the named database inside a write transaction, so
    /// that several databases open in one commit. The handle is usable once `txn` commits.
    public func database(_ name: String, flags: LMDBDatabaseFlags = [], create: Bool = true,
                         in txn: LMDBWriteTransaction) throws -> LMDBDatabase {
        // Under the writer lock no other thread can be opening databases.
        if let db = databaseLock.withLock({ databases[name] }) {
            guard db.flags == flags else { throw LMDBError.incompatible }
            return db
        }
        var dbi: MDB_dbi = 0
        try txn.check(mdb_dbi_open(try txn.handle(), name, flags.rawValue | (create ? UInt32(MDB_CREATE) : 0), &dbi))
        var actual: UInt32 = 0
        try txn.check(mdb_dbi_flags(try txn.handle(), dbi, &actual))
        let known = LMDBDatabaseFlags.dupSort.rawValue | LMDBDatabaseFlags.dupFixed.rawValue
            | LMDBDatabaseFlags.reverseKey.rawValue
        guard actual & known == flags.rawValue else { throw LMDBError.incompatible }
        let db = LMDBDatabase(name: name, flags: flags, dbi: dbi)
        txn.onCommit { self.databaseLock.withLock { self.databases[name] = db } }
        return db
    }

    /// Deletes the named database `db` with all its entries inside `txn` (MDB_drop). Its handle
    /// must not be used again once `txn` commits; the name can then be created afresh.
    public func dropDatabase(_ db: LMDBDatabase, in txn: LMDBWriteTransaction) throws {
        try txn.check(mdb_drop(try txn.handle(), db.dbi, 1))
        txn.onCommit { self.databaseLock.withLock { _ = self.databases.removeValue(forKey: db.name) } }
    }

    // MARK: Transactions

    /// Runs `body` in a read-only transaction (a consistent snapshot) and ends it.
    /// May be called from any thread, concurrently with other reads and with a writer.
    /// Values handed out as raw buffers are valid only inside `body`.
    public func read<R>(_ body: (LMDBTransaction) throws -> R) throws -> R {
        while true {
            resizeLock.lockShared()
            if isClosed {
                resizeLock.unlock()
                throw LMDBError.closed
            }
            var txnPointer: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txnPointer)
            if rc == MDB_MAP_RESIZED {
                resizeLock.unlock()
                try adoptMapSizeFromOtherProcess()
                continue
            }
            guard rc == 0, let pointer = txnPointer else {
                resizeLock.unlock()
                throw LMDBError(code: rc)
            }
            let txn = LMDBTransaction(pointer: pointer, environment: self)
            defer {
                txn.finish(commit: false)
                resizeLock.unlock()
            }
            return try body(txn)
        }
    }

    /// Runs `body` in a write transaction and commits it if `body` returns, aborts it if
    /// `body` throws (the error is rethrown). Only one write transaction runs at a time,
    /// across threads and processes.
    ///
    /// If the map fills up, the transaction is aborted, the map grows and `body` runs again
    /// in a fresh transaction: `body` must be repeatable and must not touch anything outside
    /// the transaction. Do not call `read` or `write` on the same environment from inside `body`.
    public func write<R>(_ body: (LMDBWriteTransaction) throws -> R) throws -> R {
        writeLock.lock()
        defer { writeLock.unlock() }
        while true {
            resizeLock.lockShared()
            if isClosed {
                resizeLock.unlock()
                throw LMDBError.closed
            }
            var txnPointer: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, 0, &txnPointer)
            if rc == MDB_MAP_RESIZED {
                resizeLock.unlock()
                try adoptMapSizeFromOtherProcess()
                continue
            }
            guard rc == 0, let pointer = txnPointer else {
                resizeLock.unlock()
                throw LMDBError(code: rc)
            }
            let txn = LMDBWriteTransaction(pointer: pointer, environment: self)
            let outcome: Result<R, any Error>
            do {
                let result = try body(txn)
                try txn.commit()
                outcome = .success(result)
            } catch {
                txn.finish(commit: false)
                outcome = .failure(error)
            }
            resizeLock.unlock()
            switch outcome {
            case .success(let result):
                return result
            case .failure(let error):
                // A full map shows up as .mapFull from put/commit, or as .badTransaction when the
                // closure swallowed the .mapFull; either way grow and run the closure again.
                if txn.sawMapFull || (error as? LMDBError) == .mapFull {
                    try growMap()
                    continue
                }
                throw error
            }
        }
    }

    /// Doubles the map (up to `maxMapSize`). Waits until no transaction of this process runs.
    private func growMap() throws(LMDBError) {
        resizeLock.lockExclusive()
        defer { resizeLock.unlock() }
        let current = mapSize
        guard current < configuration.maxMapSize else { throw .mapFull }
        let grown = min(max(current * 2, current + (1 << 20)), configuration.maxMapSize)
        try LMDBError.check(mdb_env_set_mapsize(env, grown))
    }

    /// Adopts a map size another process set (after MDB_MAP_RESIZED).
    private func adoptMapSizeFromOtherProcess() throws(LMDBError) {
        resizeLock.lockExclusive()
        defer { resizeLock.unlock() }
        try LMDBError.check(mdb_env_set_mapsize(env, 0))
    }
}
