import GigiBase
import GigiCBOR
import GigiCrypto

/// A type usable as a table key. The byte form must sort the way the keys should be
/// scanned (LMDB compares keys bytewise), and be 1...511 bytes long.
public protocol StoreKey {
    /// Calls `body` with the key's bytes.
    func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// Rebuilds a key from its bytes.
    init(keyBytes: UnsafeRawBufferPointer) throws
}

/// A key type whose `<` agrees with the bytewise order of its key bytes (LMDB's order), so a
/// batch of keys can be sorted as values and then looked up in B-tree order
/// (`StoreMultiTable.firstValues(for:in:)`). `Digest32` and `UInt64` (big-endian) qualify.
public protocol StoreOrderedKey: StoreKey, Comparable {
    /// A number whose order agrees with `<` wherever two keys' prefixes differ (their first
    /// 8 bytes, big-endian): batches sort 16-byte (prefix, index) pairs, comparing whole keys
    /// only on equal prefixes.
    var orderPrefix: UInt64 { get }
}

/// A type storable as a table value.
public protocol StoreValue {
    /// The stored bytes.
    func storeEncoded() throws -> [UInt8]
    /// Calls `body` with the stored bytes. The default encodes with `storeEncoded()`; small
    /// fixed-size values on hot paths (chunk locations, digests) override it to encode into
    /// a stack buffer, so a put allocates nothing.
    func withStoreBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    /// Rebuilds a value from stored bytes (which point into the map: copy what you keep).
    static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> Self
}

extension StoreValue {
    public func withStoreBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try storeEncoded().withUnsafeBytes(body)
    }
}

/// A record stored as one version byte followed by its CBOR encoding (a map with the
/// record's coding keys). Version rules:
/// - adding an optional field needs no new version (old readers ignore unknown keys,
///   new readers see `nil` in old records);
/// - any other change bumps `recordVersion` and implements `migrate(from:_:)`, which
///   receives older records as a `CBOR` tree; records are upgraded when read and
///   rewritten in the new version the next time they are written.
public protocol StoreRecord: StoreValue, Codable {
    /// The version written by this build (1...255).
    static var recordVersion: UInt8 { get }
    /// Builds a current record from an older version's CBOR.
    static func migrate(from version: UInt8, _ item: CBOR) throws -> Self
}

extension StoreRecord {
    public static var recordVersion: UInt8 { 1 }

    public static func migrate(from version: UInt8, _ item: CBOR) throws -> Self {
        throw StoreError.unsupportedRecordVersion(type: "\(Self.self)", version: version)
    }

    public func storeEncoded() throws -> [UInt8] {
        [Self.recordVersion] + (try CBOREncoder().encode(self))
    }

    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> Self {
        try storeDecoded(bytes, fastPath: { _ in nil })
    }

    /// The decoding above, with a hand-written reader tried first on a current-version
    /// record's CBOR (nil from it: the Codable decoder decides, with its errors).
    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer, fastPath: (CBOR) -> Self?) throws -> Self {
        guard let version = bytes.first else { throw StoreError.corruptRecord(type: "\(Self.self)", reason: "empty value") }
        let body = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
        let item: CBOR
        do {
            item = try CBOR.decode(body)
        } catch {
            throw StoreError.corruptRecord(type: "\(Self.self)", reason: "\(error)")
        }
        if version == recordVersion {
            if let record = fastPath(item) { return record }
            do {
                return try CBORDecoder().decode(Self.self, from: item)
            } catch {
                throw StoreError.corruptRecord(type: "\(Self.self)", reason: "\(error)")
            }
        }
        if version > recordVersion {
            throw StoreError.unsupportedRecordVersion(type: "\(Self.self)", version: version)
        }
        return try migrate(from: version, item)
    }
}

/// Errors of the typed store (LMDB's own errors arrive as `LMDBError`).
public enum StoreError: Error, Equatable, Sendable {
    /// A stored value could not be decoded.
    case corruptRecord(type: String, reason: String)
    /// A record was written by a newer (or unknown) version of gigi.
    case unsupportedRecordVersion(type: String, version: UInt8)
    /// A key has the wrong length or form.
    case invalidKey(type: String)
    /// The environment's schema is newer than this build understands.
    case schemaTooNew(found: UInt32, supported: UInt32)
    /// A key is longer than LMDB allows (511 bytes).
    case keyTooLong(length: Int)
}

extension StoreError: UserFacingError {
    public var message: String {
        switch self {
        case .corruptRecord(let type, let reason):
            return "A \(type) record in the Gigi database is damaged (\(reason)); remove it or restore GIGI_HOME from a backup."
        case .unsupportedRecordVersion(let type, let version):
            return "A \(type) record was written by a newer gigi (record version \(version)); upgrade gigi."
        case .invalidKey(let type):
            return "A \(type) key in the Gigi database is malformed; this is probably a bug in gigi."
        case .schemaTooNew(let found, let supported):
            return "The Gigi database uses schema \(found) but this gigi supports up to \(supported); upgrade gigi."
        case .keyTooLong(let length):
            return "A database key of \(length) bytes is longer than the 511-byte limit; use a shorter name."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .corruptRecord, .invalidKey: return .dataError
        case .unsupportedRecordVersion, .schemaTooNew: return .software
        case .keyTooLong: return .usage
        }
    }
}

// MARK: - Key types

extension String: StoreKey {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var s = self
        return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    public init(keyBytes: UnsafeRawBufferPointer) throws {
        guard let s = String(validating: keyBytes, as: UTF8.self) else { throw StoreError.invalidKey(type: "String") }
        self = s
    }
}

extension Array: StoreKey where Element == UInt8 {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(body)
    }

    public init(keyBytes: UnsafeRawBufferPointer) throws { self = Array(keyBytes) }
}

/// Big-endian, so numeric order is key order.
extension UInt64: StoreOrderedKey {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: bigEndian, body)
    }

    public init(keyBytes: UnsafeRawBufferPointer) throws {
        guard keyBytes.count == 8 else { throw StoreError.invalidKey(type: "UInt64") }
        self = UInt64(bigEndian: keyBytes.loadUnaligned(as: UInt64.self))
    }

    public var orderPrefix: UInt64 { self }
}

/// The 32 digest bytes.
extension Digest32: StoreOrderedKey {
    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var words = (a.bigEndian, b.bigEndian, c.bigEndian, d.bigEndian)
        return try Swift.withUnsafeBytes(of: &words) { try body($0) }
    }

    public init(keyBytes: UnsafeRawBufferPointer) throws {
        guard keyBytes.count == 32, let base = keyBytes.baseAddress else { throw StoreError.invalidKey(type: "Digest32") }
        self.init(pointer: base)
    }

    public var orderPrefix: UInt64 { a }
}

// MARK: - Plain value types

/// Raw bytes, stored as they are (e.g. manifest bytes, which carry their own version).
extension Array: StoreValue where Element == UInt8 {
    public func storeEncoded() throws -> [UInt8] { self }
    public func withStoreBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withUnsafeBytes(body)
    }
    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] { Array(bytes) }
}

/// Any CBOR item (settings), stored as its deterministic encoding.
extension CBOR: StoreValue {
    public func storeEncoded() throws -> [UInt8] { encoded() }
    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> CBOR {
        do {
            return try CBOR.decode(bytes)
        } catch {
            throw StoreError.corruptRecord(type: "CBOR", reason: "\(error)")
        }
    }
}

/// Big-endian 8 bytes.
extension UInt64: StoreValue {
    public func storeEncoded() throws -> [UInt8] { Swift.withUnsafeBytes(of: bigEndian) { Array($0) } }
    public func withStoreBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withKeyBytes(body)
    }
    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> UInt64 { try UInt64(keyBytes: bytes) }
}
