// Indexing: files and directory trees become a manifest.
//
// Each file is read once, in blocks of 16 chunks (4 MiB) into one reused
// buffer (memory stays bounded whatever the size), and each block is hashed
// on two threads at once: SHA-256 of the whole file on one, BLAKE3 of each
// 256 KiB chunk on the other. The file's size, mtime and inode are taken
// before and after reading; a file that changed meanwhile is refused.
// Symlinks and special files are skipped (never followed): a share holds
// regular files and directories only.

#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import GigiBase
import GigiCrypto

public enum IndexError: Error, Equatable, Sendable, UserFacingError {
    case notFound(String)
    case unreadable(String, Int32)
    case changedWhileIndexing(String)
    case duplicateName(String)
    case unsupported(String)

    public var message: String {
        switch self {
        case .notFound(let p): return "\(PathSafety.displayName(p)) does not exist: check the path."
        case .unreadable(let p, let e):
            return "Cannot read \(PathSafety.displayName(p)) (\(String(cString: strerror(e)))): check its permissions."
        case .changedWhileIndexing(let p):
            return "\(PathSafety.displayName(p)) changed while it was being indexed: share it again once it is stable."
        case .duplicateName(let n):
            return "Two of the paths to share have the same name \"\(PathSafety.displayName(n))\": share their parent directory instead."
        case .unsupported(let p): return "\(PathSafety.displayName(p)) is not a regular file or directory."
        }
    }
    public var exitCode: GigiExitCode {
        switch self {
        case .notFound: return .noInput
        case .unreadable, .changedWhileIndexing: return .ioError
        case .duplicateName, .unsupported: return .usage
        }
    }
}

/// What identifies a file's version on disk (for "changed since indexing").
public struct FileStamp: Equatable, Codable, Sendable {
    public var size: UInt64
    public var mtime: Int64
    public var mtimeNanos: UInt32
    public var inode: UInt64
    public var device: UInt64

    init(_ st: stat) {
        size = UInt64(st.st_size)
        mtime = Int64(st.st_mtim.tv_sec)
        mtimeNanos = UInt32(st.st_mtim.tv_nsec)
        inode = UInt64(st.st_ino)
        device = UInt64(st.st_dev)
    }

    /// The stamp of the file at `path` now (following no symlink), or nil.
    public static func current(path: String) -> FileStamp? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return FileStamp(st)
    }

    public static func current(fd: Int32) -> FileStamp? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileStamp(st)
    }
}

/// A file entry's local source, for serving and for the chunk index.
public struct ShareSource: Equatable, Codable, Sendable {
    public var path: String
    public var stamp: FileStamp
}

/// The result of indexing: the manifest, its bytes and id, and the local files.
public struct IndexedShare: Sendable {
    public let manifest: Manifest
    public let manifestBytes: [UInt8]
    public let manifestID: Digest32
    /// Entry index → local file (files only).
    public let sources: [Int: ShareSource]

    public init(manifest: Manifest, sources: [Int: ShareSource]) throws {
        self.manifest = manifest
        self.manifestBytes = try manifest.encoded()
        self.manifestID = Manifest.id(of: manifestBytes)
        self.sources = sources
    }
}

public final class Indexer: @unchecked Sendable {
    public let chunkSize: Int
    let blockChunks = 16
    private let buffer: UnsafeMutableRawBufferPointer
    /// Called with (bytes hashed so far, total bytes) after every block.
    public var progress: ((UInt64, UInt64) -> Void)?
    public private(set) var skipped: [String] = []

    public init(chunkSize: Int = Manifest.defaultChunkSize) {
        self.chunkSize = chunkSize
        buffer = .allocate(byteCount: chunkSize * blockChunks, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    struct Found { var relative: String; var absolute: String; var isDir: Bool; var st: stat }

    /// Indexes `paths` (files or directories); each becomes a top-level name.
    public func index(paths: [String]) throws -> IndexedShare {
        var found: [Found] = []
        var names = Set<String>()
        for p in paths {
            var st = stat()
            guard lstat(p, &st) == 0 else { throw errno == ENOENT ? IndexError.notFound(p) : IndexError.unreadable(p, errno) }
            let name = Self.baseName(p)
            guard names.insert(name).inserted else { throw IndexError.duplicateName(name) }
            switch st.st_mode & S_IFMT {
            case S_IFREG: found.append(Found(relative: name, absolute: p, isDir: false, st: st))
            case S_IFDIR:
                found.append(Found(relative: name, absolute: p, isDir: true, st: st))
                try walk(p, relative: name, into: &found)
            default: throw IndexError.unsupported(p)
            }
        }
        found.sort { Array($0.relative.utf8).lexicographicallyPrecedes(Array($1.relative.utf8)) }
        let total = found.reduce(UInt64(0)) { $0 + ($1.isDir ? 0 : UInt64($1.st.st_size)) }
        var done: UInt64 = 0
        var entries: [ManifestEntry] = []
        var sources: [Int: ShareSource] = [:]
        for f in found {
            let mode = UInt32(f.st.st_mode) & 0o777
            if f.isDir {
                entries.append(ManifestEntry(path: f.relative, kind: .directory, size: 0, mode: mode,
                                             mtime: Int64(f.st.st_mtim.tv_sec), mtimeNanos: UInt32(f.st.st_mtim.tv_nsec)))
                continue
            }
            let (stamp, sha, chunks) = try hashFile(f.absolute, done: done, total: total)
            done += stamp.size
            sources[entries.count] = ShareSource(path: f.absolute, stamp: stamp)
            entries.append(ManifestEntry(path: f.relative, kind: .file, size: stamp.size, mode: mode,
                                         mtime: stamp.mtime, mtimeNanos: stamp.mtimeNanos,
                                         sha256: sha.bytes, chunkHashes: chunks))
        }
        return try IndexedShare(manifest: Manifest(entries: entries, chunkSize: chunkSize), sources: sources)
    }

    static func baseName(_ p: String) -> String {
        var s = p
        while s.count > 1 && s.hasSuffix("/") { s.removeLast() }
        if let i = s.lastIndex(of: "/") { s = String(s[s.index(after: i)...]) }
        if s.isEmpty || s == "." || s == ".." || s == "/" {
            // "." or "/" has no name of its own: use the real directory name.
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
            if realpath(p, &buf) != nil {
                let r = String(cString: buf)
                return r == "/" ? "root" : baseName(r)
            }
        }
        return s
    }

    private func walk(_ dir: String, relative: String, into found: inout [Found]) throws {
        guard let d = opendir(dir) else { throw IndexError.unreadable(dir, errno) }
        defer { closedir(d) }
        while let ent = readdir(d) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let abs = dir + "/" + name
            // An unfinished download (DownloadWriter's partial file): not data to share,
            // and a name every fetcher refuses.
            if name.hasPrefix(PathSafety.partialPrefix) { skipped.append(abs); continue }
            let rel = relative + "/" + name
            var st = stat()
            guard lstat(abs, &st) == 0 else { throw IndexError.unreadable(abs, errno) }
            switch st.st_mode & S_IFMT {
            case S_IFREG: found.append(Found(relative: rel, absolute: abs, isDir: false, st: st))
            case S_IFDIR:
                found.append(Found(relative: rel, absolute: abs, isDir: true, st: st))
                try walk(abs, relative: rel, into: &found)
            default: skipped.append(abs)
            }
        }
    }

    final class HashState: @unchecked Sendable {
        var sha = SHA256()
        var chunks: [UInt8] = []
    }

    /// Hashes one file: SHA-256 of all of it and BLAKE3 of each chunk, on two threads.
    public func hashFile(_ path: String, done: UInt64 = 0, total: UInt64 = 0) throws
        -> (FileStamp, Digest32, [UInt8]) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw IndexError.unreadable(path, errno) }
        defer { close(fd) }
        guard let before = FileStamp.current(fd: fd) else { throw IndexError.unreadable(path, errno) }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let state = HashState()
        state.chunks.reserveCapacity(ManifestEntry.chunkCount(size: before.size, chunkSize: chunkSize) * 32)
        var offset: UInt64 = 0
        let chunkSize = self.chunkSize
        while true {
            let n = try readFully(fd, into: buffer, path: path)
            if n == 0 { break }
            nonisolated(unsafe) let block = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                if i == 0 {
                    state.sha.update(block)
                } else {
                    var start = 0
                    while start < n {
                        let end = min(start + chunkSize, n)
                        let d = BLAKE3.hash(UnsafeRawBufferPointer(rebasing: block[start..<end]))
                        state.chunks += d.bytes
                        start = end
                    }
                }
            }
            offset += UInt64(n)
            progress?(done + offset, total)
            if n < buffer.count { break }
        }
        guard let after = FileStamp.current(fd: fd), after == before, offset == before.size else {
            throw IndexError.changedWhileIndexing(path)
        }
        return (before, state.sha.finalize(), state.chunks)
    }

    private func readFully(_ fd: Int32, into buf: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        var got = 0
        while got < buf.count {
            let r = read(fd, buf.baseAddress! + got, buf.count - got)
            if r < 0 { if errno == EINTR { continue }; throw IndexError.unreadable(path, errno) }
            if r == 0 { break }
            got += r
        }
        return got
    }
}
