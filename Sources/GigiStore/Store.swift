import GigiCBOR
import GigiCrypto

/// All of Gigi's persistent state, in one LMDB environment.
///
/// ```swift
/// let store = try Store(path: home + "/db")
/// try store.write { txn in
///     try store.indexChunk(hash, at: ChunkLocation(fileID: id, offset: 0, length: 262_144), in: txn)
/// }
/// let where = try store.read { txn in try store.chunks.first(for: hash, in: txn) }
/// ```
///
/// Tables (name → key → value):
/// - `chunks`: BLAKE3 of a chunk → every place it is stored (`ChunkLocation`), dup-sorted.
/// - `file_chunks`: file id → each of its chunks (`FileChunk`: offset, length, BLAKE3; dup-sorted,
///   fixed size), to unindex a changed file. (LMDB name `file_chunks_v2`, since schema 2.)
/// - `files`: file id → `FileRecord`; `file_paths`: path → file id.
/// - `manifests`: manifest id (BLAKE3 of the bytes) → canonical manifest bytes.
/// - `shares`: share id → `ShareRecord`.
/// - `downloads`: download id → `DownloadRecord`.
/// - `messages`: `MessageKey` (conversation, time, sequence) → `MessageRecord`.
/// - `outbox`: message id → `OutboxRecord`.
/// - `contacts`, `groups`, `peers`: peer/group id string → record.
/// - `settings`: name → any CBOR value.
/// - `meta`: schema version and id counters (internal).
public final class Store: Sendable {
    /// The schema this build writes. Bump it when a change needs a migration.
    /// 2: the reverse chunk index became `file_chunks_v2` (file id → `FileChunk`, dupFixed);
    ///    schema 1's `file_chunks` (file id → hash) is rebuilt from `chunks` and dropped.
    public static let schemaVersion: UInt64 = 2

    /// Called inside the opening write transaction when the environment's schema is older
    /// than `schemaVersion`; it upgrades the data and the store then records the new version.
    public typealias Migration = @Sendable (_ from: UInt64, _ to: UInt64, _ store: Store,
                                            _ txn: LMDBWriteTransaction) throws -> Void

    public let environment: LMDBEnvironment
    public let chunks: StoreMultiTable<Digest32, ChunkLocation>
    public let fileChunks: StoreMultiTable<UInt64, FileChunk>
    public let files: StoreTable<UInt64, FileRecord>
    public let filePaths: StoreTable<String, UInt64>
    public let manifests: StoreTable<Digest32, [UInt8]>
    public let shares: StoreTable<String, ShareRecord>
    public let downloads: StoreTable<UInt64, DownloadRecord>
    public let messages: StoreTable<MessageKey, MessageRecord>
    public let outbox: StoreTable<[UInt8], OutboxRecord>
    public let contacts: StoreTable<String, ContactRecord>
    public let groups: StoreTable<String, GroupRecord>
    public let peers: StoreTable<String, PeerRecord>
    public let settings: StoreTable<String, CBOR>
    let meta: StoreTable<String, UInt64>

    /// Opens (creating if needed) the store in directory `path`, checks the schema version
    /// and runs `migration` if the data is older. Throws `StoreError.schemaTooNew` for data
    /// written by a newer schema.
    public init(path: String, configuration: LMDBEnvironment.Configuration = .init(),
                migration: Migration? = nil) throws {
        let env = try LMDBEnvironment(path: path, configuration: configuration)
        environment = env
        // All tables open in one transaction (one commit, one fsync), which also stamps
        // a new environment with the schema version: a fresh home costs one commit.
        let (db, found): ([String: LMDBDatabase], UInt64?) = try env.write { txn in
            var opened: [String: LMDBDatabase] = [:]
            opened["chunks"] = try env.database("chunks", flags: .dupSort, in: txn)
            opened["file_chunks"] = try env.database(Store.fileChunksName, flags: [.dupSort, .dupFixed], in: txn)
            for name in ["files", "file_paths", "manifests", "shares", "downloads", "messages", "outbox",
                         "contacts", "groups", "peers", "settings", "meta"] + Store.otherTables {
                opened[name] = try env.database(name, in: txn)
            }
            let meta = StoreTable<String, UInt64>(database: opened["meta"]!)
            let found = try meta.get("schema", in: txn)
            if found == nil { try meta.put(Store.schemaVersion, for: "schema", in: txn) }
            return (opened, found)
        }
        chunks = StoreMultiTable(database: db["chunks"]!)
        fileChunks = StoreMultiTable(database: db["file_chunks"]!)
        files = StoreTable(database: db["files"]!)
        filePaths = StoreTable(database: db["file_paths"]!)
        manifests = StoreTable(database: db["manifests"]!)
        shares = StoreTable(database: db["shares"]!)
        downloads = StoreTable(database: db["downloads"]!)
        messages = StoreTable(database: db["messages"]!)
        outbox = StoreTable(database: db["outbox"]!)
        contacts = StoreTable(database: db["contacts"]!)
        groups = StoreTable(database: db["groups"]!)
        peers = StoreTable(database: db["peers"]!)
        settings = StoreTable(database: db["settings"]!)
        meta = StoreTable(database: db["meta"]!)
        if let v = found, v > Store.schemaVersion {
            throw StoreError.schemaTooNew(found: UInt32(clamping: v), supported: UInt32(Store.schemaVersion))
        }
        if let v = found, v < Store.schemaVersion {
            try env.write { txn in
                if v < 2 { try rebuildFileChunks(in: txn) }
                try migration?(v, Store.schemaVersion, self, txn)
                try meta.put(Store.schemaVersion, for: "schema", in: txn)
            }
        }
    }

    /// GigiMessaging's unread-message table, which it opens by name itself.
    public static let dmUnreadName = "dm_unread"

    /// Tables that modules above open by name themselves (`StoreTable(name, in:)`), created
    /// here with the others so that a new home needs a single commit.
    static let otherTables = [dmUnreadName]

    /// The schema version recorded in the environment.
    public func storedSchemaVersion() throws -> UInt64? {
        try read { txn in try meta.get("schema", in: txn) }
    }

    /// See `LMDBEnvironment.read`.
    public func read<R>(_ body: (LMDBTransaction) throws -> R) throws -> R { try environment.read(body) }

    /// See `LMDBEnvironment.write` (commit on return, abort on throw, may run `body` again).
    public func write<R>(_ body: (LMDBWriteTransaction) throws -> R) throws -> R { try environment.write(body) }

    /// The next value of a named counter (1, 2, 3, …), e.g. "file" or "download" ids.
    public func nextID(_ counter: String, in txn: LMDBWriteTransaction) throws -> UInt64 {
        let key = "next." + counter
        let n = (try meta.get(key, in: txn) ?? 0) + 1
        try meta.put(n, for: key, in: txn)
        return n
    }

    /// The LMDB name of the reverse chunk index (schema 2 layout).
    static let fileChunksName = "file_chunks_v2"

    /// Schema 1 → 2: fills `file_chunks_v2` from `chunks` (every location of every chunk) and
    /// drops schema 1's `file_chunks`, all in the opening transaction.
    private func rebuildFileChunks(in txn: LMDBWriteTransaction) throws {
        try txn.removeAll(fileChunks.database)
        try chunks.forEach(in: txn) { hash, location in
            try fileChunks.add(FileChunk(offset: location.offset, length: location.length, hash: hash),
                               for: location.fileID, in: txn)
            return true
        }
        do {
            let old = try environment.database("file_chunks", flags: .dupSort, create: false, in: txn)
            try environment.dropDatabase(old, in: txn)
        } catch LMDBError.notFound {
            // Nothing to drop (never created, or data that only pretends to be old).
        }
    }

    // MARK: Chunk index

    /// Records that the chunk with BLAKE3 `hash` is stored at `location`.
    ///
    /// Crash safety: call only after the bytes at `location` are on disk (fdatasync'd) and
    /// the file's `FileRecord` describes the version that was hashed.
    /// Returns false if this exact location was already indexed.
    @discardableResult
    public func indexChunk(_ hash: Digest32, at location: ChunkLocation, in txn: LMDBWriteTransaction) throws -> Bool {
        guard try chunks.add(location, for: hash, in: txn) else { return false }
        // A file is indexed front to back, so this is almost always an append.
        try fileChunks.append(FileChunk(offset: location.offset, length: location.length, hash: hash),
                              for: location.fileID, in: txn)
        return true
    }

    /// Indexes many chunks at once, in hash order (neighbouring inserts touch the same
    /// B-tree pages, which is much faster than random order). Same crash-safety rule as
    /// `indexChunk`. Returns how many entries were new.
    @discardableResult
    public func indexChunks(_ entries: [(hash: Digest32, location: ChunkLocation)],
                            in txn: LMDBWriteTransaction) throws -> Int {
        var added: [(hash: Digest32, location: ChunkLocation)] = []
        added.reserveCapacity(entries.count)
        for entry in entries.sorted(by: { $0.hash < $1.hash })
        where try chunks.add(entry.location, for: entry.hash, in: txn) {
            added.append(entry)
        }
        // The reverse index is keyed by file id and sorted by offset: in that order every
        // entry of a file indexed front to back is an append.
        added.sort { ($0.location.fileID, $0.location.offset) < ($1.location.fileID, $1.location.offset) }
        for entry in added {
            try fileChunks.append(FileChunk(offset: entry.location.offset, length: entry.location.length,
                                            hash: entry.hash),
                                  for: entry.location.fileID, in: txn)
        }
        return added.count
    }

    /// The first location (in byte order) of the chunk with BLAKE3 `hash`, or nil if not indexed.
    public func chunkLocation(_ hash: Digest32, in txn: LMDBTransaction) throws -> ChunkLocation? {
        try chunks.first(for: hash, in: txn)
    }

    /// The first location of each of `hashes` (nil where not indexed), in the order of `hashes`.
    /// One cursor pass in hash order: for a batch (e.g. every chunk of a manifest) much faster per
    /// hash than `chunkLocation` (see docs/store.md, Benchmark).
    public func chunkLocations(_ hashes: [Digest32], in txn: LMDBTransaction) throws -> [ChunkLocation?] {
        try chunks.firstValues(for: hashes, in: txn)
    }

    /// Whether each of `hashes` is indexed, in the order of `hashes` (one cursor pass, no decoding).
    public func hasChunks(_ hashes: [Digest32], in txn: LMDBTransaction) throws -> [Bool] {
        try chunks.contains(hashes, in: txn)
    }

    /// Adds (or finds) the file id for `record.path` and stores the record.
    public func upsertFile(_ record: FileRecord, in txn: LMDBWriteTransaction) throws -> UInt64 {
        let id = try filePaths.get(record.path, in: txn) ?? nextID("file", in: txn)
        try filePaths.put(id, for: record.path, in: txn)
        try files.put(record, for: id, in: txn)
        return id
    }

    /// Removes every chunk-index entry that points into file `fileID` (e.g. the file changed
    /// and will be re-hashed). The file record stays. Returns how many entries were removed.
    @discardableResult
    public func unindexChunks(ofFile fileID: UInt64, in txn: LMDBWriteTransaction) throws -> Int {
        var removed = 0
        for chunk in try fileChunks.values(for: fileID, in: txn) {
            let location = ChunkLocation(fileID: fileID, offset: chunk.offset, length: chunk.length)
            if try chunks.remove(location, for: chunk.hash, in: txn) { removed += 1 }
        }
        try fileChunks.removeAll(for: fileID, in: txn)
        return removed
    }

    /// Removes file `fileID`: its chunk-index entries, its path entry and its record.
    public func removeFile(_ fileID: UInt64, in txn: LMDBWriteTransaction) throws {
        try unindexChunks(ofFile: fileID, in: txn)
        if let record = try files.get(fileID, in: txn) { try filePaths.delete(record.path, in: txn) }
        try files.delete(fileID, in: txn)
    }
}

/// The 32 digest bytes.
extension Digest32: StoreValue {
    public func storeEncoded() throws -> [UInt8] { bytes }
    public func withStoreBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withKeyBytes(body)
    }
    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> Digest32 {
        try Digest32(keyBytes: bytes)
    }
}
