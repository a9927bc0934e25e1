// GigiFiles' use of the LMDB store: the chunk index (BLAKE3 → file, offset,
// length) with the files table that says which version of a file was hashed,
// and the downloads table that makes fetches resumable.
//
// Ordering (GigiStore's crash-safety rule): data is written and fdatasynced
// before the transaction that records it commits — chunks are marked
// verified only after `DownloadWriter.sync()`, files are indexed only after
// their final fsync and rename.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GigiBase
import GigiCrypto
import GigiStore

public final class FileIndex: LocalChunkSource, @unchecked Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    /// Opens (creating) the store under `home` (GIGI_HOME).
    public convenience init(home: String) throws {
        try FileManager.default.createDirectory(atPath: home + "/store", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        self.init(store: try Store(path: home + "/store"))
    }

    static func record(path: String, stamp: FileStamp) -> FileRecord {
        FileRecord(path: path, size: stamp.size,
                   mtimeNanoseconds: stamp.mtime * 1_000_000_000 + Int64(stamp.mtimeNanos),
                   inode: stamp.inode, device: stamp.device)
    }

    static func matches(_ r: FileRecord, _ s: FileStamp) -> Bool {
        r.size == s.size && r.inode == s.inode && r.device == s.device
            && r.mtimeNanoseconds == s.mtime * 1_000_000_000 + Int64(s.mtimeNanos)
    }

    /// Records the chunks of a file whose bytes are on disk (after fsync).
    public func indexFile(path: String, stamp: FileStamp, entry: ManifestEntry, chunkSize: Int) throws {
        try indexFiles([(path, stamp, entry)], chunkSize: chunkSize)
    }

    /// Records the chunks of files whose bytes are on disk (after fsync), all in one
    /// transaction (one commit for a whole tree), and deletes download `removingDownload`
    /// in the same transaction.
    public func indexFiles(_ files: [(path: String, stamp: FileStamp, entry: ManifestEntry)], chunkSize: Int,
                           removingDownload: UInt64? = nil) throws {
        try store.write { txn in
            try put(files, chunkSize: chunkSize, in: txn)
            if let removingDownload { _ = try store.downloads.delete(removingDownload, in: txn) }
        }
    }

    /// Records every file of an indexed share (the sharer's chunk index; no data is
    /// copied) and the manifest, in one transaction.
    public func indexShare(_ share: IndexedShare) throws {
        let files = share.sources.sorted { $0.key < $1.key }.map { (i, src) in
            (path: src.path, stamp: src.stamp, entry: share.manifest.entries[i])
        }
        try store.write { txn in
            try store.manifests.put(share.manifestBytes, for: share.manifestID, in: txn)
            try put(files, chunkSize: share.manifest.chunkSize, in: txn)
        }
    }

    private func put(_ files: [(path: String, stamp: FileStamp, entry: ManifestEntry)], chunkSize: Int,
                     in txn: LMDBWriteTransaction) throws {
        // Every file's chunks go into the index in one batch sorted by hash (B-tree order:
        // consecutive inserts find their pages in the cache, unlike file order, which is
        // random in hash order). A path listed twice keeps only its last entry's chunks, as
        // indexing the files one after another would.
        var chunksOfFile: [UInt64: [(hash: Digest32, location: ChunkLocation)]] = [:]
        for (path, stamp, entry) in files {
            let id = try store.upsertFile(Self.record(path: path, stamp: stamp), in: txn)
            try store.unindexChunks(ofFile: id, in: txn)
            chunksOfFile[id] = (0..<entry.chunkCount).map { i in
                (entry.chunkHash(i), ChunkLocation(fileID: id, offset: UInt64(i) * UInt64(chunkSize),
                                                   length: UInt32(entry.chunkLength(i, chunkSize: chunkSize))))
            }
        }
        try store.indexChunks(chunksOfFile.values.flatMap { $0 }, in: txn)
    }

    /// Whether each of `hashes` is in the chunk index (one read transaction, one cursor pass in
    /// hash order); if the index cannot be read, every hash may be held (`chunk` then decides).
    public func mayHold(_ hashes: [Digest32]) -> [Bool] {
        (try? store.read { txn in try store.hasChunks(hashes, in: txn) })
            ?? Array(repeating: true, count: hashes.count)
    }

    /// A chunk's bytes from a local file that still is the version indexed (the caller verifies BLAKE3).
    public func chunk(_ hash: Digest32, length: Int) -> [UInt8]? {
        guard let candidates = try? store.read({ txn -> [(ChunkLocation, FileRecord)] in
            try store.chunks.values(for: hash, in: txn).compactMap { loc in
                try store.files.get(loc.fileID, in: txn).map { (loc, $0) }
            }
        }) else { return nil }
        for (loc, file) in candidates where Int(loc.length) == length {
            let fd = open(file.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard let now = FileStamp.current(fd: fd), Self.matches(file, now) else { continue }
            if let data = preadAll(fd: fd, length: length, offset: off_t(loc.offset)) { return data }
        }
        return nil
    }

    // MARK: Downloads

    /// The recorded download of `manifestID` into `destination`, if any.
    public func findDownload(manifestID: Digest32, destination: String) throws -> (UInt64, DownloadRecord)? {
        try store.read { txn in
            var found: (UInt64, DownloadRecord)? = nil
            try store.downloads.forEach(in: txn) { id, rec in
                if rec.manifestID == manifestID.bytes && rec.destination == destination { found = (id, rec) }
                return found == nil
            }
            return found
        }
    }

    /// Creates or updates a download record; returns its id.
    public func saveDownload(id: UInt64?, _ record: DownloadRecord, manifest: [UInt8]? = nil) throws -> UInt64 {
        try store.write { txn in
            let key = try id ?? store.nextID("download", in: txn)
            try store.downloads.put(record, for: key, in: txn)
            if let manifest, let mid = Digest32(bytes: record.manifestID) {
                try store.manifests.put(manifest, for: mid, in: txn)
            }
            return key
        }
    }

    public func removeDownload(id: UInt64) throws {
        try store.write { txn in _ = try store.downloads.delete(id, in: txn) }
    }

    /// Every download not completed, newest first, with its manifest if stored.
    public func partialDownloads() throws -> [(id: UInt64, record: DownloadRecord, manifest: Manifest?)] {
        try store.read { txn in
            var out: [(UInt64, DownloadRecord, Manifest?)] = []
            try store.downloads.forEach(in: txn) { id, rec in
                if rec.state != .completed {
                    let m = try Digest32(bytes: rec.manifestID).flatMap { try store.manifests.get($0, in: txn) }
                        .flatMap { try? Manifest.decode($0) }
                    out.append((id, rec, m))
                }
                return true
            }
            return out.sorted { $0.1.updated > $1.1.updated }.map { (id: $0.0, record: $0.1, manifest: $0.2) }
        }
    }
}
