// Multihash (multiformats/multihash): varint code ‖ varint digest length ‖ digest.

import GigiCrypto

/// A self-describing hash. Gigi reads and writes the two codes peer IDs use:
/// `identity` (the "digest" is the data itself) and `sha2-256`.
public struct Multihash: Hashable, Sendable {
    /// Multicodec code of the hash function.
    public enum Code: UInt64, Sendable {
        case identity = 0x00
        case sha2_256 = 0x12

        var name: String { self == .identity ? "identity" : "sha2-256" }
    }

    /// The digest as one block of bytes (the synthesized hash would feed them to the
    /// hasher one at a time; peer IDs key many dictionaries).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        digest.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Largest identity digest accepted. Peer IDs inline keys of at most 42
    /// bytes (peer-ids.md); 128 leaves room without letting a peer make us
    /// keep an arbitrary blob.
    public static let maxIdentityLength = 128

    public let code: Code
    public let digest: [UInt8]

    /// Wraps `data` in an identity multihash.
    public static func identity(_ data: [UInt8]) -> Multihash {
        precondition(data.count <= maxIdentityLength, "identity multihash too long")
        return Multihash(code: .identity, digest: data)
    }

    /// Hashes `data` with SHA-256.
    public static func sha256(_ data: [UInt8]) -> Multihash {
        Multihash(code: .sha2_256, digest: Array(SHA256.hash(data).bytes))
    }

    private init(code: Code, digest: [UInt8]) {
        self.code = code
        self.digest = digest
    }

    /// Parses exactly one multihash occupying all of `bytes`.
    public init(bytes: [UInt8]) throws {
        var reader = ByteReader(bytes, kind: .multihash)
        self = try Multihash(reading: &reader)
        guard reader.isAtEnd else {
            throw P2PCoreError(.multihash, "\(reader.remaining) bytes follow the multihash.")
        }
    }

    init(reading reader: inout ByteReader) throws {
        let rawCode = try reader.varint("multihash code")
        guard let code = Code(rawValue: rawCode) else {
            throw P2PCoreError(.multihash, "Multihash code 0x\(String(rawCode, radix: 16)) is not supported (only identity and sha2-256).")
        }
        let length = try reader.varint("multihash length")
        switch code {
        case .identity:
            guard length <= UInt64(Multihash.maxIdentityLength) else {
                throw P2PCoreError(.multihash, "An identity multihash of \(length) bytes is longer than the \(Multihash.maxIdentityLength) allowed.")
            }
        case .sha2_256:
            guard length == 32 else {
                throw P2PCoreError(.multihash, "A sha2-256 multihash must hold 32 bytes, not \(length).")
            }
        }
        self.init(code: code, digest: try reader.bytes(Int(length), "\(code.name) digest"))
    }

    /// The binary encoding.
    public var bytes: [UInt8] {
        var out = Varint.encode(code.rawValue)
        Varint.encode(UInt64(digest.count), into: &out)
        out.append(contentsOf: digest)
        return out
    }
}
