// Hashing files with bounded memory on several threads: the whole-file BLAKE3,
// optionally the BLAKE3 of each fixed-size chunk (Gigi's 256 KiB share chunks)
// and the file's SHA-256, all in one pass over the file.
//
// Regular files are mapped a window at a time (4 MiB) and unmapped before the
// next, so resident memory stays near one window whatever the file size; pipes
// and terminals are read into one window-sized buffer. The window is not
// pre-faulted (no MAP_POPULATE): the hashing threads fault its pages in
// themselves, in parallel, rather than one thread mapping them all first.
// When only the whole-file BLAKE3 is asked for, every page is read by one job
// only: the window is then 64 MiB (fewer barriers between the threads) and each
// job drops its pages from the mapping when done (MADV_DONTNEED; they stay in
// the page cache), so resident memory stays near one 1 MiB piece per thread.

import CBLAKE3
import Dispatch
import GigiBase
#if canImport(Glibc)
import Glibc
#endif

/// Why a file could not be hashed.
public struct FileHashError: UserFacingError, Equatable {
    public enum Kind: Sendable, Equatable {
        case notFound, isDirectory, notReadable, readFailed
    }
    public let kind: Kind
    public let path: String
    /// The `errno` of the failed call, 0 when none.
    public let errno: Int32

    public var message: String {
        let path = TerminalSafe.escape(self.path)
        switch kind {
        case .notFound: return "\(path): no such file; check the name and try again."
        case .isDirectory: return "\(path) is a directory; give the files inside it instead."
        case .notReadable: return "\(path) cannot be opened (\(Self.describe(errno))); check its permissions."
        case .readFailed: return "Reading \(path) failed (\(Self.describe(errno))); check the disk and try again."
        }
    }

    /// A missing file or a directory: 66 (no input); a file that exists but
    /// cannot be opened or read: 74 (I/O error).
    public var exitCode: GigiExitCode {
        switch kind {
        case .notFound, .isDirectory: return .noInput
        case .notReadable, .readFailed: return .ioError
        }
    }

    static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}

/// The BLAKE3 of one fixed-size chunk of a file.
public struct FileChunkDigest: Sendable, Equatable {
    public let index: Int
    public let offset: UInt64
    public let length: Int
    public let blake3: Digest32
}

/// Digests of a whole file.
public struct FileDigest: Sendable, Equatable {
    public let size: UInt64
    public let blake3: Digest32
    /// Present when asked for.
    public let sha256: Digest32?
}

/// One pass over a file computing its BLAKE3 and, on request, per-chunk BLAKE3s and SHA-256.
public struct FileHasher: Sendable {
    /// Bytes mapped (or buffered) at a time: the bound on memory used for data.
    public static let windowSize = 4 << 20
    /// The window when only the whole-file BLAKE3 is computed (pages released per job).
    static let blake3OnlyWindowSize = 64 << 20

    /// Threads to use; defaults to the number of online processors.
    public var threads: Int
    /// When set, the size of the chunks reported to `onChunk` (a positive
    /// divisor of `windowSize`, e.g. 256 KiB); the last chunk may be shorter.
    public var chunkSize: Int?
    /// Whether to compute SHA-256 as well.
    public var sha256: Bool

    public init(threads: Int = BLAKE3.defaultThreadCount, chunkSize: Int? = nil, sha256: Bool = false) {
        precondition(chunkSize.map { $0 > 0 && Self.windowSize % $0 == 0 } ?? true,
                     "chunk size must divide \(Self.windowSize)")
        self.threads = Swift.max(1, threads)
        self.chunkSize = chunkSize
        self.sha256 = sha256
    }

    /// Hashes the file at `path`; `onChunk` receives the chunk digests in order.
    public func hash(path: String, onChunk: (FileChunkDigest) -> Void = { _ in }) throws -> FileDigest {
        try path.withCString { try hash(cPath: $0, name: path, onChunk: onChunk) }
    }

    /// Hashes the file at the C path `cPath` (any bytes, e.g. a file name that
    /// is not UTF-8); `name` is used in error messages.
    public func hash(cPath: UnsafePointer<CChar>, name: String,
                     onChunk: (FileChunkDigest) -> Void = { _ in }) throws -> FileDigest {
        let fd = open(cPath, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = Glibc.errno
            throw FileHashError(kind: e == ENOENT || e == ENOTDIR ? .notFound : .notReadable, path: name, errno: e)
        }
        defer { close(fd) }
        return try hash(fileDescriptor: fd, name: name, onChunk: onChunk)
    }

    /// Hashes everything readable from `fd` (a file, pipe or terminal), which is
    /// left open. `name` is used in error messages.
    public func hash(fileDescriptor fd: Int32, name: String,
                     onChunk: (FileChunkDigest) -> Void = { _ in }) throws -> FileDigest {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileHashError(kind: .readFailed, path: name, errno: Glibc.errno) }
        var pass = Pass(options: self)
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            throw FileHashError(kind: .isDirectory, path: name, errno: EISDIR)
        case S_IFREG:
            try pass.mapWindows(fd: fd, size: UInt64(st.st_size), name: name, onChunk: onChunk)
        default:
            try pass.readWindows(fd: fd, name: name, onChunk: onChunk)
        }
        return pass.finish()
    }

    /// The state of one pass over a file.
    struct Pass {
        let options: FileHasher
        var blake3 = BLAKE3()
        var sha = SHA256()
        var size: UInt64 = 0
        var chunkIndex = 0

        init(options: FileHasher) { self.options = options }

        mutating func mapWindows(fd: Int32, size fileSize: UInt64, name: String,
                                 onChunk: (FileChunkDigest) -> Void) throws {
            let releasePages = options.chunkSize == nil && !options.sha256
            let window = releasePages ? FileHasher.blake3OnlyWindowSize : FileHasher.windowSize
            var offset: UInt64 = 0
            while offset < fileSize {
                let length = Int(Swift.min(UInt64(window), fileSize - offset))
                guard let p = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(offset)),
                      p != MAP_FAILED else {
                    throw FileHashError(kind: .readFailed, path: name, errno: Glibc.errno)
                }
                defer { munmap(p, length) }
                process(UnsafeRawBufferPointer(start: p, count: length), releasePages: releasePages, onChunk: onChunk)
                offset += UInt64(length)
            }
            if fileSize == 0 { process(UnsafeRawBufferPointer(start: nil, count: 0), onChunk: onChunk) }
        }

        mutating func readWindows(fd: Int32, name: String, onChunk: (FileChunkDigest) -> Void) throws {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileHasher.windowSize, alignment: 4096)
            defer { buffer.deallocate() }
            var sawAny = false
            while true {
                var filled = 0
                while filled < buffer.count {
                    let n = read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                    if n < 0 {
                        if Glibc.errno == EINTR { continue }
                        throw FileHashError(kind: .readFailed, path: name, errno: Glibc.errno)
                    }
                    if n == 0 { break }
                    filled += n
                }
                if filled > 0 || !sawAny { process(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), onChunk: onChunk) }
                sawAny = true
                if filled < buffer.count { return }
            }
        }

        /// Hashes one window: the whole-file BLAKE3 subtrees, the chunk hashes
        /// and SHA-256 as independent jobs shared by the threads.
        /// With `releasePages` (a mapped window whose bytes only the BLAKE3
        /// jobs read), each job unmaps its pages when done; the window is then
        /// cut into pieces even on one thread, so memory stays bounded.
        mutating func process(_ window: UnsafeRawBufferPointer, releasePages: Bool = false,
                              onChunk: (FileChunkDigest) -> Void) {
            let threads = options.threads
            let b3 = blake3.beginParallelUpdate(window, threads: releasePages ? Swift.max(2, threads) : threads)
            var chunkCount = 0
            if let cs = options.chunkSize {
                chunkCount = (window.count + cs - 1) / cs
                if window.count == 0, size == 0 { chunkCount = 1 }  // an empty file has one empty chunk
            }
            let chunks = ChunkJobs(window: window, chunkSize: options.chunkSize ?? 1, count: chunkCount)
            let shaJob = ShaJob(enabled: options.sha256, sha: sha, window: window)
            // SHA-256 first: it is the longest job and cannot be split.
            let shaJobs = options.sha256 ? 1 : 0
            ParallelJobs.run(count: shaJobs + b3.jobCount + chunkCount, threads: threads) { i in
                if i < shaJobs {
                    shaJob.run()
                } else if i < shaJobs + b3.jobCount {
                    b3.job(i - shaJobs)
                    if releasePages { b3.releasePages(i - shaJobs) }
                } else {
                    chunks.job(i - shaJobs - b3.jobCount)
                }
            }
            blake3.finishParallelUpdate(b3)
            sha = shaJob.result
            for i in 0..<chunkCount {
                let (length, digest) = chunks.result(i)
                onChunk(FileChunkDigest(index: chunkIndex, offset: size + UInt64(i * (options.chunkSize ?? 0)),
                                        length: length, blake3: digest))
                chunkIndex += 1
            }
            chunks.deallocate()
            size += UInt64(window.count)
        }

        func finish() -> FileDigest {
            FileDigest(size: size, blake3: blake3.finalize(), sha256: options.sha256 ? sha.finalize() : nil)
        }
    }
}

extension ParallelUpdate {
    static let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))

    /// Drops the pages wholly inside piece `i` from a file mapping (they stay
    /// in the page cache; touching them again maps them again).
    func releasePages(_ i: Int) {
        let page = Self.pageSize
        let start = UInt(bitPattern: input.baseAddress! + pieces[i].offset)
        let end = start + UInt(pieces[i].chunks * BLAKE3.chunkSize)
        let first = (start + page - 1) & ~(page - 1), last = end & ~(page - 1)
        if last > first { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED) }
    }
}

/// The chunk hashes of one window; job i writes only its own slot.
private struct ChunkJobs: @unchecked Sendable {
    let window: UnsafeRawBufferPointer
    let chunkSize: Int
    let count: Int
    let out: UnsafeMutableRawBufferPointer

    init(window: UnsafeRawBufferPointer, chunkSize: Int, count: Int) {
        self.window = window
        self.chunkSize = chunkSize
        self.count = count
        out = .allocate(byteCount: Swift.max(count, 1) * 32, alignment: 16)
    }

    func range(_ i: Int) -> Range<Int> { (i * chunkSize)..<Swift.min(window.count, (i + 1) * chunkSize) }

    func job(_ i: Int) {
        let digest = BLAKE3.hash(UnsafeRawBufferPointer(rebasing: window[range(i)]))
        digest.withUnsafeBytes(to: UnsafeMutableRawBufferPointer(rebasing: out[(32 * i)..<(32 * i + 32)]))
    }

    func result(_ i: Int) -> (Int, Digest32) {
        (range(i).count, Digest32(pointer: UnsafeRawPointer(out.baseAddress! + 32 * i)))
    }

    func deallocate() { out.deallocate() }
}

/// SHA-256 of one window, run as one job; a class so the job can hand back the state.
private final class ShaJob: @unchecked Sendable {
    let enabled: Bool
    var result: SHA256
    let window: UnsafeRawBufferPointer

    init(enabled: Bool, sha: SHA256, window: UnsafeRawBufferPointer) {
        self.enabled = enabled
        result = sha
        self.window = window
    }

    func run() { if enabled { result.update(window) } }
}

extension BLAKE3 {
    /// The BLAKE3 of a file, read with bounded memory on up to `threads` threads.
    public static func hashFile(path: String, threads: Int = BLAKE3.defaultThreadCount) throws -> Digest32 {
        try FileHasher(threads: threads).hash(path: path).blake3
    }
}
