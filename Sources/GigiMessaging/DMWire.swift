// Direct messages, `/gigi/dm/1.0.0` and `/gigi/dm/2.0.0`: the wire format (pure; no
// sockets, no clock).
//
// `/gigi/dm/1.0.0`: one request per libp2p stream. The sender opens a stream, writes one
// unsigned-varint length-prefixed CBOR request and half-closes; the receiver answers with
// one length-prefixed CBOR answer and closes.
//
// `/gigi/dm/2.0.0` (a session): the same requests and answers, many per stream. The
// sender writes length-prefixed requests back to back without waiting (pipelining);
// the receiver answers each one, in the order the requests came, with a length-prefixed
// answer. A sender has at most `maxPipelinedRequests` requests unanswered on a session
// (the receiver reads no further than that, and no further than
// `maxPipelinedBytes` of unanswered requests: Yamux flow control then holds the sender
// back). The sender half-closes when it has nothing more to send; the receiver answers
// what it read, then half-closes. A request whose announced length exceeds
// `maxRequestSize` is answered `too_large` and ends the session (the receiver does not
// read it); every other refusal is answered and the session goes on. A receiver may
// reset a session that stalls in the middle of a request or stays idle too long.
// Senders propose 2.0.0 first and fall back to 1.0.0 (older peers); receivers serve both.
//
//     request  = { "v": 1, "id": bstr .size 16, "text": tstr, "sent_at": uint (ms since 1970),
//                  ? "nick": tstr, ? "reply_to": bstr .size 16 }
//     answer   = { "id": bstr, "received_at": uint (ms) }                    ; acknowledgement
//              / { "id": bstr, "error": "too_large" / "bad_request"
//                               / "unsupported_version" / "rate_limited" }  ; refusal
//
// Maps use text keys; unknown keys are ignored (room for optional fields without a
// version bump). `id` is a UUIDv7 (RFC 9562 §5.7: 48-bit ms timestamp, version 7, 74
// random bits); Gigi senders make them monotonic per process (RFC 9562 §6.2 method 1),
// and receivers order a conversation by id, so pipelined or retried deliveries still
// show in the order they were written. The error answer echoes the request's id when
// it could be read, else an empty byte string.
//
// Goals: retries are safe (the receiver stores an id once and acknowledges it again),
// every size is bounded before anything is allocated, a malformed or hostile request
// costs the receiver one small answer, and the format is plain CBOR a GUI or another
// implementation can speak. Sessions exist for speed: no stream opening and protocol
// negotiation per message, and a receiver that stores everything it has read in one
// transaction (one fsync for a whole batch).
// Non-goals: end-to-end encryption beyond the Noise channel (the connection already
// authenticates both peers and encrypts), attachments (files go over shares), group
// messages (GossipSub, see DESIGN.md), read receipts.
//
// Limits and why:
// - text ≤ 64 KiB of UTF-8 (issue #8): a long chat message, not a file transfer.
// - request ≤ 80 KiB: 64 KiB text plus the other fields and CBOR overhead with room
//   to spare; anything longer is refused as `too_large` before it is read.
// - nick ≤ 256 bytes on the wire (displayed names are cut to 64 characters), and
//   the answer ≤ 1 KiB: both are small by nature.
// - CBOR nesting ≤ 4 and ≤ 64 items: a request is one flat map.
// - a session: ≤ 256 unanswered requests and ≤ 1 MiB of them, plus the request that
//   crosses the 1 MiB (enough for a batch that
//   keeps a group commit busy; bounds what one stream makes the receiver hold).

import GigiCBOR
import NIOCore
import P2PCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Constants and codec of `/gigi/dm/1.0.0`.
public enum DMWire {
    public static let protocolID = "/gigi/dm/1.0.0"
    /// Many requests per stream, pipelined (see the top of this file).
    public static let sessionProtocolID = "/gigi/dm/2.0.0"
    /// Most unanswered requests a receiver reads on one session.
    public static let maxPipelinedRequests = 256
    /// Bytes of unanswered requests after which a receiver reads no more on a session (the
    /// request that crosses it is still taken, so one of `maxRequestSize` always fits).
    public static let maxPipelinedBytes = 1 << 20
    /// The request version this build writes and reads.
    public static let version: UInt64 = 1
    public static let idLength = 16
    /// Most UTF-8 bytes of `text`.
    public static let maxTextBytes = 64 * 1024
    /// Most bytes of an encoded request (without its length prefix).
    public static let maxRequestSize = 80 * 1024
    /// Most bytes of an encoded answer.
    public static let maxAnswerSize = 1024
    /// Most bytes of `nick` on the wire.
    public static let maxNicknameBytes = 256

    /// Why a receiver refused a request (the `error` strings of the answer).
    public enum ErrorCode: String, Sendable, Codable, Equatable, CaseIterable {
        case tooLarge = "too_large"
        case badRequest = "bad_request"
        case unsupportedVersion = "unsupported_version"
        case rateLimited = "rate_limited"

        /// Retrying later may succeed (only `rate_limited`); the others are final.
        public var isTransient: Bool { self == .rateLimited }
    }

    /// A decoding failure: what to answer, and the request id if it could be read.
    public struct Rejection: Error, Equatable, Sendable, CustomStringConvertible {
        public var code: ErrorCode
        public var id: [UInt8]
        public var reason: String

        public init(_ code: ErrorCode, id: [UInt8] = [], _ reason: String) {
            self.code = code
            self.id = id
            self.reason = reason
        }

        public var description: String { "\(code.rawValue): \(reason)" }
        /// The error answer to send back.
        public var answer: DMAnswer { .refused(id: id, code) }
    }

    static func options(maxSize: Int) -> CBORDecodingOptions {
        var options = CBORDecodingOptions()
        options.maxInputSize = maxSize
        options.maxDepth = 4
        options.maxItems = 64
        options.maxLength = maxSize
        return options
    }

    // MARK: Requests

    /// The deterministic encoding (RFC 8949 §4.2.1: keys in bytewise order of their
    /// encodings, absent optionals left out), the same bytes `CBOREncoder` writes for the
    /// type, written directly: the sender encodes every message once.
    public static func encode(_ request: DMRequest) throws -> [UInt8] {
        var w = CBORWriter(capacity: request.text.utf8.count + (request.nick?.utf8.count ?? 0) + 64)
        w.writeMapHeader(count: 4 + (request.nick == nil ? 0 : 1) + (request.replyTo == nil ? 0 : 1))
        w.writeText("v"); w.writeUnsigned(request.v)
        w.writeText("id"); w.writeBytes(request.id)
        if let nick = request.nick { w.writeText("nick"); w.writeText(nick) }
        w.writeText("text"); w.writeText(request.text)
        w.writeText("sent_at"); w.writeUnsigned(request.sentAt)
        if let replyTo = request.replyTo { w.writeText("reply_to"); w.writeBytes(replyTo) }
        return w.bytes
    }

    /// Decodes and validates a request. Throws `Rejection` (never anything else).
    public static func decodeRequest(_ bytes: [UInt8]) throws(Rejection) -> DMRequest {
        guard bytes.count <= maxRequestSize else {
            throw Rejection(.tooLarge, "request of \(bytes.count) bytes exceeds \(maxRequestSize)")
        }
        let item: CBOR
        do { item = try CBOR.decode(bytes, options: options(maxSize: maxRequestSize)) } catch {
            throw Rejection(.badRequest, "invalid CBOR: \(error)")
        }
        guard case .map(let entries) = item else { throw Rejection(.badRequest, "the request is not a CBOR map") }
        func field(_ name: String) -> CBOR? { entries.first { $0.key.stringValue == name }?.value }
        // The id first, so every later refusal can echo it.
        var id: [UInt8] = []
        if let raw = field("id")?.bytesValue, raw.count == idLength { id = raw }
        guard let v = field("v")?.uint64Value else { throw Rejection(.badRequest, id: id, "missing or invalid version") }
        guard v == version else { throw Rejection(.unsupportedVersion, id: id, "version \(v) is not supported") }
        guard !id.isEmpty else { throw Rejection(.badRequest, "the id is missing or not \(idLength) bytes") }
        guard let text = field("text")?.stringValue else { throw Rejection(.badRequest, id: id, "missing text") }
        guard text.utf8.count <= maxTextBytes else {
            throw Rejection(.tooLarge, id: id, "text of \(text.utf8.count) bytes exceeds \(maxTextBytes)")
        }
        guard let sentAt = field("sent_at")?.uint64Value else {
            throw Rejection(.badRequest, id: id, "missing or invalid sent_at")
        }
        var nick: String?
        if let raw = field("nick"), raw != .null {
            guard let s = raw.stringValue, s.utf8.count <= maxNicknameBytes else {
                throw Rejection(.badRequest, id: id, "invalid nick")
            }
            nick = s
        }
        var replyTo: [UInt8]?
        if let raw = field("reply_to"), raw != .null {
            guard let b = raw.bytesValue, b.count == idLength else {
                throw Rejection(.badRequest, id: id, "reply_to is not \(idLength) bytes")
            }
            replyTo = b
        }
        return DMRequest(id: id, text: text, sentAt: sentAt, nick: nick, replyTo: replyTo)
    }

    // MARK: Answers

    public static func encode(_ answer: DMAnswer) -> [UInt8] {
        var w = CBORWriter(capacity: 48)
        switch answer {
        case .acknowledged(let id, let receivedAt):
            w.writeMapHeader(count: 2)
            w.writeText("id"); w.writeBytes(id)
            w.writeText("received_at"); w.writeUnsigned(receivedAt)
        case .refused(let id, let code):
            w.writeMapHeader(count: 2)
            w.writeText("id"); w.writeBytes(id)
            w.writeText("error"); w.writeText(code.rawValue)
        }
        return w.bytes
    }

    /// Decodes an answer. An `error` string this build does not know throws.
    public static func decodeAnswer(_ bytes: [UInt8]) throws -> DMAnswer {
        guard bytes.count <= maxAnswerSize else { throw DMWireError("answer of \(bytes.count) bytes is too large") }
        let item: CBOR
        do { item = try CBOR.decode(bytes, options: options(maxSize: maxAnswerSize)) } catch {
            throw DMWireError("invalid CBOR answer: \(error)")
        }
        guard case .map(let entries) = item else { throw DMWireError("the answer is not a CBOR map") }
        func field(_ name: String) -> CBOR? { entries.first { $0.key.stringValue == name }?.value }
        guard let id = field("id")?.bytesValue, id.count <= idLength else { throw DMWireError("answer without a valid id") }
        if let error = field("error") {
            guard let s = error.stringValue else { throw DMWireError("answer with a non-text error") }
            guard let code = ErrorCode(rawValue: s) else { throw DMWireError("unknown error '\(s.prefix(64))'") }
            return .refused(id: id, code)
        }
        guard let receivedAt = field("received_at")?.uint64Value else {
            throw DMWireError("answer without received_at or error")
        }
        return .acknowledged(id: id, receivedAt: receivedAt)
    }
}

// MARK: - Session framing

/// One length-prefixed message taken from the front of a session's received bytes.
public enum DMFrame: Equatable, Sendable {
    /// A complete message (without its prefix).
    case message([UInt8])
    /// The prefix announces more than the limit (the body is not read).
    case tooLarge(Int)
    /// The length prefix is not a valid varint.
    case malformed
}

extension DMWire {
    /// Takes the next complete length-prefixed message off `buffer`; nil when more bytes
    /// are needed. A message over `maxSize`, or a broken prefix, is reported without
    /// consuming anything (the session ends there).
    public static func nextFrame(_ buffer: inout ByteBuffer, maxSize: Int) -> DMFrame? {
        let view = buffer.readableBytesView
        let decoded: (value: UInt64, length: Int)?
        // One byte past the longest varint, so an overlong one is an error rather than "more needed".
        do { decoded = try Varint.decode(view.prefix(Varint.maxBytes + 1)) } catch { return .malformed }
        guard let (length, prefix) = decoded else { return nil }
        guard length <= UInt64(maxSize) else { return .tooLarge(Int(clamping: length)) }
        guard view.count >= prefix + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: prefix)
        return .message(buffer.readBytes(length: Int(length))!)
    }

    /// Appends `varint(bytes.count) ‖ bytes` to `buffer`.
    public static func appendFrame(_ bytes: [UInt8], to buffer: inout ByteBuffer) {
        Varint.write(UInt64(bytes.count), to: &buffer)
        buffer.writeBytes(bytes)
    }
}

/// One direct message on the wire (`v` is always `DMWire.version` when encoded).
public struct DMRequest: Codable, Equatable, Sendable {
    public var v: UInt64 = DMWire.version
    /// UUIDv7, 16 bytes.
    public var id: [UInt8]
    public var text: String
    /// Sender's clock, ms since 1970.
    public var sentAt: UInt64
    /// The sender's nickname (self-chosen, untrusted).
    public var nick: String?
    public var replyTo: [UInt8]?

    public init(id: [UInt8], text: String, sentAt: UInt64, nick: String? = nil, replyTo: [UInt8]? = nil) {
        self.id = id
        self.text = text
        self.sentAt = sentAt
        self.nick = nick
        self.replyTo = replyTo
    }

    enum CodingKeys: String, CodingKey {
        case v, id, text, sentAt = "sent_at", nick, replyTo = "reply_to"
    }
}

/// The receiver's answer to a `DMRequest`.
public enum DMAnswer: Equatable, Sendable {
    /// Stored (now or earlier: duplicates are acknowledged again). `receivedAt` in ms.
    case acknowledged(id: [UInt8], receivedAt: UInt64)
    case refused(id: [UInt8], DMWire.ErrorCode)

    public var id: [UInt8] {
        switch self {
        case .acknowledged(let id, _), .refused(let id, _): return id
        }
    }
}

/// A malformed answer (sender side).
public struct DMWireError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Message ids

/// Makes UUIDv7 message ids (RFC 9562 §5.7) that increase strictly within the process:
/// in one millisecond the 12-bit `rand_a` field counts up (§6.2 method 1, seeded
/// randomly in its lower half); when it would overflow, or the clock steps back, the
/// timestamp is advanced past the last one used.
public struct DMMessageIDGenerator: Sendable {
    private var lastMilliseconds: UInt64 = 0
    private var counter: UInt16 = 0

    public init() {}

    /// A new id for time `milliseconds` (ms since 1970); also returns the timestamp encoded in it.
    public mutating func next<R: RandomNumberGenerator>(milliseconds: UInt64, using rng: inout R) -> [UInt8] {
        var ms = milliseconds
        if ms <= lastMilliseconds {
            ms = lastMilliseconds
            if counter >= 0x0FFF { ms += 1; counter = UInt16.random(in: 0..<0x0800, using: &rng) } else { counter += 1 }
        } else {
            counter = UInt16.random(in: 0..<0x0800, using: &rng)
        }
        lastMilliseconds = ms
        var id = [UInt8](repeating: 0, count: DMWire.idLength)
        for i in 0..<6 { id[i] = UInt8(truncatingIfNeeded: ms >> (40 - 8 * UInt64(i))) }
        id[6] = 0x70 | UInt8(counter >> 8)
        id[7] = UInt8(truncatingIfNeeded: counter)
        let random = rng.next() as UInt64
        id[8] = 0x80 | UInt8(truncatingIfNeeded: random >> 56) & 0x3F
        for i in 9..<16 { id[i] = UInt8(truncatingIfNeeded: random >> (8 * UInt64(15 - i))) }
        return id
    }

    public mutating func next(milliseconds: UInt64) -> [UInt8] {
        var rng = SystemRandomNumberGenerator()
        return next(milliseconds: milliseconds, using: &rng)
    }

    /// The 48-bit timestamp of a UUIDv7 (for any 16-byte id: its first six bytes).
    public static func milliseconds(of id: [UInt8]) -> UInt64 {
        id.prefix(6).reduce(0) { $0 << 8 | UInt64($1) }
    }
}

extension Date {
    /// Whole milliseconds since 1970 (0 before 1970).
    var dmMilliseconds: UInt64 {
        let ms = (timeIntervalSince1970 * 1000).rounded(.down)
        return ms > 0 ? UInt64(ms) : 0
    }

    init(dmMilliseconds ms: UInt64) {
        self.init(timeIntervalSince1970: Double(ms) / 1000)
    }
}
