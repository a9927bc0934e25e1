import GigiCBOR
import GigiCrypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// Record types of Gigi's tables. Coding keys are short on purpose: records are
// stored many times (chunk index, messages) and keys are part of every value.
// See `StoreRecord` for the versioning rules.

// MARK: chunks

/// Where a chunk's bytes live: a byte range of an indexed file.
///
/// Encoded by hand (version byte 1, then the CBOR array `[fileID, offset, length]`)
/// because the chunk index is the hottest table; byte order of the encoding is
/// not meaningful beyond making duplicates unique.
public struct ChunkLocation: StoreValue, Hashable, Sendable {
    public var fileID: UInt64
    public var offset: UInt64
    public var length: UInt32

    public init(fileID: UInt64, offset: UInt64, length: UInt32) {
        self.fileID = fileID
        self.offset = offset
        self.length = length
    }

    static let version: UInt8 = 1

    /// At most 1 + 1 + 9 + 9 + 5 bytes.
    static let maxEncodedCount = 25

    public func storeEncoded() throws -> [UInt8] {
        try withStoreBytes { Array($0) }
    }

    /// The same bytes as `CBORWriter` writes (deterministic: shortest heads), encoded on the stack.
    /// Byte-identical encodings matter: a dup-sorted entry is found and deleted by its bytes.
    public func withStoreBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withUnsafeTemporaryAllocation(byteCount: Self.maxEncodedCount, alignment: 8) { buffer in
            let p = buffer.baseAddress!
            p.storeBytes(of: Self.version, as: UInt8.self)
            p.storeBytes(of: 0x83, toByteOffset: 1, as: UInt8.self)   // array of 3
            var n = 2
            n += Self.writeUnsignedHead(fileID, to: p + n)
            n += Self.writeUnsignedHead(offset, to: p + n)
            n += Self.writeUnsignedHead(UInt64(length), to: p + n)
            return try body(UnsafeRawBufferPointer(start: p, count: n))
        }
    }

    /// A CBOR major-type-0 head in its shortest form (RFC 8949 §4.2.1); returns its length.
    @inline(__always)
    static func writeUnsignedHead(_ v: UInt64, to p: UnsafeMutableRawPointer) -> Int {
        switch v {
        case 0..<24:
            p.storeBytes(of: UInt8(v), as: UInt8.self)
            return 1
        case 24...0xff:
            p.storeBytes(of: 0x18, as: UInt8.self)
            p.storeBytes(of: UInt8(v), toByteOffset: 1, as: UInt8.self)
            return 2
        case 0x100...0xffff:
            p.storeBytes(of: 0x19, as: UInt8.self)
            p.storeBytes(of: UInt16(v).bigEndian, toByteOffset: 1, as: UInt16.self)
            return 3
        case 0x1_0000...0xffff_ffff:
            p.storeBytes(of: 0x1a, as: UInt8.self)
            p.storeBytes(of: UInt32(v).bigEndian, toByteOffset: 1, as: UInt32.self)
            return 5
        default:
            p.storeBytes(of: 0x1b, as: UInt8.self)
            p.storeBytes(of: v.bigEndian, toByteOffset: 1, as: UInt64.self)
            return 9
        }
    }

    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> ChunkLocation {
        guard bytes.first == version else {
            throw StoreError.unsupportedRecordVersion(type: "ChunkLocation", version: bytes.first ?? 0)
        }
        do {
            var r = CBORReader(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()))
            guard try r.readArrayHeader() >= 3 else { throw StoreError.corruptRecord(type: "ChunkLocation", reason: "short") }
            let file = try r.readUnsigned()
            let offset = try r.readUnsigned()
            guard let length = UInt32(exactly: try r.readUnsigned()) else {
                throw StoreError.corruptRecord(type: "ChunkLocation", reason: "length out of range")
            }
            return ChunkLocation(fileID: file, offset: offset, length: length)
        } catch let error as CBORError {
            throw StoreError.corruptRecord(type: "ChunkLocation", reason: "\(error)")
        }
    }
}

/// One chunk of an indexed file, as the reverse index `file_chunks` (key: file id) holds it.
///
/// Fixed 44 bytes so the table can be `dupFixed` (LMDB packs the values of a key without
/// per-value headers): offset (u64 big-endian), length (u32 big-endian), the chunk's BLAKE3.
/// The offset comes first, so a file's entries sort by offset: indexing a file front to back
/// appends (MDB_APPENDDUP), and unindexing knows each exact `chunks` entry to delete. The
/// layout is versioned by the store's schema (2; schema 1 kept only the hash, see `Store`).
public struct FileChunk: StoreValue, Hashable, Sendable {
    public var offset: UInt64
    public var length: UInt32
    public var hash: Digest32

    public init(offset: UInt64, length: UInt32, hash: Digest32) {
        self.offset = offset
        self.length = length
        self.hash = hash
    }

    public static let encodedCount = 44

    public func storeEncoded() throws -> [UInt8] { try withStoreBytes { Array($0) } }

    public func withStoreBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withUnsafeTemporaryAllocation(byteCount: Self.encodedCount, alignment: 8) { out in
            out.storeBytes(of: offset.bigEndian, toByteOffset: 0, as: UInt64.self)
            out.storeBytes(of: length.bigEndian, toByteOffset: 8, as: UInt32.self)
            hash.withUnsafeBytes(to: UnsafeMutableRawBufferPointer(rebasing: out[12...]))
            return try body(UnsafeRawBufferPointer(out))
        }
    }

    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> FileChunk {
        guard bytes.count == encodedCount, let p = bytes.baseAddress else {
            throw StoreError.corruptRecord(type: "FileChunk", reason: "\(bytes.count) bytes, expected \(encodedCount)")
        }
        return FileChunk(offset: UInt64(bigEndian: p.loadUnaligned(as: UInt64.self)),
                         length: UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                         hash: Digest32(pointer: p + 12))
    }
}

// MARK: files

/// An indexed local file. `size`, `mtimeNanoseconds`, `inode` and `device` identify
/// the version that was hashed: if any differs from `stat(2)` now, the file changed
/// and its chunks must be re-hashed (or refused), never served stale.
public struct FileRecord: StoreRecord, Hashable, Sendable {
    public var path: String
    public var size: UInt64
    /// Modification time, nanoseconds since 1970.
    public var mtimeNanoseconds: Int64
    public var inode: UInt64
    public var device: UInt64
    /// When the file was (re)hashed.
    public var indexedAt: Date

    public init(path: String, size: UInt64, mtimeNanoseconds: Int64, inode: UInt64, device: UInt64 = 0,
                indexedAt: Date = Date()) {
        self.path = path
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.inode = inode
        self.device = device
        self.indexedAt = indexedAt
    }

    enum CodingKeys: String, CodingKey {
        case path = "p", size = "s", mtimeNanoseconds = "m", inode = "i", device = "d", indexedAt = "t"
    }

    /// Written once per file shared or received (1000 small files: 1000 records in the
    /// fetch's last commit): encoded directly, the same bytes as the Codable encoding
    /// (keys in deterministic order: d i m p s t).
    public func storeEncoded() throws -> [UInt8] {
        var w = CBORWriter(capacity: path.utf8.count + 64)
        w.writeRaw([Self.recordVersion])
        w.writeMapHeader(count: 6)
        w.writeText("d"); w.writeUnsigned(device)
        w.writeText("i"); w.writeUnsigned(inode)
        w.writeText("m"); w.writeInteger(mtimeNanoseconds)
        w.writeText("p"); w.writeText(path)
        w.writeText("s"); w.writeUnsigned(size)
        w.writeText("t"); MessageRecord.write(indexedAt, to: &w)
        return w.bytes
    }
}

// MARK: shares

public enum ShareState: String, Codable, Sendable {
    /// Serving fetchers.
    case active
    /// Closed after too many failed PAKE attempts.
    case locked
    /// Ended: fetched (one-shot share), expired, or unshared.
    case closed
}

/// A share this node serves.
public struct ShareRecord: StoreRecord, Hashable, Sendable {
    /// BLAKE3 id of the manifest (32 bytes).
    public var manifestID: [UInt8]
    /// Public part of the share code (locates the sharer), if a human code was issued.
    public var nameplate: String?
    /// Number of secret words in the human code.
    public var codeWords: UInt8?
    /// The PAKE password or ticket secret. Local state only; never logged.
    public var secret: [UInt8]?
    public var created: Date
    public var expires: Date?
    /// Keep serving after a complete fetch (`--keep` / daemon shares).
    public var keep: Bool
    /// Fetchers that authenticated / completed.
    public var fetchesStarted: UInt32
    public var fetchesCompleted: UInt32
    /// Failed PAKE attempts so far (the share locks at the limit, DESIGN: 3).
    public var failedAttempts: UInt32
    public var state: ShareState

    public init(manifestID: [UInt8], nameplate: String? = nil, codeWords: UInt8? = nil, secret: [UInt8]? = nil,
                created: Date = Date(), expires: Date? = nil, keep: Bool = false, fetchesStarted: UInt32 = 0,
                fetchesCompleted: UInt32 = 0, failedAttempts: UInt32 = 0, state: ShareState = .active) {
        self.manifestID = manifestID
        self.nameplate = nameplate
        self.codeWords = codeWords
        self.secret = secret
        self.created = created
        self.expires = expires
        self.keep = keep
        self.fetchesStarted = fetchesStarted
        self.fetchesCompleted = fetchesCompleted
        self.failedAttempts = failedAttempts
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case manifestID = "m", nameplate = "n", codeWords = "w", secret = "k", created = "c", expires = "e"
        case keep = "p", fetchesStarted = "fs", fetchesCompleted = "fc", failedAttempts = "fa", state = "s"
    }
}

// MARK: downloads

/// One bit per chunk: set = the chunk's bytes are written, fsynced and BLAKE3-verified.
public struct ChunkBitmap: Codable, Hashable, Sendable {
    public private(set) var count: Int
    public private(set) var bits: [UInt8]

    public init(count: Int) {
        self.count = count
        bits = [UInt8](repeating: 0, count: (count + 7) / 8)
    }

    public subscript(index: Int) -> Bool {
        get { bits[index >> 3] & (1 << UInt8(index & 7)) != 0 }
        set {
            if newValue { bits[index >> 3] |= 1 << UInt8(index & 7) } else { bits[index >> 3] &= ~(1 << UInt8(index & 7)) }
        }
    }

    /// Number of set bits.
    public var setCount: Int { bits.reduce(0) { $0 + $1.nonzeroBitCount } }
    public var isComplete: Bool { setCount == count }

    /// Indices of chunks still missing, in order.
    public var missing: [Int] { (0..<count).filter { !self[$0] } }

    enum CodingKeys: String, CodingKey { case count = "n", bits = "b" }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(Int.self, forKey: .count)
        bits = try c.decode([UInt8].self, forKey: .bits)
        guard count >= 0, bits.count == (count + 7) / 8 else {
            throw DecodingError.dataCorruptedError(forKey: .bits, in: c, debugDescription: "bitmap size mismatch")
        }
    }
}

public enum DownloadState: String, Codable, Sendable {
    case pending, active, paused, verifying, completed, failed
}

/// A fetch in progress or finished. Resume = re-read this and request `verified.missing`.
public struct DownloadRecord: StoreRecord, Hashable, Sendable {
    public var manifestID: [UInt8]
    /// Target directory or file path.
    public var destination: String
    public var verified: ChunkBitmap
    public var bytesDone: UInt64
    public var bytesTotal: UInt64
    public var state: DownloadState
    /// Peers that served (or may serve) this download, as peer ID strings.
    public var peers: [String]
    public var created: Date
    public var updated: Date
    /// Why it failed, for `state == .failed`.
    public var failure: String?
    /// What `gigi fetch --resume` needs to run it again: the code or ticket it was
    /// started with (a secret: it stays in the store, 0700, like a daemon's share
    /// secrets), the sharer's addresses, and the directory fetched into.
    public var source: String?
    public var addresses: [String]?
    public var root: String?

    public init(manifestID: [UInt8], destination: String, chunkCount: Int, bytesTotal: UInt64,
                state: DownloadState = .pending, peers: [String] = [], created: Date = Date()) {
        self.manifestID = manifestID
        self.destination = destination
        self.verified = ChunkBitmap(count: chunkCount)
        self.bytesDone = 0
        self.bytesTotal = bytesTotal
        self.state = state
        self.peers = peers
        self.created = created
        self.updated = created
        self.failure = nil
    }

    enum CodingKeys: String, CodingKey {
        case manifestID = "m", destination = "d", verified = "v", bytesDone = "b", bytesTotal = "t", state = "s"
        case peers = "p", created = "c", updated = "u", failure = "f"
        case source = "src", addresses = "a", root = "r"
    }
}

// MARK: messages

/// Key of the `messages` table: conversation, then time, then a tie-breaker, so a
/// conversation's messages scan in time order. Byte form: conversation length (1 byte),
/// conversation UTF-8, milliseconds since 1970 (8 bytes BE), sequence (8 bytes BE).
public struct MessageKey: StoreKey, Hashable, Sendable {
    /// Peer ID (direct messages) or group id.
    public var conversation: String
    public var milliseconds: UInt64
    /// Distinguishes messages in the same millisecond (e.g. a per-node counter or random).
    public var sequence: UInt64

    public init(conversation: String, milliseconds: UInt64, sequence: UInt64 = 0) {
        self.conversation = conversation
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// The key bytes shared by all messages of `conversation` (for prefix scans).
    public static func prefix(conversation: String) -> [UInt8] {
        let utf8 = Array(conversation.utf8.prefix(255))
        return [UInt8(utf8.count)] + utf8
    }

    public func withKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        // Built on the stack: every message read or write makes one.
        let utf8 = conversation.utf8.prefix(255)
        return try withUnsafeTemporaryAllocation(byteCount: 1 + utf8.count + 16, alignment: 1) { buffer in
            buffer[0] = UInt8(utf8.count)
            _ = UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyBytes(from: utf8)
            buffer.storeBytes(of: milliseconds.bigEndian, toByteOffset: 1 + utf8.count, as: UInt64.self)
            buffer.storeBytes(of: sequence.bigEndian, toByteOffset: 1 + utf8.count + 8, as: UInt64.self)
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    public init(keyBytes: UnsafeRawBufferPointer) throws {
        guard let n = keyBytes.first.map(Int.init), keyBytes.count == 1 + n + 16,
              let conversation = String(validating: keyBytes[1..<1 + n], as: UTF8.self)
        else { throw StoreError.invalidKey(type: "MessageKey") }
        self.conversation = conversation
        milliseconds = UInt64(bigEndian: keyBytes.loadUnaligned(fromByteOffset: 1 + n, as: UInt64.self))
        sequence = UInt64(bigEndian: keyBytes.loadUnaligned(fromByteOffset: 1 + n + 8, as: UInt64.self))
    }
}

public enum MessageDirection: String, Codable, Sendable { case incoming, outgoing }

public enum MessageStatus: String, Codable, Sendable {
    /// Outgoing, waiting in the outbox (written by early builds; read it as `queued`).
    case pending
    /// Outgoing, in the outbox: not yet attempted, or the peer was unreachable.
    case queued
    /// Outgoing, written to the peer but not (yet) acknowledged; still in the outbox.
    case sent
    /// Outgoing, acknowledged by the peer (direct) or published (group).
    case delivered
    /// Outgoing, refused by the peer for good (e.g. `bad_request`); out of the outbox.
    case failed
    /// Outgoing, not delivered before the outbox expiry; out of the outbox.
    case expired
    /// Incoming.
    case received
}

/// A direct or group message.
public struct MessageRecord: StoreRecord, Hashable, Sendable {
    /// Globally unique message id (random, 16 bytes) for de-duplication and acknowledgements.
    public var id: [UInt8]
    /// Sender peer ID.
    public var sender: String
    public var direction: MessageDirection
    public var status: MessageStatus
    public var body: String
    public var sent: Date
    /// Incoming: when this node stored it. Outgoing: the peer's `received_at` from its acknowledgement.
    public var received: Date?
    /// The sender's self-chosen nickname as it came with the message (untrusted, display only).
    public var nickname: String?
    /// Id of the message this one answers.
    public var replyTo: [UInt8]?
    /// Why delivery failed or expired (outgoing), for `failed` / `expired`.
    public var failure: String?

    public init(id: [UInt8], sender: String, direction: MessageDirection, status: MessageStatus, body: String,
                sent: Date, received: Date? = nil, nickname: String? = nil, replyTo: [UInt8]? = nil,
                failure: String? = nil) {
        self.id = id
        self.sender = sender
        self.direction = direction
        self.status = status
        self.body = body
        self.sent = sent
        self.received = received
        self.nickname = nickname
        self.replyTo = replyTo
        self.failure = failure
    }

    enum CodingKeys: String, CodingKey {
        case id = "i", sender = "f", direction = "d", status = "s", body = "b", sent = "t", received = "r"
        case nickname = "n", replyTo = "p", failure = "x"
    }
}

extension MessageRecord {
    /// Every direct message is written two or three times (queued, delivered; received):
    /// encoded directly, the same bytes as the Codable encoding (keys in deterministic
    /// order: b d f i n p r s t x; absent optionals left out).
    public func storeEncoded() throws -> [UInt8] {
        var w = CBORWriter(capacity: body.utf8.count + sender.utf8.count + (failure?.utf8.count ?? 0) + 96)
        w.writeRaw([Self.recordVersion])
        let optionals = [nickname != nil, replyTo != nil, received != nil, failure != nil].filter { $0 }.count
        w.writeMapHeader(count: 6 + optionals)
        w.writeText("b"); w.writeText(body)
        w.writeText("d"); w.writeText(direction.rawValue)
        w.writeText("f"); w.writeText(sender)
        w.writeText("i"); w.writeBytes(id)
        if let nickname { w.writeText("n"); w.writeText(nickname) }
        if let replyTo { w.writeText("p"); w.writeBytes(replyTo) }
        if let received { w.writeText("r"); Self.write(received, to: &w) }
        w.writeText("s"); w.writeText(status.rawValue)
        w.writeText("t"); Self.write(sent, to: &w)
        if let failure { w.writeText("x"); w.writeText(failure) }
        return w.bytes
    }

    public static func storeDecoded(_ bytes: UnsafeRawBufferPointer) throws -> MessageRecord {
        try storeDecoded(bytes, fastPath: fastDecode)
    }

    /// What `CBOREncoder` writes for a `Date`: tag 1, whole seconds as an integer, else a float.
    static func write(_ date: Date, to w: inout CBORWriter) {
        w.writeTag(1)
        let t = date.timeIntervalSince1970
        if t == t.rounded(), let whole = Int64(exactly: t) { w.writeInteger(whole) } else { w.writeFloat(t) }
    }

    private static func date(_ item: CBOR) -> Date? {
        var v = item
        if case .tagged(1, let inner) = v { v = inner }
        return v.doubleValue.map { Date(timeIntervalSince1970: $0) }
    }

    /// The record from its map, or nil for anything unusual (the Codable decoder then decides).
    private static func fastDecode(_ item: CBOR) -> MessageRecord? {
        guard case .map(let entries) = item else { return nil }
        var id: [UInt8]?, sender: String?, direction: MessageDirection?, status: MessageStatus?, body: String?
        var sent: Date?, received: Date?, nickname: String?, replyTo: [UInt8]?, failure: String?
        for (key, value) in entries {
            guard let k = key.stringValue else { return nil }
            if value == .null, ["r", "n", "p", "x"].contains(k) { continue }
            switch k {
            case "i": guard let v = value.bytesValue else { return nil }; id = v
            case "f": guard let v = value.stringValue else { return nil }; sender = v
            case "d": guard let v = value.stringValue.flatMap(MessageDirection.init(rawValue:)) else { return nil }; direction = v
            case "s": guard let v = value.stringValue.flatMap(MessageStatus.init(rawValue:)) else { return nil }; status = v
            case "b": guard let v = value.stringValue else { return nil }; body = v
            case "t": guard let v = date(value) else { return nil }; sent = v
            case "r": guard let v = date(value) else { return nil }; received = v
            case "n": guard let v = value.stringValue else { return nil }; nickname = v
            case "p": guard let v = value.bytesValue else { return nil }; replyTo = v
            case "x": guard let v = value.stringValue else { return nil }; failure = v
            default: continue
            }
        }
        guard let id, let sender, let direction, let status, let body, let sent else { return nil }
        return MessageRecord(id: id, sender: sender, direction: direction, status: status, body: body, sent: sent,
                             received: received, nickname: nickname, replyTo: replyTo, failure: failure)
    }
}

/// A direct message waiting for delivery. Keyed by message id in the `outbox` table.
public struct OutboxRecord: StoreRecord, Hashable, Sendable {
    public var recipient: String
    /// Where the message sits in `messages` (to update its status on delivery).
    public var messageKey: [UInt8]
    /// The encoded wire message.
    public var payload: [UInt8]
    public var attempts: UInt32
    public var nextAttempt: Date
    public var expires: Date
    public var lastError: String?

    public init(recipient: String, messageKey: MessageKey, payload: [UInt8], attempts: UInt32 = 0,
                nextAttempt: Date = Date(), expires: Date, lastError: String? = nil) {
        self.recipient = recipient
        self.messageKey = messageKey.withKeyBytes { Array($0) }
        self.payload = payload
        self.attempts = attempts
        self.nextAttempt = nextAttempt
        self.expires = expires
        self.lastError = lastError
    }

    enum CodingKeys: String, CodingKey {
        case recipient = "r", messageKey = "k", payload = "p", attempts = "a", nextAttempt = "n", expires = "e"
        case lastError = "x"
    }
}

// MARK: contacts, groups, peers

/// A known correspondent, keyed by peer ID.
public struct ContactRecord: StoreRecord, Hashable, Sendable {
    public var nickname: String
    public var added: Date
    public var blocked: Bool
    public var note: String?
    /// Multiaddrs given with `gigi contacts add --addr`, as strings (nil in old records).
    public var addresses: [String]?

    public init(nickname: String, added: Date = Date(), blocked: Bool = false, note: String? = nil,
                addresses: [String]? = nil) {
        self.nickname = nickname
        self.added = added
        self.blocked = blocked
        self.note = note
        self.addresses = addresses
    }

    enum CodingKeys: String, CodingKey {
        case nickname = "n", added = "a", blocked = "b", note = "o", addresses = "m"
    }
}

/// A group chat, keyed by group id (the peer-ID string of the group key).
public struct GroupRecord: StoreRecord, Hashable, Sendable {
    public var name: String
    /// The group's XChaCha20-Poly1305 key (32 bytes). Local state only; never logged.
    public var key: [UInt8]
    /// Member peer IDs.
    public var members: [String]
    /// Peer ID of the creator, if known.
    public var creator: String?
    public var joined: Date

    public init(name: String, key: [UInt8], members: [String] = [], creator: String? = nil, joined: Date = Date()) {
        self.name = name
        self.key = key
        self.members = members
        self.creator = creator
        self.joined = joined
    }

    enum CodingKeys: String, CodingKey { case name = "n", key = "k", members = "m", creator = "c", joined = "j" }
}

/// What this node knows about another peer, keyed by peer ID string.
public struct PeerRecord: StoreRecord, Hashable, Sendable {
    /// Multiaddrs, as strings.
    public var addresses: [String]
    public var nickname: String?
    /// Capabilities it announced (GigiDNS `caps`).
    public var capabilities: [String]
    public var lastSeen: Date
    /// How it was learned: "mdns", "kad", "manual", …
    public var source: String?

    public init(addresses: [String], nickname: String? = nil, capabilities: [String] = [], lastSeen: Date = Date(),
                source: String? = nil) {
        self.addresses = addresses
        self.nickname = nickname
        self.capabilities = capabilities
        self.lastSeen = lastSeen
        self.source = source
    }

    enum CodingKeys: String, CodingKey {
        case addresses = "a", nickname = "n", capabilities = "c", lastSeen = "l", source = "s"
    }
}
