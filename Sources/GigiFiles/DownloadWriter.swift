// The fetcher's side on disk: a partial file beside each target, chunks
// written with pwrite after their BLAKE3 was checked, each file's SHA-256
// checked at the end, then mode, mtime and an atomic rename.
//
// Safety: every received path is validated (PathSafety) before anything is
// created; directories are created component by component and any existing
// component that is not a real directory (a symlink, a file) stops the
// download; files are opened with O_NOFOLLOW; an existing target is replaced
// only with `overwrite`. Partial files are named ".gigi-partial-<hash>" so a
// name of 255 bytes still fits, and hidden.
//
// Durability (store rule: data, then fdatasync, then the LMDB commit):
// `sync()` fdatasyncs every partial file written since the last call; the
// caller records chunks as verified only after it returns.
//
// Each file's SHA-256 is computed from the partial file (what is on disk), in
// chunk order: `advanceHashes` can do it during the transfer, on another
// thread, as chunks get verified; `finish` hashes whatever is left.

#if canImport(Glibc)
import Glibc
#endif
import GigiBase
import GigiCrypto
import GigiStore

public enum DownloadError: Error, Equatable, Sendable, UserFacingError {
    case exists(String)
    case notADirectory(String)
    case io(String, Int32)
    case noSpace(needed: UInt64, available: UInt64)
    case verificationFailed(String)
    /// The sender's chunks kept failing their BLAKE3 check (corrupt data or a lying manifest).
    case corruptData(String)
    case peerFailed(String)

    public var message: String {
        switch self {
        case .exists(let p):
            return "\(PathSafety.displayName(p)) already exists: use --overwrite to replace it, or -o to fetch elsewhere."
        case .notADirectory(let p):
            return "\(PathSafety.displayName(p)) is in the way (a file or symlink where a directory must be): move it, or fetch elsewhere with -o."
        case .io(let p, let e):
            return "Cannot write \(PathSafety.displayName(p)) (\(String(cString: strerror(e)))): check the destination."
        case .noSpace(let needed, let available):
            return "Not enough free space: \(needed) bytes needed, \(available) available; free some space or fetch elsewhere with -o."
        case .verificationFailed(let p):
            return "\(PathSafety.displayName(p)) did not match the sender's SHA-256: the data was corrupted; it was not saved. Try again."
        case .corruptData(let why):
            return "The sender sent corrupt data (\(why)); none of it was saved. Try again, or ask the sender to share again."
        case .peerFailed(let why):
            return "The transfer failed: \(why). Run the same command again to resume."
        }
    }
    public var exitCode: GigiExitCode {
        switch self {
        case .exists: return .cannotCreate
        case .notADirectory, .io, .noSpace: return .ioError
        case .verificationFailed, .corruptData: return .dataError
        case .peerFailed: return .unavailable
        }
    }
}

public final class DownloadWriter: @unchecked Sendable {
    public let manifest: Manifest
    public let root: String
    public let map: ChunkMap
    /// Where each top-level name goes (normally root/name; `-o NEWNAME` renames a single one).
    private let rename: [String: String]
    private var fds: [Int: Int32] = [:]
    private var dirty = Set<Int>()
    private let lock = NSLockLike()
    /// SHA-256 progress, files in manifest order: `hashCursor` is the first file not yet
    /// hashed to its end, `hashNext` its next chunk; `digests` holds finished files.
    private var sha = SHA256()
    private var hashCursor = 0
    private var hashNext = 0
    private var digests: [Int: [UInt8]] = [:]
    private let hashLock = NSLockLike()
    private let fileEntries: [Int]

    /// - Parameters: `root` is an existing directory; `rename` maps a top-level
    ///   name to a different name inside root.
    public init(manifest: Manifest, root: String, rename: [String: String] = [:]) throws {
        try manifest.validate()
        for (_, v) in rename { try PathSafety.validate(v) }
        self.manifest = manifest
        self.root = root
        self.map = ChunkMap(manifest)
        self.rename = rename
        self.fileEntries = manifest.entries.indices.filter { manifest.entries[$0].kind == .file }
    }

    deinit { for fd in fds.values { close(fd) } }

    /// The final local path of entry `i`.
    public func target(_ i: Int) -> String {
        let p = manifest.entries[i].path
        let top = p.split(separator: "/", maxSplits: 1)
        if let new = rename[String(top[0])] {
            return root + "/" + new + (top.count > 1 ? "/" + top[1] : "")
        }
        return root + "/" + p
    }

    public func partial(_ i: Int) -> String {
        let t = target(i)
        let slash = t.lastIndex(of: "/")!
        let tag = BLAKE3.hash(Array(manifest.entries[i].path.utf8)).hex.prefix(16)
        return String(t[..<slash]) + "/" + PathSafety.partialPrefix + tag
    }

    /// What identifies this download in the downloads table: the target of the
    /// first top-level name (with root), e.g. "/home/u/Downloads/photos".
    public var destination: String {
        manifest.entries.firstIndex { !$0.path.contains("/") }.map { target($0) } ?? root
    }

    private var relativeTargets: [String] {
        manifest.entries.indices.map { String(target($0).dropFirst(root.count + 1)) }
    }

    /// Checks that nothing would be overwritten (unless `overwrite`), that no
    /// existing component is a symlink or file, and that there is room.
    public func preflight(overwrite: Bool, bytesNeeded: UInt64) throws {
        for (i, rel) in relativeTargets.enumerated() {
            // Every existing ancestor must be a real directory.
            var cur = root
            let parts = rel.split(separator: "/")
            for (k, comp) in parts.enumerated() {
                cur += "/" + comp
                var st = stat()
                guard lstat(cur, &st) == 0 else { break }
                let isLast = k == parts.count - 1
                let kind = st.st_mode & S_IFMT
                if !isLast && kind != S_IFDIR { throw DownloadError.notADirectory(cur) }
                if isLast {
                    if manifest.entries[i].kind == .directory {
                        if kind != S_IFDIR { throw DownloadError.notADirectory(cur) }
                    } else if kind == S_IFDIR || kind == S_IFLNK {
                        throw DownloadError.notADirectory(cur)
                    } else if !overwrite {
                        throw DownloadError.exists(cur)
                    }
                }
            }
        }
        var vfs = statvfs()
        if statvfs(root, &vfs) == 0 {
            let avail = UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize)
            if avail < bytesNeeded { throw DownloadError.noSpace(needed: bytesNeeded, available: avail) }
        }
    }

    /// Creates the directories (mode 0700 until `finish` applies theirs) and opens
    /// every partial file; returns entries whose partial file already existed.
    @discardableResult
    public func open() throws -> Set<Int> {
        var existing = Set<Int>()
        for (i, e) in manifest.entries.enumerated() {
            let t = target(i)
            if e.kind == .directory {
                if mkdir(t, 0o700) != 0 && errno != EEXIST { throw DownloadError.io(t, errno) }
                var st = stat()
                guard lstat(t, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { throw DownloadError.notADirectory(t) }
                continue
            }
            let p = partial(i)
            var fd = Glibc.open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            if fd >= 0 {
                existing.insert(i)
            } else {
                fd = Glibc.open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
                guard fd >= 0 else { throw DownloadError.io(p, errno) }
            }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { close(fd); throw DownloadError.notADirectory(p) }
            if UInt64(st.st_size) != e.size && ftruncate(fd, off_t(e.size)) != 0 {
                close(fd); throw DownloadError.io(p, errno)
            }
            fds[i] = fd
        }
        return existing
    }

    /// Reads chunk `c` (global number) from the partial file, for re-checking after a crash.
    public func readChunk(_ c: Int) -> [UInt8]? {
        guard let (entry, idx) = map.locate(c), let fd = fds[entry] else { return nil }
        let e = manifest.entries[entry]
        return preadAll(fd: fd, length: e.chunkLength(idx, chunkSize: manifest.chunkSize),
                        offset: off_t(idx) * off_t(manifest.chunkSize))
    }

    /// Expected BLAKE3 and length of global chunk `c`.
    public func expected(_ c: Int) -> (hash: Digest32, length: Int)? {
        guard let (entry, idx) = map.locate(c) else { return nil }
        let e = manifest.entries[entry]
        return (e.chunkHash(idx), e.chunkLength(idx, chunkSize: manifest.chunkSize))
    }

    /// Checks `data` against chunk `c`'s BLAKE3 and writes it. Returns false (and writes nothing) on mismatch.
    public func verifyAndWrite(_ c: Int, _ data: UnsafeRawBufferPointer) throws -> Bool {
        guard let (entry, idx) = map.locate(c), let fd = fds[entry] else { return false }
        let e = manifest.entries[entry]
        guard data.count == e.chunkLength(idx, chunkSize: manifest.chunkSize),
              BLAKE3.hash(data) == e.chunkHash(idx) else { return false }
        var done = 0
        let offset = off_t(idx) * off_t(manifest.chunkSize)
        while done < data.count {
            let r = pwrite(fd, data.baseAddress! + done, data.count - done, offset + off_t(done))
            if r < 0 && errno == EINTR { continue }
            guard r > 0 else { throw DownloadError.io(partial(entry), errno) }
            done += r
        }
        _ = lock.withLock { dirty.insert(entry) }
        return true
    }

    /// fdatasync of every partial file written since the last call.
    public func sync() throws {
        let files = lock.withLock { () -> Set<Int> in let d = dirty; dirty = []; return d }
        for i in files where fdatasync(fds[i]!) != 0 { throw DownloadError.io(partial(i), errno) }
    }

    /// Continues the files' SHA-256 over chunks verified in `verified`, in order,
    /// reading them back from the partial files through `scratch` (a multiple of the
    /// chunk size). Returns the bytes hashed. Safe to call from one thread at a time
    /// while chunks are being written.
    @discardableResult
    public func advanceHashes(_ verified: ChunkBitmap, scratch: UnsafeMutableRawBufferPointer) throws -> Int {
        try hashLock.withLock {
            let cs = manifest.chunkSize
            let perRead = max(1, scratch.count / cs)
            var hashed = 0
            while hashCursor < fileEntries.count {
                let i = fileEntries[hashCursor]
                let e = manifest.entries[i]
                let first = map.firstChunk[i]
                while hashNext < e.chunkCount, verified[first + hashNext] {
                    var run = 1
                    while run < perRead, hashNext + run < e.chunkCount, verified[first + hashNext + run] { run += 1 }
                    let offset = UInt64(hashNext) * UInt64(cs)
                    let length = Int(min(UInt64(run * cs), e.size - offset))
                    guard let fd = fds[i], preadFully(fd: fd, into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length]),
                                                      offset: off_t(offset)) else {
                        throw DownloadError.io(partial(i), errno)
                    }
                    sha.update(UnsafeRawBufferPointer(rebasing: scratch[0..<length]))
                    hashed += length
                    hashNext += run
                }
                guard hashNext == e.chunkCount else { break }
                digests[i] = sha.finalize().bytes
                sha = SHA256()
                hashCursor += 1
                hashNext = 0
            }
            return hashed
        }
    }

    /// Verifies each file's SHA-256 (all of them before any is renamed), applies
    /// mode and mtime, makes the data durable, renames into place, then sets
    /// directory modes and mtimes (deepest first). Every chunk must be written.
    public func finish(overwrite: Bool) throws {
        let files = fileEntries.filter { fds[$0] != nil }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 * manifest.chunkSize, alignment: 4096)
        defer { scratch.deallocate() }
        var all = ChunkBitmap(count: map.totalChunks)
        for c in 0..<map.totalChunks { all[c] = true }
        try advanceHashes(all, scratch: scratch)
        for i in files {
            let e = manifest.entries[i]
            guard hashLock.withLock({ digests[i] }) == e.sha256 else {
                close(fds[i]!); fds[i] = nil
                unlink(partial(i))
                throw DownloadError.verificationFailed(e.path)
            }
        }
        for i in files {
            let e = manifest.entries[i], fd = fds[i]!
            _ = fchmod(fd, mode_t(e.mode & 0o777))
            var times = [timespec(tv_sec: time_t(e.mtime), tv_nsec: Int(e.mtimeNanos)),
                         timespec(tv_sec: time_t(e.mtime), tv_nsec: Int(e.mtimeNanos))]
            _ = futimens(fd, &times)
        }
        // Start writeback of every file before waiting for any: one fsync after another
        // then mostly finds its data on the way (many small files: a few fsyncs' time).
        if files.count > 1 { for i in files { _ = posix_fadvise(fds[i]!, 0, 0, POSIX_FADV_DONTNEED) } }
        for i in files where fsync(fds[i]!) != 0 { throw DownloadError.io(partial(i), errno) }
        for i in files {
            let t = target(i)
            if !overwrite {
                // Refuse to replace something that appeared meanwhile.
                guard link(partial(i), t) == 0 else { throw DownloadError.exists(t) }
                unlink(partial(i))
            } else {
                guard Glibc.rename(partial(i), t) == 0 else { throw DownloadError.io(t, errno) }
            }
            close(fds[i]!); fds[i] = nil
        }
        for (i, e) in manifest.entries.enumerated().reversed() where e.kind == .directory {
            let t = target(i)
            _ = chmod(t, mode_t(e.mode & 0o777) | 0o700)
            var times = [timespec(tv_sec: time_t(e.mtime), tv_nsec: Int(e.mtimeNanos)),
                         timespec(tv_sec: time_t(e.mtime), tv_nsec: Int(e.mtimeNanos))]
            _ = utimensat(AT_FDCWD, t, &times, AT_SYMLINK_NOFOLLOW)
        }
        // Make the renames durable.
        var dirs = Set<String>()
        for i in manifest.entries.indices { let t = target(i); dirs.insert(String(t[..<t.lastIndex(of: "/")!])) }
        for d in dirs {
            let fd = Glibc.open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 { _ = fsync(fd); close(fd) }
        }
    }

    /// The SHA-256 of the share as a whole: of the single file, or of the
    /// concatenated per-file hashes in manifest order.
    public var shareSHA256: String {
        let files = manifest.entries.filter { $0.kind == .file }
        if files.count == 1 { return Hex.encode(files[0].sha256) }
        return SHA256.hash(files.flatMap(\.sha256)).hex
    }
}

/// Fills `buf` from `fd` at `offset`; false on an error or a short file.
func preadFully(fd: Int32, into buf: UnsafeMutableRawBufferPointer, offset: off_t) -> Bool {
    var got = 0
    while got < buf.count {
        let r = pread(fd, buf.baseAddress! + got, buf.count - got, offset + off_t(got))
        if r < 0 && errno == EINTR { continue }
        guard r > 0 else { return false }
        got += r
    }
    return true
}

func preadAll(fd: Int32, length: Int, offset: off_t) -> [UInt8]? {
    var data = [UInt8](repeating: 0, count: length)
    let ok = data.withUnsafeMutableBytes { preadFully(fd: fd, into: $0, offset: offset) }
    return ok ? data : nil
}
