// The fetcher's side on disk: a partial file beside each target, chunks
// written with pwrite after their BLAKE3 was checked, each file's SHA-256
// checked at the end, then mode, mtime and an atomic rename.
//
// A top-level directory whose target does not exist yet is built whole in a
// hidden staging directory beside it (".gigi-partial-<hash>", its files under
// their own names) and renamed into place at the end: one rename instead of one
// per file, and the tree appears complete or not at all. A directory fetched
// into an existing one (an update, --overwrite) gets a partial file per file.
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
//
// Open files are bounded: a partial file is created when its first chunk
// arrives, and at most `maxOpenFiles` stay open (least recently used closed
// first, never one in use), so a share of 100,000 files needs no more file
// descriptors than one of ten.

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
    private let files: OpenFiles
    private var dirty = Set<Int>()
    private let lock = NSLockLike()
    /// Partial files that exist on disk (found by `open`, or created since).
    private var created = Set<Int>()
    /// SHA-256 progress, files in manifest order: `hashCursor` is the first file not yet
    /// hashed to its end, `hashNext` its next chunk; `digests` holds finished files.
    private var sha = SHA256()
    private var hashCursor = 0
    private var hashNext = 0
    private var digests: [Int: [UInt8]] = [:]    // under digestLock
    private let hashLock = NSLockLike()
    private let digestLock = NSLockLike()
    /// Files of one chunk whose digest, mode and mtime were done as the chunk was
    /// written (under `lock`): `finish` only renames them.
    private var stamped = Set<Int>()
    private let fileEntries: [Int]
    /// Digests that came after the manifest (`expectDigests`), by entry; under digestLock.
    private var expectedDigests: [Int: [UInt8]] = [:]

    /// - Parameters: `root` is an existing directory; `rename` maps a top-level
    ///   name to a different name inside root.
    public init(manifest: Manifest, root: String, rename: [String: String] = [:]) throws {
        self.parentEntry = try manifest.parentDirectories()
        for (_, v) in rename { try PathSafety.validate(v) }
        self.manifest = manifest
        self.root = root
        self.map = ChunkMap(manifest)
        self.rename = rename
        self.fileEntries = manifest.entries.indices.filter { manifest.entries[$0].kind == .file }
        self.files = OpenFiles(limit: Self.maxOpenFiles)
        var top = [Int](repeating: 0, count: manifest.entries.count)
        for i in manifest.entries.indices { top[i] = parentEntry[i].map { top[$0] } ?? i }
        self.topEntry = top
        var staging: [Int: String] = [:]
        for (i, e) in manifest.entries.enumerated() where parentEntry[i] == nil && e.kind == .directory {
            var st = stat()
            let t = Self.targetPath(manifest, root: root, rename: rename, i)
            if lstat(t, &st) != 0 && errno == ENOENT {
                staging[i] = Self.hidden(beside: t, key: e.path + "/")
            }
        }
        self.staging = staging
    }

    /// The top-level entry each entry is under (itself at the top).
    private let topEntry: [Int]
    /// Top-level directories built in a staging directory: entry → staging path.
    private let staging: [Int: String]

    /// The directory entry each entry is in (nil at the top), listed before it.
    private let parentEntry: [Int?]

    /// Partial files kept open at once.
    public static let maxOpenFiles = 64

    /// The final local path of entry `i`.
    public func target(_ i: Int) -> String { Self.targetPath(manifest, root: root, rename: rename, i) }

    private static func targetPath(_ manifest: Manifest, root: String, rename: [String: String], _ i: Int) -> String {
        let p = manifest.entries[i].path
        if rename.isEmpty { return root + "/" + p }
        let top = p.split(separator: "/", maxSplits: 1)
        if let new = rename[String(top[0])] {
            return root + "/" + new + (top.count > 1 ? "/" + top[1] : "")
        }
        return root + "/" + p
    }

    /// The path beside `target` named ".gigi-partial-" and 16 hex digits of the BLAKE3 of
    /// `key`: hidden, and short enough beside any name of 255 bytes.
    private static func hidden(beside target: String, key: String) -> String {
        var key = key
        let tag = key.withUTF8 { BLAKE3.hash(UnsafeRawBufferPointer($0)) }
        return String(target[..<target.utf8.lastIndex(of: UInt8(ascii: "/"))!]) + "/" + PathSafety.partialPrefix
            + Hex.encode(tag.bytes.prefix(8))
    }

    /// Where entry `i` is while the download runs: inside its top's staging directory
    /// under its own name, else (a file) a partial file beside its target, or (a
    /// directory) the target itself.
    public func partial(_ i: Int) -> String {
        if let s = staging[topEntry[i]] {
            guard topEntry[i] != i else { return s }
            let p = manifest.entries[i].path
            return s + String(p[p.utf8.firstIndex(of: UInt8(ascii: "/"))!...])
        }
        let t = target(i)
        guard manifest.entries[i].kind == .file else { return t }
        return Self.hidden(beside: t, key: manifest.entries[i].path)
    }

    /// Whether entry `i` is built in a staging directory (renamed into place with its top).
    public func isStaged(_ i: Int) -> Bool { staging[topEntry[i]] != nil }

    /// What identifies this download in the downloads table: the target of the
    /// first top-level name (with root), e.g. "/home/u/Downloads/photos".
    public var destination: String {
        manifest.entries.firstIndex { !$0.path.utf8.contains(UInt8(ascii: "/")) }.map { target($0) } ?? root
    }

    /// Checks that nothing would be overwritten (unless `overwrite`), that no
    /// existing component is a symlink or file, and that there is room.
    public func preflight(overwrite: Bool, bytesNeeded: UInt64) throws {
        // Every ancestor of an entry is itself a directory entry listed before it (the
        // manifest's rule), so one lstat per entry checks every existing component: a
        // symlink or file where a directory goes stops at that directory's own entry,
        // before any lstat could pass through it.
        var missing = Set<Int>()   // directory entries that do not exist: nothing below them does
        for (i, e) in manifest.entries.enumerated() {
            if let parent = parentEntry[i], missing.contains(parent) {
                if e.kind == .directory { missing.insert(i) }
                continue
            }
            let cur = target(i)
            var st = stat()
            guard lstat(cur, &st) == 0 else {
                if e.kind == .directory { missing.insert(i) }
                continue
            }
            let kind = st.st_mode & S_IFMT
            if e.kind == .directory {
                if kind != S_IFDIR { throw DownloadError.notADirectory(cur) }
            } else if kind == S_IFDIR || kind == S_IFLNK {
                throw DownloadError.notADirectory(cur)
            } else if !overwrite {
                throw DownloadError.exists(cur)
            }
        }
        var vfs = statvfs()
        if statvfs(root, &vfs) == 0 {
            let avail = UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize)
            if avail < bytesNeeded { throw DownloadError.noSpace(needed: bytesNeeded, available: avail) }
        }
    }

    /// Creates the directories (mode 0700 until `finish` applies theirs) and finds the
    /// partial files left by an earlier run (returned; cut to size if longer). Partial
    /// files are created as their first chunk arrives.
    @discardableResult
    public func open() throws -> Set<Int> {
        var existing = Set<Int>()
        var fresh = Set<Int>()   // directories made by this call: no partial file is in one yet
        for (i, e) in manifest.entries.enumerated() {
            if e.kind == .directory {
                let t = partial(i)
                if mkdir(t, 0o700) == 0 {
                    fresh.insert(i)
                    continue
                }
                if errno != EEXIST { throw DownloadError.io(t, errno) }
                var st = stat()
                guard lstat(t, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { throw DownloadError.notADirectory(t) }
                continue
            }
            if let parent = parentEntry[i], fresh.contains(parent) { continue }
            let p = partial(i)
            var st = stat()
            guard lstat(p, &st) == 0 else {
                if errno == ENOENT { continue }
                throw DownloadError.io(p, errno)
            }
            guard st.st_mode & S_IFMT == S_IFREG else { throw DownloadError.notADirectory(p) }
            existing.insert(i)
            lock.withLock { _ = created.insert(i) }
            if UInt64(st.st_size) > e.size {
                let fd = try files.acquire(i, path: p, create: false)
                defer { files.release(i) }
                if ftruncate(fd, off_t(e.size)) != 0 { throw DownloadError.io(p, errno) }
            }
        }
        return existing
    }

    /// The open descriptor of entry `i`'s partial file for the duration of `body`
    /// (created first if `create` and it does not exist yet).
    private func withFile<T>(_ i: Int, create: Bool, _ body: (Int32) throws -> T) throws -> T {
        let exists = lock.withLock { created.contains(i) }
        if !exists && !create { throw DownloadError.io(partial(i), ENOENT) }
        let fd = try files.acquire(i, path: partial(i), create: !exists)
        defer { files.release(i) }
        if !exists { lock.withLock { _ = created.insert(i) } }
        return try body(fd)
    }

    /// Reads chunk `c` (global number) from the partial file, for re-checking after a crash.
    public func readChunk(_ c: Int) -> [UInt8]? {
        guard let (entry, idx) = map.locate(c) else { return nil }
        let e = manifest.entries[entry]
        return try? withFile(entry, create: false) { fd in
            preadAll(fd: fd, length: e.chunkLength(idx, chunkSize: manifest.chunkSize),
                     offset: off_t(idx) * off_t(manifest.chunkSize))
        } ?? nil
    }

    /// Whether global chunk `c` is all of its file.
    public func isWholeFile(chunk c: Int) -> Bool {
        guard let (entry, _) = map.locate(c) else { return false }
        return manifest.entries[entry].chunkCount == 1
    }

    /// Expected BLAKE3 and length of global chunk `c`.
    public func expected(_ c: Int) -> (hash: Digest32, length: Int)? {
        guard let (entry, idx) = map.locate(c) else { return nil }
        let e = manifest.entries[entry]
        return (e.chunkHash(idx), e.chunkLength(idx, chunkSize: manifest.chunkSize))
    }

    /// Checks `data` against chunk `c`'s BLAKE3 and writes it. Returns false (and writes nothing) on mismatch.
    public func verifyAndWrite(_ c: Int, _ data: UnsafeRawBufferPointer) throws -> Bool {
        guard let (entry, idx) = map.locate(c) else { return false }
        let e = manifest.entries[entry]
        guard data.count == e.chunkLength(idx, chunkSize: manifest.chunkSize),
              BLAKE3.hash(data) == e.chunkHash(idx) else { return false }
        let offset = off_t(idx) * off_t(manifest.chunkSize)
        let single = e.chunkCount == 1
        try withFile(entry, create: true) { fd in
            var done = 0
            while done < data.count {
                let r = pwrite(fd, data.baseAddress! + done, data.count - done, offset + off_t(done))
                if r < 0 && errno == EINTR { continue }
                guard r > 0 else { throw DownloadError.io(partial(entry), errno) }
                done += r
            }
            // A file of one chunk is complete now: its SHA-256, mode and mtime need not
            // wait for the hasher or for `finish` (which then only renames it).
            if single {
                let digest = SHA256.hash(data).bytes
                digestLock.withLock { digests[entry] = digest }
                Self.stamp(fd, e)
            }
        }
        if single {
            files.close(entry)
            lock.withLock { _ = stamped.insert(entry) }
        } else {
            hashIfDue(entry: entry, chunk: idx, data)
        }
        _ = lock.withLock { dirty.insert(entry) }
        return true
    }

    /// Carries the file's SHA-256 over a chunk just written if it is the next one due
    /// and the hasher is not busy (else the hasher reads it back later): chunks that
    /// arrive in order are hashed from memory.
    private func hashIfDue(entry: Int, chunk idx: Int, _ data: UnsafeRawBufferPointer) {
        hashLock.withLockIfFree {
            guard hashCursor < fileEntries.count, fileEntries[hashCursor] == entry, hashNext == idx else { return }
            sha.update(data)
            hashNext += 1
            if hashNext == manifest.entries[entry].chunkCount { finishDigest(entry) }
        }
    }

    /// The current file's SHA-256 is complete (under hashLock): record it, move on.
    private func finishDigest(_ i: Int) {
        let d = sha.finalize().bytes
        digestLock.withLock { digests[i] = d }
        sha = SHA256()
        hashCursor += 1
        hashNext = 0
    }

    private static func stamp(_ fd: Int32, _ e: ManifestEntry) {
        _ = fchmod(fd, mode_t(e.mode & 0o777))
        var times = Self.times(e)
        _ = futimens(fd, &times)
    }

    /// Access and modification time for futimens/utimensat: the entry's mtime.
    private static func times(_ e: ManifestEntry) -> [timespec] {
        let t = timespec(tv_sec: time_t(e.mtime), tv_nsec: Int(e.mtimeNanos))
        return [t, t]
    }

    /// fdatasync of every partial file written since the last call.
    public func sync() throws {
        let written = lock.withLock { () -> Set<Int> in let d = dirty; dirty = []; return d }
        for i in written.sorted() {
            try withFile(i, create: false) { fd in
                if fdatasync(fd) != 0 { throw DownloadError.io(partial(i), errno) }
            }
        }
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
                if hashNext == 0, digestLock.withLock({ digests[i] != nil }) {
                    hashCursor += 1   // a file of one chunk, hashed as it was written
                    continue
                }
                while hashNext < e.chunkCount, verified[first + hashNext] {
                    var run = 1
                    while run < perRead, hashNext + run < e.chunkCount, verified[first + hashNext + run] { run += 1 }
                    let offset = UInt64(hashNext) * UInt64(cs)
                    let length = Int(min(UInt64(run * cs), e.size - offset))
                    try withFile(i, create: false) { fd in
                        guard preadFully(fd: fd, into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<length]),
                                         offset: off_t(offset)) else { throw DownloadError.io(partial(i), errno) }
                    }
                    sha.update(UnsafeRawBufferPointer(rebasing: scratch[0..<length]))
                    hashed += length
                    hashNext += run
                }
                guard hashNext == e.chunkCount else { break }
                finishDigest(i)
            }
            return hashed
        }
    }

    /// Verifies each file's SHA-256 (all of them before any is renamed), applies
    /// mode and mtime, renames into place, then sets directory modes and mtimes
    /// (deepest first). Every chunk must be written. `durable`: every file is
    /// fsynced before its rename, and the directories after; otherwise only a file
    /// that replaces an existing one is (a crash then leaves the old version or the
    /// new, never a file whose data the disk had not received yet).
    public func finish(overwrite: Bool, durable: Bool = true) throws {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 * manifest.chunkSize, alignment: 4096)
        defer { scratch.deallocate() }
        var all = ChunkBitmap(count: map.totalChunks)
        for c in 0..<map.totalChunks { all[c] = true }
        try advanceHashes(all, scratch: scratch)
        for i in fileEntries {
            let e = manifest.entries[i]
            guard digestLock.withLock({ digests[i] == (expectedDigests[i] ?? e.sha256) }) else {
                files.close(i)
                unlink(partial(i))
                throw DownloadError.verificationFailed(e.path)
            }
        }
        // Without `overwrite` no file can replace another (RENAME_NOREPLACE refuses).
        let toSync = durable ? fileEntries : overwrite ? fileEntries.filter { access(target($0), F_OK) == 0 } : []
        // Start writeback of every file before waiting for any: one fsync after another
        // then mostly finds its data on the way (many small files: a few fsyncs' time).
        if toSync.count > 1 {
            for i in toSync { try withFile(i, create: true) { _ = posix_fadvise($0, 0, 0, POSIX_FADV_DONTNEED) } }
        }
        let syncing = Set(toSync)
        let done = lock.withLock { stamped }
        for i in fileEntries {
            let e = manifest.entries[i]
            if !done.contains(i) || syncing.contains(i) {
                try withFile(i, create: true) { fd in
                    if !done.contains(i) { Self.stamp(fd, e) }
                    if syncing.contains(i) && fsync(fd) != 0 { throw DownloadError.io(partial(i), errno) }
                }
            }
            files.close(i)
            if !isStaged(i) { try place(i, overwrite: overwrite) }
        }
        for top in staging.keys.sorted() { try placeTree(top) }
        for (i, e) in manifest.entries.enumerated().reversed() where e.kind == .directory {
            let t = target(i)
            _ = chmod(t, mode_t(e.mode & 0o777) | 0o700)
            var times = Self.times(e)
            _ = utimensat(AT_FDCWD, t, &times, AT_SYMLINK_NOFOLLOW)
        }
        // Make the renames durable.
        guard durable || !toSync.isEmpty else { return }
        var dirs = Set<String>()
        for i in manifest.entries.indices { let t = target(i); dirs.insert(String(t[..<t.lastIndex(of: "/")!])) }
        for d in dirs {
            let fd = Glibc.open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 { _ = fsync(fd); close(fd) }
        }
    }

    /// Renames entry `i`'s partial file to its target; without `overwrite`, refuses to
    /// replace something that appeared meanwhile (atomically: RENAME_NOREPLACE, or
    /// link and unlink where the file system lacks it).
    private func place(_ i: Int, overwrite: Bool) throws {
        let p = partial(i), t = target(i)
        if overwrite {
            guard Glibc.rename(p, t) == 0 else { throw DownloadError.io(t, errno) }
            return
        }
        if let renameat2 = Self.renameat2, renameat2(AT_FDCWD, p, AT_FDCWD, t, 1 /* RENAME_NOREPLACE */) == 0 { return }
        guard Self.renameat2 == nil || errno == EINVAL || errno == ENOSYS else {
            throw errno == EEXIST ? DownloadError.exists(t) : DownloadError.io(t, errno)
        }
        guard link(p, t) == 0 else { throw errno == EEXIST ? DownloadError.exists(t) : DownloadError.io(t, errno) }
        unlink(p)
    }

    /// Renames a staged top-level directory into place. Never over anything: its target
    /// did not exist when the download began, and one that appeared since is kept.
    private func placeTree(_ top: Int) throws {
        let s = partial(top), t = target(top)
        if let renameat2 = Self.renameat2, renameat2(AT_FDCWD, s, AT_FDCWD, t, 1 /* RENAME_NOREPLACE */) == 0 { return }
        guard Self.renameat2 == nil || errno == EINVAL || errno == ENOSYS else {
            throw errno == EEXIST ? DownloadError.exists(t) : DownloadError.io(t, errno)
        }
        // No RENAME_NOREPLACE on this file system: check, then rename (which would
        // replace only an empty directory).
        var st = stat()
        guard lstat(t, &st) != 0 && errno == ENOENT else { throw DownloadError.exists(t) }
        guard Glibc.rename(s, t) == 0 else { throw DownloadError.io(t, errno) }
    }

    /// Deletes what an unfinished download left (`gigi downloads --discard`): the partial
    /// files, then the staging directories (deepest first; one holding anything else is kept).
    public func removePartials() {
        for i in fileEntries { unlink(partial(i)) }
        for (i, e) in manifest.entries.enumerated().reversed() where e.kind == .directory && isStaged(i) {
            rmdir(partial(i))
        }
    }

    /// glibc's renameat2 (2.28+), looked up at run time: the Glibc module leaves out
    /// declarations that need _GNU_SOURCE.
    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private static let renameat2: RenameAt2? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2")
        .map { unsafeBitCast($0, to: RenameAt2.self) }

    /// The files' SHA-256 digests when the manifest came with them zeroed (they followed it):
    /// 32 bytes per file, in entry order. `finish` checks the files against these.
    public func expectDigests(_ concatenated: [UInt8]) {
        digestLock.withLock {
            for (k, i) in fileEntries.enumerated() where 32 * (k + 1) <= concatenated.count {
                expectedDigests[i] = Array(concatenated[32 * k..<32 * (k + 1)])
            }
        }
    }

    /// The SHA-256 of the share as a whole: of the single file, or of the
    /// concatenated per-file hashes in manifest order.
    public var shareSHA256: String {
        let sums = digestLock.withLock { fileEntries.map { expectedDigests[$0] ?? manifest.entries[$0].sha256 } }
        if sums.count == 1 { return Hex.encode(sums[0]) }
        return SHA256.hash(sums.flatMap { $0 }).hex
    }
}

/// Open files by entry index, at most `limit` at once: a descriptor is leased for
/// each use and only an unleased one is closed to make room. (A download's partial
/// files; a share's sources, read-only.)
final class OpenFiles: @unchecked Sendable {
    private struct Slot { var fd: Int32; var users: Int; var lastUse: UInt64 }
    private let lock = NSLockLike()
    private var slots: [Int: Slot] = [:]
    private var clock: UInt64 = 0
    private let limit: Int
    private let readOnly: Bool

    init(limit: Int, readOnly: Bool = false) {
        self.limit = max(1, limit)
        self.readOnly = readOnly
    }

    deinit { for s in slots.values { Glibc.close(s.fd) } }

    /// A descriptor for entry `i` (opened, or created with mode 0600, as needed); pair with `release`.
    func acquire(_ i: Int, path: @autoclosure () -> String, create: Bool) throws -> Int32 {
        if let fd = lock.withLock({ () -> Int32? in
            guard var s = slots[i] else { return nil }
            clock += 1
            s.users += 1
            s.lastUse = clock
            slots[i] = s
            return s.fd
        }) { return fd }
        let path = path()
        let flags = (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW
        // A new file made here is a regular file: only one that was there needs checking.
        var fd = create && !readOnly ? Glibc.open(path, flags | O_CREAT | O_EXCL, 0o600) : -1
        if fd < 0 {
            fd = Glibc.open(path, flags | (create && !readOnly ? O_CREAT : 0), 0o600)
            guard fd >= 0 else { throw DownloadError.io(path, errno) }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                Glibc.close(fd)
                throw readOnly ? DownloadError.io(path, EINVAL) : DownloadError.notADirectory(path)
            }
        }
        var surplus: Int32? = nil
        let result: Int32 = lock.withLock {
            clock += 1
            if var s = slots[i] {
                // Another thread opened it meanwhile: use that one.
                s.users += 1
                s.lastUse = clock
                slots[i] = s
                surplus = fd
                return s.fd
            }
            slots[i] = Slot(fd: fd, users: 1, lastUse: clock)
            return fd
        }
        if let surplus { Glibc.close(surplus) }
        return result
    }

    func release(_ i: Int) {
        var toClose: [Int32] = []
        lock.withLock {
            if var s = slots[i] { s.users -= 1; slots[i] = s }
            while slots.count > limit {
                guard let victim = slots.filter({ $0.value.users == 0 }).min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                toClose.append(victim.value.fd)
                slots[victim.key] = nil
            }
        }
        for fd in toClose { Glibc.close(fd) }
    }

    /// Closes entry `i`'s descriptor if it is open and unleased.
    func close(_ i: Int) {
        let fd: Int32? = lock.withLock {
            guard let s = slots[i], s.users == 0 else { return nil }
            slots[i] = nil
            return s.fd
        }
        if let fd { Glibc.close(fd) }
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
