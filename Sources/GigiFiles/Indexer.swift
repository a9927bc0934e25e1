// Indexing: files and directory trees become a manifest.
//
// Each file is read once, in blocks of 16 chunks (4 MiB) into two reused
// buffers (memory stays bounded whatever the size), as a two-stage pipeline:
// one thread reads a block and takes the BLAKE3 of each 256 KiB chunk in it,
// while another carries the file's SHA-256 over the block before (SHA-256 is
// the slower of the two, so it alone gets a thread). A file that fits in one
// block is hashed on the calling thread: no hand-off per small file. The file's size, mtime and inode are taken
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
    /// The SHA-256 digests still being computed (`Indexer.index(deferDigests:)`); until
    /// they are in (`completed`), `manifest` holds zeros for them and only its chunks count.
    public let deferred: DeferredDigests?

    public init(manifest: Manifest, sources: [Int: ShareSource], deferred: DeferredDigests? = nil) throws {
        self.manifest = manifest
        self.manifestBytes = try manifest.encoded()
        self.manifestID = Manifest.id(of: manifestBytes)
        self.sources = sources
        self.deferred = deferred
    }

    /// The share with the deferred digests put in.
    public func completed(with digests: [Int: Digest32]) throws -> IndexedShare {
        var m = manifest
        for (i, d) in digests { m.entries[i].sha256 = d.bytes }
        return try IndexedShare(manifest: m, sources: sources)
    }
}

/// SHA-256 passes that run after (and beside) the BLAKE3 pass, one file after another on
/// their own thread, each reading its file again (from the page cache, usually: it runs
/// right behind the BLAKE3 pass); a file that changed meanwhile fails them.
public final class DeferredDigests: @unchecked Sendable {
    private let queue = DispatchQueue(label: "gigi.index.sha256", qos: .userInitiated)
    private let group = DispatchGroup()
    private let lock = NSLockLike()
    private var digests: [Int: Digest32] = [:]
    private var failure: IndexError?
    private var queued = 0
    private let blockSize: Int

    init(blockSize: Int) { self.blockSize = blockSize }

    /// Whether no pass was queued (every file was hashed whole).
    var isEmpty: Bool { lock.withLock { queued == 0 } }

    /// Queues the SHA-256 of entry `entry`, the file at `path` as `stamp` describes it.
    func add(entry: Int, path: String, stamp: FileStamp) {
        lock.withLock { queued += 1 }
        group.enter()
        queue.async { [self] in
            defer { group.leave() }
            let result = Self.sha256(path: path, stamp: stamp, blockSize: blockSize)
            lock.withLock {
                switch result {
                case .success(let d): digests[entry] = d
                case .failure(let e): if failure == nil { failure = e }
                }
            }
        }
    }

    /// Every digest (entry → SHA-256), once all are done, or the first failure.
    public func wait() async -> Result<[Int: Digest32], IndexError> {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in group.notify(queue: .global()) { c.resume() } }
        return lock.withLock { failure.map { .failure($0) } ?? .success(digests) }
    }

    private static func sha256(path: String, stamp: FileStamp, blockSize: Int) -> Result<Digest32, IndexError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .failure(.unreadable(path, errno)) }
        defer { close(fd) }
        guard FileStamp.current(fd: fd) == stamp else { return .failure(.changedWhileIndexing(path)) }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 4096)
        defer { buf.deallocate() }
        var sha = SHA256(), total: UInt64 = 0
        while true {
            let n: Int
            do { n = try Indexer.readFully(fd, into: buf, path: path) } catch { return .failure(error as? IndexError ?? .unreadable(path, EIO)) }
            sha.update(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
            total += UInt64(n)
            if n < buf.count { break }
        }
        guard total == stamp.size, FileStamp.current(fd: fd) == stamp else { return .failure(.changedWhileIndexing(path)) }
        return .success(sha.finalize())
    }
}

public final class Indexer: @unchecked Sendable {
    public let chunkSize: Int
    let blockChunks = 16
    private let buffers: [UnsafeMutableRawBufferPointer]
    /// Called with (bytes hashed so far, total bytes) after every block.
    public var progress: ((UInt64, UInt64) -> Void)?
    public private(set) var skipped: [String] = []

    public init(chunkSize: Int = Manifest.defaultChunkSize) {
        self.chunkSize = chunkSize
        let blockSize = chunkSize * blockChunks
        buffers = (0..<2).map { _ in .allocate(byteCount: blockSize, alignment: 4096) }
    }

    deinit { for b in buffers { b.deallocate() } }

    struct Found { var relative: String; var absolute: String; var isDir: Bool; var st: stat }

    /// The checks `index(paths:)` starts with, alone and quick (one lstat per path): each
    /// exists and is a regular file or directory, and no two have the same name.
    public static func checkTopLevel(_ paths: [String]) throws { _ = try topLevel(paths) }

    private static func topLevel(_ paths: [String]) throws -> [Found] {
        var found: [Found] = []
        var names = Set<String>()
        for p in paths {
            var st = stat()
            guard lstat(p, &st) == 0 else { throw errno == ENOENT ? IndexError.notFound(p) : IndexError.unreadable(p, errno) }
            let name = Self.baseName(p)
            guard names.insert(name).inserted else { throw IndexError.duplicateName(name) }
            let kind = st.st_mode & S_IFMT
            guard kind == S_IFREG || kind == S_IFDIR else { throw IndexError.unsupported(p) }
            found.append(Found(relative: name, absolute: p, isDir: kind == S_IFDIR, st: st))
        }
        return found
    }

    /// Indexes `paths` (files or directories); each becomes a top-level name. With
    /// `deferDigests`, a file of more than one block gets only its BLAKE3 pass here and its
    /// SHA-256 from a second pass beside it (`IndexedShare.deferred`): the chunks can be
    /// served while the slower SHA-256 runs.
    public func index(paths: [String], deferDigests: Bool = false) throws -> IndexedShare {
        var found: [Found] = []
        for top in try Self.topLevel(paths) {
            found.append(top)
            if top.isDir { try walk(top.absolute, relative: top.relative, into: &found) }
        }
        found.sort { $0.relative.utf8.lexicographicallyPrecedes($1.relative.utf8) }   // byte order, no copies
        let total = found.reduce(UInt64(0)) { $0 + ($1.isDir ? 0 : UInt64($1.st.st_size)) }
        var done: UInt64 = 0
        var entries: [ManifestEntry] = []
        var sources: [Int: ShareSource] = [:]
        let deferred = deferDigests ? DeferredDigests(blockSize: buffers[0].count) : nil
        let small = hashSmallFiles(found)
        for (k, f) in found.enumerated() {
            let mode = UInt32(f.st.st_mode) & 0o777
            if f.isDir {
                entries.append(ManifestEntry(path: f.relative, kind: .directory, size: 0, mode: mode,
                                             mtime: Int64(f.st.st_mtim.tv_sec), mtimeNanos: UInt32(f.st.st_mtim.tv_nsec)))
                continue
            }
            let (stamp, sha, chunks): (FileStamp, Digest32, [UInt8])
            if let r = small[k] {
                (stamp, sha, chunks) = try r.get()
                progress?(done + stamp.size, total)
            } else if let deferred {
                let entry = entries.count
                (stamp, sha, chunks) = try hashFile(f.absolute, done: done, total: total, smallBuffer: buffers[0], large: true,
                                                    deferring: { deferred.add(entry: entry, path: f.absolute, stamp: $0) })!
            } else {
                (stamp, sha, chunks) = try hashFile(f.absolute, done: done, total: total)
            }
            done += stamp.size
            sources[entries.count] = ShareSource(path: f.absolute, stamp: stamp)
            entries.append(ManifestEntry(path: f.relative, kind: .file, size: stamp.size, mode: mode,
                                         mtime: stamp.mtime, mtimeNanos: stamp.mtimeNanos,
                                         sha256: sha.bytes, chunkHashes: chunks))
        }
        // (A share whose files all fit in a block has every digest now: fetchers get the
        // complete manifest.)
        return try IndexedShare(manifest: Manifest(entries: entries, chunkSize: chunkSize), sources: sources,
                                deferred: deferred?.isEmpty == false ? deferred : nil)
    }

    typealias Hashed = Result<(FileStamp, Digest32, [UInt8]), Error>

    /// Hashes the files that fit in one block on two threads (each with its own buffer),
    /// by index into `found`; a file that grew past a block is left out (hashed in order).
    private func hashSmallFiles(_ found: [Found]) -> [Int: Hashed] {
        let blockSize = buffers[0].count
        let small = found.indices.filter { !found[$0].isDir && Int(found[$0].st.st_size) < blockSize }
        guard small.count >= 32 else { return [:] }   // not worth two threads
        let slots = UnsafeMutableBufferPointer<Hashed?>.allocate(capacity: small.count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize(); slots.deallocate() }
        nonisolated(unsafe) let out = slots
        nonisolated(unsafe) let bufs = buffers
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            for j in stride(from: t, to: small.count, by: 2) {
                let f = found[small[j]]
                do {
                    if let r = try hashFile(f.absolute, done: 0, total: 0, smallBuffer: bufs[t], large: false) {
                        out[j] = .success(r)
                    }
                } catch {
                    out[j] = .failure(error)
                }
            }
        }
        var results: [Int: Hashed] = [:]
        for (j, i) in small.enumerated() { if let r = out[j] { results[i] = r } }
        return results
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

    /// Hashes one file: SHA-256 of all of it and BLAKE3 of each chunk (see the top of the file).
    public func hashFile(_ path: String, done: UInt64 = 0, total: UInt64 = 0) throws
        -> (FileStamp, Digest32, [UInt8]) {
        try hashFile(path, done: done, total: total, smallBuffer: buffers[0], large: true)!
    }

    /// With `large` false, a file that turns out not to fit in one block gives nil
    /// (the caller hashes it again with `large`); `smallBuffer` takes a small file's bytes.
    /// `deferring`: a file of more than one block gets only its chunk hashes here (and a zero
    /// SHA-256); `deferring` is called with its stamp first, to queue its SHA-256 pass.
    private func hashFile(_ path: String, done: UInt64, total: UInt64, smallBuffer: UnsafeMutableRawBufferPointer,
                          large: Bool, deferring: ((FileStamp) -> Void)? = nil) throws -> (FileStamp, Digest32, [UInt8])? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw IndexError.unreadable(path, errno) }
        defer { close(fd) }
        guard let before = FileStamp.current(fd: fd) else { throw IndexError.unreadable(path, errno) }
        var chunks: [UInt8] = []
        chunks.reserveCapacity(ManifestEntry.chunkCount(size: before.size, chunkSize: chunkSize) * 32)
        let blockSize = smallBuffer.count
        let (size, sha): (UInt64, Digest32)
        if before.size < UInt64(blockSize) {
            // Small: one read (one more byte to see the end), both hashes here.
            var n = try Self.readFully(fd, into: smallBuffer, path: path)
            if n == blockSize {
                var extra: UInt8 = 0
                n += try withUnsafeMutableBytes(of: &extra) { try Self.readFully(fd, into: $0, path: path) }   // it grew: caught below
            }
            let block = UnsafeRawBufferPointer(rebasing: smallBuffer[0..<min(n, blockSize)])
            appendChunkHashes(block, to: &chunks)
            (size, sha) = (UInt64(n), SHA256.hash(block))
        } else {
            guard large else { return nil }
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
            if let deferring {
                deferring(before)
                (size, sha) = (try chunkHashesOnly(fd, path: path, into: smallBuffer, chunks: &chunks, done: done, total: total),
                               Digest32.zero)
            } else {
                (size, sha) = try pipelined(fd, path: path, chunks: &chunks, done: done, total: total)
            }
        }
        guard let after = FileStamp.current(fd: fd), after == before, size == before.size else {
            throw IndexError.changedWhileIndexing(path)
        }
        return (before, sha, chunks)
    }

    private func appendChunkHashes(_ block: UnsafeRawBufferPointer, to chunks: inout [UInt8]) {
        var start = 0
        while start < block.count {
            let end = min(start + chunkSize, block.count)
            chunks += BLAKE3.hash(UnsafeRawBufferPointer(rebasing: block[start..<end])).bytes
            start = end
        }
    }

    /// Hand-off between the reading thread and the SHA-256 thread.
    final class ShaStage: @unchecked Sendable {
        var sha = SHA256()
        /// Bytes in each buffer; written by the reader before `filled`, read after it.
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: 2)
        deinit { lengths.deallocate() }
        let filled = DispatchSemaphore(value: 0)   // a buffer is ready to hash (length 0: stop)
        // A buffer may be refilled. (Made at 0 and signalled twice: libdispatch traps when a
        // semaphore is freed with a value below the one it was created with.)
        let free = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        init() { free.signal(); free.signal() }
    }

    /// Reads and BLAKE3s block k+1 on this thread while another thread carries the
    /// SHA-256 over block k. Returns the bytes read and the SHA-256.
    private func pipelined(_ fd: Int32, path: String, chunks: inout [UInt8], done: UInt64, total: UInt64)
        throws -> (UInt64, Digest32) {
        let stage = ShaStage()
        nonisolated(unsafe) let bufs = buffers
        DispatchQueue.global(qos: .userInitiated).async {
            var k = 0
            while true {
                stage.filled.wait()
                let n = stage.lengths[k & 1]
                if n == 0 { break }
                stage.sha.update(UnsafeRawBufferPointer(rebasing: bufs[k & 1][0..<n]))
                stage.free.signal()
                k += 1
            }
            stage.finished.signal()
        }
        var offset: UInt64 = 0, k = 0
        var failure: Error? = nil
        while true {
            stage.free.wait()
            let n: Int
            do { n = try Self.readFully(fd, into: bufs[k & 1], path: path) } catch { failure = error; n = 0 }
            if n > 0 { appendChunkHashes(UnsafeRawBufferPointer(rebasing: bufs[k & 1][0..<n]), to: &chunks) }
            stage.lengths[k & 1] = n
            stage.filled.signal()
            if n == 0 { break }
            offset += UInt64(n)
            progress?(done + offset, total)
            k += 1
            if n < bufs[0].count {
                stage.free.wait()
                stage.lengths[k & 1] = 0
                stage.filled.signal()
                break
            }
        }
        stage.finished.wait()
        if let failure { throw failure }
        return (offset, stage.sha.finalize())
    }

    /// Reads the file block by block and takes each chunk's BLAKE3; returns the bytes read.
    private func chunkHashesOnly(_ fd: Int32, path: String, into buf: UnsafeMutableRawBufferPointer,
                                 chunks: inout [UInt8], done: UInt64, total: UInt64) throws -> UInt64 {
        var offset: UInt64 = 0
        while true {
            let n = try Self.readFully(fd, into: buf, path: path)
            if n > 0 { appendChunkHashes(UnsafeRawBufferPointer(rebasing: buf[0..<n]), to: &chunks) }
            offset += UInt64(n)
            progress?(done + offset, total)
            if n < buf.count { return offset }
        }
    }

    /// Fills `buf` from `fd` (fewer bytes only at the end of the file); the bytes read.
    static func readFully(_ fd: Int32, into buf: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
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
