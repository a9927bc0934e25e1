import CLMDB
import GigiBase

#if canImport(Glibc)
import Glibc
#endif

/// Every failure LMDB reports, one case per `MDB_*` code, plus system errors
/// (`errno` values LMDB passes through) and misuse caught by this layer.
public enum LMDBError: Error, Equatable, Sendable {
    /// MDB_KEYEXIST: the key/value pair already exists (with no-overwrite flags).
    case keyExists
    /// MDB_NOTFOUND: no matching key or data.
    case notFound
    /// MDB_PAGE_NOTFOUND: a requested page was not found (corruption).
    case pageNotFound
    /// MDB_CORRUPTED: a page has the wrong type (corruption).
    case corrupted
    /// MDB_PANIC: a fatal error; the environment must be closed.
    case panic
    /// MDB_VERSION_MISMATCH: the environment was written by an incompatible LMDB.
    case versionMismatch
    /// MDB_INVALID: the file is not an LMDB file.
    case invalid
    /// MDB_MAP_FULL: the map is full (this layer grows it and retries; seen only at `maxMapSize`).
    case mapFull
    /// MDB_DBS_FULL: more named databases than `maxDatabases`.
    case databasesFull
    /// MDB_READERS_FULL: all reader slots are in use.
    case readersFull
    /// MDB_TLS_FULL: too many thread-local keys (not expected with MDB_NOTLS).
    case tlsFull
    /// MDB_TXN_FULL: the transaction has too many dirty pages.
    case transactionFull
    /// MDB_CURSOR_FULL: cursor stack too deep (corruption).
    case cursorFull
    /// MDB_PAGE_FULL: a page has no more space (internal error).
    case pageFull
    /// MDB_MAP_RESIZED: another process grew the map (this layer adopts it and retries).
    case mapResized
    /// MDB_INCOMPATIBLE: a database was opened with flags that differ from its creation.
    case incompatible
    /// MDB_BAD_RSLOT: a reader slot was misused.
    case badReaderSlot
    /// MDB_BAD_TXN: the transaction must abort (an earlier operation failed in it).
    case badTransaction
    /// MDB_BAD_VALSIZE: a key or a dup-sorted value is empty or longer than 511 bytes.
    case badValueSize
    /// MDB_BAD_DBI: the database handle was closed or changed.
    case badDatabase
    /// A code this binding does not know.
    case unknown(code: Int32)
    /// A system error (errno) from the file system or memory mapping.
    case system(errno: Int32, message: String)
    /// A transaction, cursor or environment was used after it ended.
    case closed

    /// Maps an LMDB return code (non-zero) to an error.
    init(code: Int32) {
        switch code {
        case MDB_KEYEXIST: self = .keyExists
        case MDB_NOTFOUND: self = .notFound
        case MDB_PAGE_NOTFOUND: self = .pageNotFound
        case MDB_CORRUPTED: self = .corrupted
        case MDB_PANIC: self = .panic
        case MDB_VERSION_MISMATCH: self = .versionMismatch
        case MDB_INVALID: self = .invalid
        case MDB_MAP_FULL: self = .mapFull
        case MDB_DBS_FULL: self = .databasesFull
        case MDB_READERS_FULL: self = .readersFull
        case MDB_TLS_FULL: self = .tlsFull
        case MDB_TXN_FULL: self = .transactionFull
        case MDB_CURSOR_FULL: self = .cursorFull
        case MDB_PAGE_FULL: self = .pageFull
        case MDB_MAP_RESIZED: self = .mapResized
        case MDB_INCOMPATIBLE: self = .incompatible
        case MDB_BAD_RSLOT: self = .badReaderSlot
        case MDB_BAD_TXN: self = .badTransaction
        case MDB_BAD_VALSIZE: self = .badValueSize
        case MDB_BAD_DBI: self = .badDatabase
        case let c where c > 0: self = .system(errno: c, message: String(cString: strerror(c)))
        default: self = .unknown(code: code)
        }
    }

    /// Throws for a non-zero LMDB return code.
    @inline(__always)
    static func check(_ rc: Int32) throws(LMDBError) {
        if rc != 0 { throw LMDBError(code: rc) }
    }
}

extension LMDBError: UserFacingError {
    public var message: String {
        switch self {
        case .mapFull, .system(errno: ENOSPC, _):
            return "The Gigi database is full or the disk has no space left; free some disk space and try again."
        case .system(errno: EACCES, _), .system(errno: EPERM, _), .system(errno: EROFS, _):
            return "The Gigi database could not be opened for writing; check the permissions of GIGI_HOME."
        case .readersFull:
            return "Too many processes are reading the Gigi database at once; close some gigi processes and try again."
        case .corrupted, .pageNotFound, .cursorFull, .invalid, .panic:
            return "The Gigi database is damaged (\(detail)); move GIGI_HOME aside and start fresh or restore a backup."
        case .versionMismatch:
            return "The Gigi database was created by an incompatible LMDB version; use the gigi build that created it."
        default:
            return "The Gigi database reported an error (\(detail)); this is probably a bug in gigi."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .mapFull, .system, .readersFull: return .ioError
        case .corrupted, .pageNotFound, .cursorFull, .invalid, .panic, .versionMismatch: return .dataError
        default: return .software
        }
    }

    /// LMDB's own wording of the error.
    public var detail: String {
        switch self {
        case .system(_, let message): return message
        case .closed: return "used after the transaction ended"
        case .unknown(let code): return String(cString: mdb_strerror(code))
        default: return String(cString: mdb_strerror(code))
        }
    }

    /// The LMDB return code for this error (0 for `.closed`).
    public var code: Int32 {
        switch self {
        case .keyExists: return MDB_KEYEXIST
        case .notFound: return MDB_NOTFOUND
        case .pageNotFound: return MDB_PAGE_NOTFOUND
        case .corrupted: return MDB_CORRUPTED
        case .panic: return MDB_PANIC
        case .versionMismatch: return MDB_VERSION_MISMATCH
        case .invalid: return MDB_INVALID
        case .mapFull: return MDB_MAP_FULL
        case .databasesFull: return MDB_DBS_FULL
        case .readersFull: return MDB_READERS_FULL
        case .tlsFull: return MDB_TLS_FULL
        case .transactionFull: return MDB_TXN_FULL
        case .cursorFull: return MDB_CURSOR_FULL
        case .pageFull: return MDB_PAGE_FULL
        case .mapResized: return MDB_MAP_RESIZED
        case .incompatible: return MDB_INCOMPATIBLE
        case .badReaderSlot: return MDB_BAD_RSLOT
        case .badTransaction: return MDB_BAD_TXN
        case .badValueSize: return MDB_BAD_VALSIZE
        case .badDatabase: return MDB_BAD_DBI
        case .unknown(let code): return code
        case .system(let e, _): return e
        case .closed: return 0
        }
    }
}
