// GigiStore: Gigi's one embedded database — an LMDB environment (liblmdb) with
// typed tables for the chunk index, files, manifests, shares, downloads,
// messages, outbox, contacts, groups, peers and settings.
//
// Layers:
//   * `LMDBEnvironment`, `LMDBTransaction`, `LMDBWriteTransaction`, `LMDBCursor`:
//     a thin, checked wrapper of the C API. Closure-scoped transactions that
//     commit when the closure returns and abort when it throws; every LMDB
//     code maps to `LMDBError`; the map grows on MDB_MAP_FULL and the write
//     closure is retried; MDB_NOTLS so reads run on any thread; writes are
//     serialised in-process and, by LMDB, across processes (CLI + daemon).
//   * `StoreTable` / `StoreMultiTable`: a named database with typed keys
//     (`StoreKey`: bytes whose order is the scan order) and values
//     (`StoreValue`; Codable records via `StoreRecord` = version byte + CBOR).
//     Batches of `StoreOrderedKey` keys look up in key order through one cursor
//     (`get([Key])`, `firstValues(for:)`, `contains([Key])`): much cheaper per key.
//   * `Store`: opens every Gigi table, checks the schema version, migrates older
//     schemas (1 → 2: the reverse chunk index) and runs the caller's migration hook;
//     the chunk index API (`indexChunks`, `chunkLocation(s)`, `hasChunks`).
//
// Crash-safety rules (see docs/store.md). An LMDB commit is atomic and, with
// the default durability, durable when `write` returns. LMDB cannot cover
// bytes that live in ordinary files, so any record that *claims* something
// about file contents is committed only after those contents are durable:
//   1. write the data (chunk bytes into the partial file, a new file, …);
//   2. `fdatasync` (or `fsync`) the file — and the directory after a rename
//      or create that the record depends on;
//   3. only then commit the transaction that marks it (a download's verified
//      bit, a chunk-index entry, a file record's size/mtime/inode).
// After a crash the database may then *understate* progress (data on disk but
// not marked: it is re-verified or re-fetched) but never overstate it.
// Conversely, delete the record first (commit) and the data afterwards.
// Write closures may run more than once (map growth), so they must not perform
// the file I/O themselves: do I/O first, then record it in a short write.
//
// Non-goals: encryption at rest (GIGI_HOME is private to the user), storing
// file contents (the chunk index points into the user's files), remote access.
