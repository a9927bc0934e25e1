// Peer IDs (libp2p/specs peer-ids/peer-ids.md): the multihash of a public key's
// protobuf encoding — identity for keys of at most 42 bytes, sha2-256 above.

/// A libp2p peer identity.
///
/// Text forms: legacy base58btc multihash (`12D3KooW…` for Ed25519 keys,
/// `Qm…` for hashed keys), which is what `description` prints, and CIDv1 with
/// the `libp2p-key` codec in multibase (`bafz…`), which `cidString` prints.
/// Both are parsed. `Codable` as the legacy string.
public struct PeerID: Hashable, Sendable, CustomStringConvertible, CodableAsText {
    /// The multihash whose bytes are the peer ID.
    public let multihash: Multihash

    /// Keys whose encoding is at most this long are inlined with the identity hash.
    public static let maxInlineKeyLength = 42
    /// Multicodec `libp2p-key`, the content type of a peer-ID CID.
    static let libp2pKeyCodec: UInt64 = 0x72
    /// Longest peer-ID text accepted (a sha2-256 CID in base32 is 62 characters).
    public static let maxTextLength = 128

    /// The peer ID of `publicKey`.
    public init(publicKey: P2PPublicKey) {
        let encoded = publicKey.protobufEncoded
        multihash = encoded.count <= PeerID.maxInlineKeyLength ? .identity(encoded) : .sha256(encoded)
    }

    /// A peer ID from its binary form (a multihash), e.g. from a `/p2p` multiaddr component.
    public init(bytes: [UInt8]) throws {
        try self.init(multihash: Multihash(bytes: bytes))
    }

    /// A peer ID from a multihash; an identity multihash must hold a public key.
    public init(multihash: Multihash) throws {
        if multihash.code == .identity {
            guard multihash.digest.count <= PeerID.maxInlineKeyLength else {
                throw P2PCoreError(.peerID, "An inlined peer ID key is longer than \(PeerID.maxInlineKeyLength) bytes.")
            }
            // Must decode as a key message; the key type itself may be unsupported.
            _ = try P2PPublicKey.decodeMessage(multihash.digest)
        }
        self.multihash = multihash
    }

    /// Parses `12D3KooW…`, `Qm…`, `1…` or a CIDv1 (`bafz…`, or any base Gigi reads).
    public init(_ text: String) throws {
        guard !text.isEmpty else {
            throw P2PCoreError(.peerID, "The peer ID is empty.")
        }
        guard text.utf8.count <= PeerID.maxTextLength else {
            throw P2PCoreError(.peerID, "The peer ID is longer than \(PeerID.maxTextLength) characters.")
        }
        if text.hasPrefix("Qm") || text.hasPrefix("1") {
            let bytes: [UInt8]
            do { bytes = try Base58.decode(text) } catch {
                throw P2PCoreError(.peerID, "'\(text)' is not a valid peer ID: it is not base58btc.")
            }
            try self.init(bytes: bytes)
            return
        }
        let decoded: [UInt8]
        do { decoded = try Multibase.decode(text).bytes } catch {
            throw P2PCoreError(.peerID, "'\(text)' is not a peer ID: expected 12D3KooW…, Qm… or a bafz… CID.")
        }
        var reader = ByteReader(decoded, kind: .peerID)
        let version = try reader.varint("CID version")
        guard version == 1 else {
            throw P2PCoreError(.peerID, "A peer-ID CID must be CIDv1, not version \(version).")
        }
        let codec = try reader.varint("CID codec")
        guard codec == PeerID.libp2pKeyCodec else {
            throw P2PCoreError(.peerID, "The CID's codec 0x\(String(codec, radix: 16)) is not libp2p-key (0x72).")
        }
        var hashReader = ByteReader(try reader.bytes(reader.remaining, "CID multihash"), kind: .multihash)
        let multihash = try Multihash(reading: &hashReader)
        guard hashReader.isAtEnd else {
            throw P2PCoreError(.peerID, "Bytes follow the multihash in the peer-ID CID.")
        }
        try self.init(multihash: multihash)
    }

    /// The binary form (multihash bytes).
    public var bytes: [UInt8] { multihash.bytes }

    /// Legacy base58btc text, e.g. `12D3KooW…`.
    public var description: String { Base58.encode(bytes) }

    /// CIDv1 text in base32 (`bafz…`).
    public var cidString: String {
        var cid = Varint.encode(1)
        Varint.encode(PeerID.libp2pKeyCodec, into: &cid)
        cid.append(contentsOf: bytes)
        return Multibase.encode(cid, as: .base32)
    }

    /// The public key inlined in this peer ID, if it uses the identity hash and a supported key type.
    public var inlinedPublicKey: P2PPublicKey? {
        guard multihash.code == .identity else { return nil }
        return try? P2PPublicKey(protobufEncoded: multihash.digest)
    }

    /// Whether `publicKey` is the key this peer ID names.
    public func matches(_ publicKey: P2PPublicKey) -> Bool {
        PeerID(publicKey: publicKey) == self
    }
}
