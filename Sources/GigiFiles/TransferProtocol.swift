// Wire formats of `/gigi/share/1.0.0` and `/gigi/chunks/1.0.0`.
//
// /gigi/share/1.0.0 — varint-length-prefixed CBOR messages (`ShareWire`):
//   F→S hello, S→F reply, F→S confirm (SharePAKE.swift), then S→F accept
//   (manifest id + manifest bytes) or reject. A share whose code was printed
//   before its indexing ended sends accept when it ends (no time limit: the
//   connection's keep-alive bounds the wait), or reject "no such share" if the
//   share ended first. Limits: 4 KiB per handshake message,
//   Manifest.maxEncodedSize + 4 KiB for accept.
//   Digests that follow: while its SHA-256 pass still runs, a sharer's accept
//   carries the manifest with every file's SHA-256 zeroed (`withoutDigests`,
//   whose id then names the share and its chunk streams) and `pending`; the
//   stream stays open, and when the pass ends the sharer sends `digests` (the
//   complete manifest's id, and each file's SHA-256 in entry order) or reject.
//   The fetcher checks that the digests make a manifest of that id, and says
//   its goodbye on the chunk stream only once it has them.
//
// /gigi/chunks/1.0.0 — the fetcher first sends one CBOR message
//   (`ChunkOpen`: the manifest id); the sharer answers `ChunkOpenReply`.
//   Then the fetcher pipelines requests, each 4 bytes: the big-endian global
//   chunk number (all files' chunks in manifest order), or 0xFFFF_FFFF for
//   "everything verified, goodbye". The sharer answers in order, each answer a
//   9-byte header — chunk number (4), status (1), length (4) — then `length`
//   bytes of data (status 0) or of UTF-8 reason (status ≠ 0). Data length is
//   at most the chunk size; the fetcher checks it equals the manifest's.

import GigiBase
import GigiCBOR
import GigiCrypto
import NIOCore

/// Protocol ids.
public enum TransferProtocolID {
    public static let share = "/gigi/share/1.0.0"
    public static let chunks = "/gigi/chunks/1.0.0"
}

/// A share-stream message.
public struct ShareWire: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case hello, reply, confirm, accept, reject, digests }
    public var kind: Kind
    public var selector: [UInt8]?
    public var sid: [UInt8]?
    public var share: [UInt8]?
    public var tag: [UInt8]?
    public var manifestID: [UInt8]?
    public var manifest: [UInt8]?
    public var reason: String?
    /// Accept: the manifest's SHA-256 digests are zeroed and follow in a `digests` message.
    public var pending: Bool?
    /// Digests: each file's SHA-256, in entry order.
    public var digests: [UInt8]?

    enum CodingKeys: String, CodingKey {
        case kind = "k", selector = "sel", sid, share = "y", tag = "t", manifestID = "mid", manifest = "m", reason = "r"
        case pending = "p", digests = "h"
    }

    public init(kind: Kind) { self.kind = kind }

    /// A reject with `reason` (`noSuchShare`, `wrongCode`, or why the digests failed).
    public static func reject(_ reason: String) -> ShareWire {
        var w = ShareWire(kind: .reject)
        w.reason = reason
        return w
    }

    /// Reject reasons the fetcher tells apart: the share is gone (or never was), the code was wrong.
    public static let noSuchShare = "no such share"
    public static let wrongCode = "wrong code"

    public static let maxHandshakeSize = 4096
    public static let maxAcceptSize = Manifest.maxEncodedSize + 4096

    public init(_ m: SharePAKEMessage) {
        switch m {
        case .hello(let selector, let sid, let share):
            self.init(kind: .hello); self.selector = selector; self.sid = sid; self.share = share
        case .reply(let share, let tag):
            self.init(kind: .reply); self.share = share; self.tag = tag
        case .confirm(let tag):
            self.init(kind: .confirm); self.tag = tag
        }
    }

    /// The PAKE message this carries, if it is one.
    public var pakeMessage: SharePAKEMessage? {
        switch kind {
        case .hello:
            guard let selector, let sid, let share, selector.count <= SharePAKEContext.maxSelectorLength else { return nil }
            return .hello(selector: selector, sid: sid, share: share)
        case .reply:
            guard let share, let tag else { return nil }
            return .reply(share: share, tag: tag)
        case .confirm:
            guard let tag else { return nil }
            return .confirm(tag: tag)
        case .accept, .reject, .digests: return nil
        }
    }

    public func encoded() -> [UInt8] { (try? CBOREncoder().encode(self)) ?? [] }

    public static func decode(_ bytes: [UInt8]) throws -> ShareWire {
        var options = CBORDecodingOptions()
        options.maxInputSize = maxAcceptSize
        options.maxLength = maxAcceptSize   // the manifest rides in one byte string
        options.maxDepth = 4
        do { return try CBORDecoder(options: options).decode(ShareWire.self, from: bytes) } catch {
            throw SharePAKEError.protocolViolation("undecodable message")
        }
    }
}

/// First message on a chunk stream.
public struct ChunkOpen: Codable, Equatable, Sendable {
    public var manifestID: [UInt8]
    enum CodingKeys: String, CodingKey { case manifestID = "mid" }
    public init(manifestID: [UInt8]) { self.manifestID = manifestID }
}

public struct ChunkOpenReply: Codable, Equatable, Sendable {
    public var ok: Bool
    public var reason: String?
    public init(ok: Bool, reason: String? = nil) { self.ok = ok; self.reason = reason }
}

enum ChunkWire {
    static let goodbye: UInt32 = 0xFFFF_FFFF
    static let headerSize = 9
    static let maxOpenSize = 1024
    static let maxReasonSize = 1024

    enum Status: UInt8, Error { case ok = 0, notFound = 1, changed = 2, ioError = 3, denied = 4 }

    static func header(chunk: UInt32, status: Status, length: Int) -> [UInt8] {
        [UInt8(chunk >> 24), UInt8(chunk >> 16 & 0xff), UInt8(chunk >> 8 & 0xff), UInt8(chunk & 0xff),
         status.rawValue,
         UInt8(length >> 24 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
    }

    static func writeHeader(chunk: UInt32, status: Status, length: Int, into out: inout ByteBuffer) {
        out.writeInteger(chunk)
        out.writeInteger(status.rawValue)
        out.writeInteger(UInt32(length))
    }

    static func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    static func request(_ chunk: UInt32) -> [UInt8] {
        [UInt8(chunk >> 24), UInt8(chunk >> 16 & 0xff), UInt8(chunk >> 8 & 0xff), UInt8(chunk & 0xff)]
    }
}

/// Global chunk numbering over a manifest's files.
public struct ChunkMap: Sendable {
    /// For each entry: global number of its first chunk.
    public let firstChunk: [Int]
    public let totalChunks: Int
    let fileEntries: [Int]          // entry indices with chunks, in order
    let fileFirst: [Int]            // their first chunk numbers

    public init(_ m: Manifest) {
        var first: [Int] = [], n = 0, fe: [Int] = [], ff: [Int] = []
        for (i, e) in m.entries.enumerated() {
            first.append(n)
            if e.chunkCount > 0 { fe.append(i); ff.append(n) }
            n += e.chunkCount
        }
        firstChunk = first; totalChunks = n; fileEntries = fe; fileFirst = ff
    }

    /// (entry index, chunk index within the entry) of global chunk `c`.
    public func locate(_ c: Int) -> (entry: Int, chunk: Int)? {
        guard c >= 0, c < totalChunks else { return nil }
        var lo = 0, hi = fileFirst.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if fileFirst[mid] <= c { lo = mid } else { hi = mid - 1 }
        }
        return (fileEntries[lo], c - fileFirst[lo])
    }
}
