// The manifest of a share (DESIGN.md "Files: manifest, chunks, index").
//
// Canonical CBOR (GigiCBOR's deterministic encoding) of: format version,
// chunk size, and the entries — directories (empty ones too) and files with
// size, mode, mtime, SHA-256 and the BLAKE3-256 of each 256 KiB chunk (the
// last one shorter; an empty file has none). Every file starts on a chunk
// boundary. The manifest id is BLAKE3 of the encoded bytes. The bytes are
// written and read by hand (ManifestCodec.swift); the Codable conformance
// gives the same bytes and stays for other users.
//
// A received manifest is untrusted: `Manifest.decode` refuses absurd sizes
// and counts (limits below), unsafe paths (PathSafety), duplicate names,
// files under non-directories, and chunk lists that do not match the size.

import GigiBase
import GigiCrypto

public enum ManifestError: Error, Equatable, Sendable, UserFacingError {
    case malformed(String)
    case tooLarge(String)

    public var message: String {
        switch self {
        case .malformed(let why): return "The sender's file list is invalid (\(why)); nothing was written."
        case .tooLarge(let why): return "The sender's file list is too large (\(why)); nothing was written."
        }
    }
    public var exitCode: GigiExitCode { .dataError }
}

/// One file or directory of a share.
public struct ManifestEntry: Codable, Equatable, Sendable {
    public enum Kind: UInt8, Codable, Sendable { case file = 0, directory = 1 }

    /// Relative, "/"-separated, validated by PathSafety.
    public var path: String
    public var kind: Kind
    public var size: UInt64
    /// Permission bits (0o777 at most; setuid/setgid/sticky are never sent).
    public var mode: UInt32
    /// Modification time: seconds and nanoseconds since the epoch.
    public var mtime: Int64
    public var mtimeNanos: UInt32
    /// SHA-256 of the whole file (empty for directories).
    public var sha256: [UInt8]
    /// The chunks' BLAKE3-256 hashes, concatenated (32 bytes each).
    public var chunkHashes: [UInt8]

    enum CodingKeys: String, CodingKey {
        case path = "p", kind = "k", size = "s", mode = "m", mtime = "t", mtimeNanos = "n"
        case sha256 = "h", chunkHashes = "c"
    }

    public init(path: String, kind: Kind, size: UInt64, mode: UInt32, mtime: Int64, mtimeNanos: UInt32,
                sha256: [UInt8] = [], chunkHashes: [UInt8] = []) {
        self.path = path; self.kind = kind; self.size = size; self.mode = mode & 0o777
        self.mtime = mtime; self.mtimeNanos = mtimeNanos; self.sha256 = sha256; self.chunkHashes = chunkHashes
    }

    public var chunkCount: Int { chunkHashes.count / 32 }

    public func chunkHash(_ i: Int) -> Digest32 {
        chunkHashes.withUnsafeBytes { Digest32(pointer: $0.baseAddress! + i * 32) }
    }

    /// Bytes in chunk `i`.
    public func chunkLength(_ i: Int, chunkSize: Int) -> Int {
        Int(min(UInt64(chunkSize), size - UInt64(i) * UInt64(chunkSize)))
    }

    /// Number of chunks a file of `size` bytes has.
    public static func chunkCount(size: UInt64, chunkSize: Int) -> Int {
        Int((size + UInt64(chunkSize) - 1) / UInt64(chunkSize))
    }
}

public struct Manifest: Codable, Equatable, Sendable {
    public static let formatVersion = 1
    public static let defaultChunkSize = 256 * 1024

    /// Limits for received manifests.
    public static let maxEncodedSize = 64 * 1024 * 1024   // 2M chunk hashes = 512 GiB of data
    public static let maxEntries = 1_000_000
    public static let maxFileSize: UInt64 = 1 << 50

    public var version: Int
    public var chunkSize: Int
    public var entries: [ManifestEntry]

    enum CodingKeys: String, CodingKey { case version = "v", chunkSize = "cs", entries = "e" }

    public init(entries: [ManifestEntry], chunkSize: Int = Manifest.defaultChunkSize) {
        self.version = Self.formatVersion
        self.chunkSize = chunkSize
        self.entries = entries
    }

    /// The manifest id of encoded bytes.
    public static func id(of bytes: [UInt8]) -> Digest32 { BLAKE3.hash(bytes) }

    public var totalSize: UInt64 { entries.reduce(0) { $0 + $1.size } }
    public var fileCount: Int { entries.filter { $0.kind == .file }.count }
    public var totalChunks: Int { entries.reduce(0) { $0 + $1.chunkCount } }

    /// The top-level names (what the fetcher will create in its destination).
    public var topLevelNames: [String] {
        entries.map(\.path).filter { !$0.utf8.contains(UInt8(ascii: "/")) }
    }

    /// Checks everything a receiver relies on.
    public func validate() throws { _ = try parentDirectories() }

    /// Validates (as `validate`) and gives each entry's directory: the index of the entry
    /// it is in, nil at the top (listed before it, the rule checked here).
    public func parentDirectories() throws -> [Int?] {
        guard version == Self.formatVersion else { throw ManifestError.malformed("unknown version \(version)") }
        guard chunkSize == Self.defaultChunkSize else { throw ManifestError.malformed("chunk size \(chunkSize)") }
        guard entries.count <= Self.maxEntries else { throw ManifestError.tooLarge("\(entries.count) entries") }
        guard !entries.isEmpty else { throw ManifestError.malformed("no entries") }
        // Keyed by Substring so that parents are looked up without building strings;
        // equality is String's (canonical equivalence), as before.
        var indexOf: [Substring: Int] = [:]
        indexOf.reserveCapacity(entries.count)
        var parents = [Int?](repeating: nil, count: entries.count)
        for (i, e) in entries.enumerated() {
            try PathSafety.check(e.path)
            // Our sharers send permission bits only and stat's nanoseconds: anything else is made up.
            guard e.mode <= 0o777 else { throw ManifestError.malformed("mode \(String(e.mode, radix: 8))") }
            guard e.mtimeNanos < 1_000_000_000 else { throw ManifestError.malformed("mtime nanoseconds \(e.mtimeNanos)") }
            guard indexOf.updateValue(i, forKey: e.path[...]) == nil else {
                throw ManifestError.malformed("duplicate name \"\(PathSafety.displayName(e.path))\"")
            }
            // PathSafety made every "/" byte a "/" character of its own.
            if let slash = e.path.utf8.lastIndex(of: UInt8(ascii: "/")) {
                guard let parent = indexOf[e.path[..<slash]], entries[parent].kind == .directory else {
                    throw ManifestError.malformed("\"\(PathSafety.displayName(e.path))\" is not inside a listed directory")
                }
                parents[i] = parent
            }
            switch e.kind {
            case .directory:
                guard e.size == 0, e.sha256.isEmpty, e.chunkHashes.isEmpty else {
                    throw ManifestError.malformed("directory with data")
                }
            case .file:
                guard e.size <= Self.maxFileSize else { throw ManifestError.tooLarge("a file of \(e.size) bytes") }
                guard e.sha256.count == 32 else { throw ManifestError.malformed("bad SHA-256") }
                guard e.chunkHashes.count == 32 * ManifestEntry.chunkCount(size: e.size, chunkSize: chunkSize) else {
                    throw ManifestError.malformed("chunk list does not match the size of \"\(PathSafety.displayName(e.path))\"")
                }
            }
        }
        return parents
    }
}

// MARK: - Digests that follow the manifest

extension Manifest {
    /// This manifest with every file's SHA-256 as 32 zero bytes: what a sharer sends while
    /// its SHA-256 pass still runs ("digests follow", TransferProtocol.swift). Its id names
    /// the share and the download until the digests come.
    public func withoutDigests() -> Manifest {
        var m = self
        for i in m.entries.indices where m.entries[i].kind == .file { m.entries[i].sha256 = Self.noDigest }
        return m
    }

    /// The files' SHA-256 digests in entry order, concatenated.
    public var fileDigests: [UInt8] { entries.filter { $0.kind == .file }.flatMap(\.sha256) }

    /// This manifest with the files' SHA-256 digests (32 bytes each, in entry order) put in;
    /// nil if `digests` does not hold one per file.
    public func withDigests(_ digests: [UInt8]) -> Manifest? {
        guard digests.count == 32 * fileCount else { return nil }
        var m = self, k = 0
        for i in m.entries.indices where m.entries[i].kind == .file {
            m.entries[i].sha256 = Array(digests[k..<k + 32])
            k += 32
        }
        return m
    }

    static let noDigest = [UInt8](repeating: 0, count: 32)
}
