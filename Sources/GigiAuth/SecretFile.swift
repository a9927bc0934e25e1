// Crash-safe writes of small files that hold secrets (the keystore, the node
// identity key): write a temporary file of mode 0600 in the same directory,
// fsync it, rename it over the target, fsync the directory. A reader sees
// either the old file or the new one, never a mix, even after a power cut.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GigiBase
import GigiCrypto

/// Errors from reading or writing local files (exit code `ioError`).
public struct LocalFileError: UserFacingError, Equatable {
    public let message: String
    public var exitCode: GigiExitCode { .ioError }

    init(_ action: String, _ path: String, errno code: Int32) {
        message = "Could not \(action) \(path): \(String(cString: strerror(code)))."
    }

    init(message: String) { self.message = message }
}

enum SecretFile {
    /// Writes `bytes` to `path` atomically with `mode` (default 0600),
    /// creating the parent directory (mode 0700) if needed.
    static func write(_ bytes: UnsafeRawBufferPointer, to path: String, mode: mode_t = 0o600) throws {
        let dir = directory(of: path)
        try createDirectory(dir)
        let temp = dir + "/." + baseName(of: path) + ".tmp-" + Hex.encode(SystemRandom.bytes(6))
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LocalFileError("create", temp, errno: errno) }
        var ok = false
        defer {
            if !ok { unlink(temp) }
        }
        try fill(fd, with: bytes, mode: mode, name: temp)
        guard rename(temp, path) == 0 else { throw LocalFileError("replace", path, errno: errno) }
        ok = true
        syncDirectory(dir)
    }

    /// Writes all of `bytes`, sets `mode` (the umask does not apply), fsyncs, closes.
    private static func fill(_ fd: Int32, with bytes: UnsafeRawBufferPointer, mode: mode_t, name: String) throws {
        defer { close(fd) }
        guard fchmod(fd, mode) == 0 else { throw LocalFileError("set the mode of", name, errno: errno) }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw LocalFileError("write", name, errno: errno)
            }
            offset += n
        }
        guard fsync(fd) == 0 else { throw LocalFileError("flush", name, errno: errno) }
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        try bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws in try write(b, to: path, mode: mode) }
    }

    /// Reads a whole file of at most `maxSize` bytes; nil if it does not exist.
    static func read(_ path: String, maxSize: Int) throws -> SecureBytes? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw LocalFileError("open", path, errno: errno)
        }
        defer { close(fd) }
        let buffer = SecureBytes(zeroes: maxSize + 1)
        var total = 0
        let failure: Int32? = buffer.withUnsafeMutableBytes { b in
            while total < b.count {
                let n = Glibc.read(fd, b.baseAddress! + total, b.count - total)
                if n < 0 { if errno == EINTR { continue }; return errno }
                if n == 0 { break }
                total += n
            }
            return nil
        }
        if let failure { throw LocalFileError("read", path, errno: failure) }
        guard total <= maxSize else {
            throw LocalFileError(message: "\(path) is larger than \(maxSize) bytes; it is not a Gigi file.")
        }
        return buffer.withUnsafeBytes { SecureBytes($0[0..<total]) }
    }

    /// Removes `path` (no error if it is already gone) and syncs its directory.
    static func remove(_ path: String) throws {
        if unlink(path) != 0, errno != ENOENT { throw LocalFileError("remove", path, errno: errno) }
        syncDirectory(directory(of: path))
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// The permission bits of `path`, or nil if it does not exist.
    static func mode(of path: String) -> mode_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
    }

    /// mkdir -p with mode 0700 for the directories it creates.
    static func createDirectory(_ dir: String) throws {
        if dir.isEmpty || exists(dir) { return }
        let parent = directory(of: dir)
        if parent != dir { try createDirectory(parent) }
        if mkdir(dir, 0o700) != 0, errno != EEXIST { throw LocalFileError("create the directory", dir, errno: errno) }
    }

    private static func syncDirectory(_ dir: String) {
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = String(path[..<slash])
        return d.isEmpty ? "/" : d
    }

    private static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
