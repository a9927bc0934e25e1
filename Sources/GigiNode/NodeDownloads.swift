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

extension DownloadRecord {
    /// The directory the download goes into (older records kept only the destination).
    var fetchRoot: String { root ?? (destination as NSString).deletingLastPathComponent }
}

extension GigiNode {
    /// Partial downloads under `home`, newest first.
    public static func partialDownloads(home: String) throws -> [PartialDownload] {
        try FileIndex(home: home).partialDownloads().map { summary($0.id, $0.record, $0.manifest) }
    }

    /// The paths of a download's partial files with the size each will have.
    private static func partialFiles(_ manifest: Manifest?, root: String) -> [(path: String, size: UInt64)] {
        guard let manifest, let writer = try? DownloadWriter(manifest: manifest, root: root) else { return [] }
        return manifest.entries.enumerated().filter { $0.element.kind == .file }.map { (writer.partial($0.offset), $0.element.size) }
    }

    private static func summary(_ id: UInt64, _ rec: DownloadRecord, _ manifest: Manifest?) -> PartialDownload {
        var onDisk: UInt64 = 0
        for f in partialFiles(manifest, root: rec.fetchRoot) {
            var st = stat()
            if lstat(f.path, &st) == 0 { onDisk += min(UInt64(st.st_size), f.size) }
        }
        return PartialDownload(id: id, names: manifest?.topLevelNames ?? [], root: rec.fetchRoot,
                               destination: rec.destination, files: manifest?.fileCount ?? 0,
                               bytesTotal: rec.bytesTotal, bytesRecorded: rec.bytesDone, bytesOnDisk: onDisk,
                               peers: rec.peers, updated: rec.updated, resumable: rec.source != nil)
    }

    private static func noSuchDownload(_ id: UInt64) -> GigiError {
        GigiError("No partial download \(id): `gigi downloads` lists them.", exitCode: .noInput)
    }

    /// The fetch that continues partial download `id` (or the only resumable one).
    public static func resumeRequest(home: String, id: UInt64?) throws -> FetchRequest {
        let index = try FileIndex(home: home)
        let all = try index.partialDownloads()
        let candidates = all.filter { $0.record.source != nil && (id == nil || $0.id == id) }
        guard let pick = candidates.first, candidates.count == 1 else {
            if let id {
                guard all.contains(where: { $0.id == id }) else { throw noSuchDownload(id) }
                throw GigiError("Download \(id) was started by an older gigi that did not keep its code: run `gigi fetch CODE` with the code again.",
                                exitCode: .noInput)
            }
            if candidates.isEmpty { throw GigiError("No partial download to resume.", exitCode: .noInput) }
            let list = candidates.map { "\($0.id) (\(TerminalSafe.escape($0.record.destination)))" }.joined(separator: ", ")
            throw GigiError("Several partial downloads: name one, as in `gigi fetch --resume \(candidates[0].id)`: \(list).",
                            exitCode: .usage)
        }
        let rec = pick.record
        return FetchRequest(input: rec.source!, peers: rec.addresses ?? [], output: rec.fetchRoot)
    }

    /// Deletes partial download `id`: its record, then its partial files and staging directories.
    public static func discardDownload(home: String, id: UInt64) throws -> PartialDownload {
        let index = try FileIndex(home: home)
        guard let found = try index.partialDownloads().first(where: { $0.id == id }) else { throw noSuchDownload(id) }
        let d = summary(id, found.record, found.manifest)
        // The record goes first (the store's rule for deletions), then the data.
        try index.removeDownload(id: id)
        if let m = found.manifest, let writer = try? DownloadWriter(manifest: m, root: d.root) { writer.removePartials() }
        return d
    }
}
