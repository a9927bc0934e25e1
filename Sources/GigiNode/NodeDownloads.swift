// Partial downloads: what `gigi downloads` lists and `gigi fetch --resume` continues.
// Read straight from the store (LMDB allows several processes), so they work with or
// without a running daemon.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GigiBase
import GigiFiles
import GigiStore

/// A download that has not completed.
public struct PartialDownload: Sendable {
    public let id: UInt64
    public let names: [String]
    /// The directory fetched into, and the path of the first top-level name.
    public let root: String
    public let destination: String
    public let files: Int
    public let bytesTotal: UInt64
    /// Bytes recorded as verified and on stable storage (a fetch with --fsync records as
    /// it goes; one without records only what it found at its start).
    public let bytesRecorded: UInt64
    /// Bytes in the partial files now (not yet checked: a resumed fetch re-hashes them).
    public let bytesOnDisk: UInt64
    public let peers: [String]
    public let updated: Date
    /// Whether the code or ticket it was started with is known (`gigi fetch --resume`).
    public let resumable: Bool
}

extension GigiNode {
    /// Partial downloads under `home`, newest first.
    public static func partialDownloads(home: String) throws -> [PartialDownload] {
        let index = try FileIndex(home: home)
        return try index.partialDownloads().map { id, rec, manifest in
            let root = rec.root ?? (rec.destination as NSString).deletingLastPathComponent
            var onDisk: UInt64 = 0
            if let manifest, let writer = try? DownloadWriter(manifest: manifest, root: root) {
                for (i, e) in manifest.entries.enumerated() where e.kind == .file {
                    var st = stat()
                    if lstat(writer.partial(i), &st) == 0 { onDisk += min(UInt64(st.st_size), e.size) }
                }
            }
            return PartialDownload(id: id, names: manifest?.topLevelNames ?? [], root: root,
                                   destination: rec.destination, files: manifest?.fileCount ?? 0,
                                   bytesTotal: rec.bytesTotal, bytesRecorded: rec.bytesDone, bytesOnDisk: onDisk,
                                   peers: rec.peers, updated: rec.updated, resumable: rec.source != nil)
        }
    }

    /// The fetch that continues partial download `id` (or the only resumable one).
    public static func resumeRequest(home: String, id: UInt64?) throws -> FetchRequest {
        let index = try FileIndex(home: home)
        let all = try index.partialDownloads()
        let candidates = all.filter { $0.record.source != nil && (id == nil || $0.id == id) }
        guard let pick = candidates.first, candidates.count == 1 else {
            if let id {
                throw GigiError(all.contains { $0.id == id }
                                ? "Download \(id) was started by an older gigi that did not keep its code: run `gigi fetch CODE` with the code again."
                                : "No partial download \(id): `gigi downloads` lists them.", exitCode: .noInput)
            }
            if candidates.isEmpty { throw GigiError("No partial download to resume.", exitCode: .noInput) }
            let list = candidates.map { "\($0.id) (\(TerminalSafe.escape($0.record.destination)))" }.joined(separator: ", ")
            throw GigiError("Several partial downloads: name one, as in `gigi fetch --resume \(candidates[0].id)`: \(list).",
                            exitCode: .usage)
        }
        let rec = pick.record
        return FetchRequest(input: rec.source!, peers: rec.addresses ?? [],
                            output: rec.root ?? (rec.destination as NSString).deletingLastPathComponent)
    }

    /// Deletes partial download `id`: its record, then its partial files.
    public static func discardDownload(home: String, id: UInt64) throws -> PartialDownload {
        guard let d = try partialDownloads(home: home).first(where: { $0.id == id }) else {
            throw GigiError("No partial download \(id): `gigi downloads` lists them.", exitCode: .noInput)
        }
        let index = try FileIndex(home: home)
        let manifest = try index.partialDownloads().first { $0.id == id }?.manifest
        // The record goes first (the store's rule for deletions), then the data.
        try index.removeDownload(id: id)
        if let manifest, let writer = try? DownloadWriter(manifest: manifest, root: d.root) {
            for (i, e) in manifest.entries.enumerated() where e.kind == .file { unlink(writer.partial(i)) }
        }
        return d
    }
}
