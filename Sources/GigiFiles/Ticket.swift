// Tickets: a long copy-paste token that locates and unlocks a share without
// a rendezvous: the sharer's peer ID and addresses, the share id and a
// 128-bit secret (the PAKE password, so a ticket and a code use one handshake).
//
// Text form: "gigi1" + lower-case RFC 4648 base32 (no padding) of
//   version(1) | lp(peer id) | n(1) | n × lp(multiaddr) | share id(16) | secret(16) | checksum(4)
// where lp = LEB128 length + bytes and checksum = SHA-256(preceding)[0..<4].
// Peer IDs and multiaddrs are kept as their binary encodings; P2PCore parses them.

import GigiBase
import GigiCrypto

public enum TicketError: Error, Equatable, Sendable, UserFacingError {
    case malformed
    case badChecksum
    case unsupportedVersion(UInt8)

    public var message: String {
        switch self {
        case .malformed: return "The ticket is not valid: copy the whole ticket the sender printed."
        case .badChecksum: return "The ticket is damaged (checksum mismatch): copy it again, all of it."
        case .unsupportedVersion(let v): return "The ticket has version \(v), which this gigi does not know: update gigi."
        }
    }
    public var exitCode: GigiExitCode { .dataError }
}

public struct ShareTicket: Equatable, Sendable {
    public static let version: UInt8 = 1
    public static let prefix = "gigi1"
    public static let maxAddresses = 16
    public static let maxFieldLength = 512

    public var peerID: [UInt8]
    public var addresses: [[UInt8]]
    public var shareID: [UInt8]    // 16 bytes
    public var secret: [UInt8]     // 16 bytes

    public init(peerID: [UInt8], addresses: [[UInt8]], shareID: [UInt8], secret: [UInt8]) {
        precondition(shareID.count == 16 && secret.count == 16)
        self.peerID = peerID
        self.addresses = Array(addresses.prefix(Self.maxAddresses))
        self.shareID = shareID
        self.secret = secret
    }

    /// The PAKE password for this ticket.
    public var pakeSecret: [UInt8] { Array("gigi-ticket/1".utf8) + secret }

    public var bytes: [UInt8] {
        var out: [UInt8] = [Self.version]
        out += CPaceRistretto255.prependLen(peerID)
        out.append(UInt8(addresses.count))
        for a in addresses { out += CPaceRistretto255.prependLen(a) }
        out += shareID + secret
        out += Array(sha256(out)[0..<4])
        return out
    }

    public var text: String { Self.prefix + Base32.encode(bytes) }

    public init(text: String) throws {
        let t = String(text.filter { !$0.isWhitespace }).lowercased()
        guard t.hasPrefix(Self.prefix), let raw = Base32.decode(String(t.dropFirst(Self.prefix.count))) else {
            throw TicketError.malformed
        }
        try self.init(bytes: raw)
    }

    public init(bytes raw: [UInt8]) throws {
        guard raw.count > 5 else { throw TicketError.malformed }
        let body = Array(raw[..<(raw.count - 4)])
        guard sha256(body)[0..<4].elementsEqual(raw[(raw.count - 4)...]) else { throw TicketError.badChecksum }
        guard body[0] == Self.version else { throw TicketError.unsupportedVersion(body[0]) }
        var r = ByteReader(body, from: 1)
        let peer = try r.lengthPrefixed(max: Self.maxFieldLength)
        let n = Int(try r.byte())
        guard n <= Self.maxAddresses else { throw TicketError.malformed }
        var addrs: [[UInt8]] = []
        for _ in 0..<n { addrs.append(try r.lengthPrefixed(max: Self.maxFieldLength)) }
        let sid = try r.take(16), sec = try r.take(16)
        guard r.atEnd else { throw TicketError.malformed }
        self.init(peerID: peer, addresses: addrs, shareID: sid, secret: sec)
    }
}

/// A bounds-checked reader over bytes that throws `TicketError.malformed`.
struct ByteReader {
    let data: [UInt8]
    var pos: Int
    init(_ data: [UInt8], from: Int = 0) { self.data = data; self.pos = from }
    var atEnd: Bool { pos == data.count }
    mutating func byte() throws -> UInt8 {
        guard pos < data.count else { throw TicketError.malformed }
        pos += 1
        return data[pos - 1]
    }
    mutating func take(_ n: Int) throws -> [UInt8] {
        guard n >= 0, data.count - pos >= n else { throw TicketError.malformed }
        pos += n
        return Array(data[(pos - n)..<pos])
    }
    mutating func leb128() throws -> Int {
        var v = 0, shift = 0
        while true {
            let b = try byte()
            v |= Int(b & 0x7f) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
            guard shift < 28 else { throw TicketError.malformed }
        }
    }
    mutating func lengthPrefixed(max: Int) throws -> [UInt8] {
        let n = try leb128()
        guard n <= max else { throw TicketError.malformed }
        return try take(n)
    }
}

func sha256(_ data: [UInt8]) -> [UInt8] { SHA256.hash(data).bytes }

/// RFC 4648 base32, lower case, no padding.
enum Base32 {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)

    static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for b in data {
            buffer = (buffer << 8) | Int(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(buffer >> (bits - 5)) & 31])
                bits -= 5
            }
            buffer &= (1 << bits) - 1
        }
        if bits > 0 { out.append(alphabet[(buffer << (5 - bits)) & 31]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer = 0, bits = 0
        for c in text.utf8 {
            let v: Int
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = Int(c - UInt8(ascii: "a"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): v = Int(c - UInt8(ascii: "2")) + 26
            default: return nil
            }
            buffer = (buffer << 5) | v
            bits += 5
            if bits >= 8 {
                out.append(UInt8((buffer >> (bits - 8)) & 0xff))
                bits -= 8
            }
            buffer &= (1 << bits) - 1
        }
        return buffer == 0 ? out : nil
    }
}
