// libp2p identity keys (libp2p/specs peer-ids/peer-ids.md). Gigi signs and
// verifies with Ed25519 only; the other key types are recognised when decoding
// so a peer using them gets a clear "unsupported" error rather than garbage.

import Foundation
import GigiCrypto
import SwiftProtobuf

/// libp2p key types (the protobuf `KeyType` enum).
public enum P2PKeyType: Int, Sendable, CustomStringConvertible {
    case rsa = 0, ed25519 = 1, secp256k1 = 2, ecdsa = 3

    public var description: String {
        switch self {
        case .rsa: return "RSA"
        case .ed25519: return "Ed25519"
        case .secp256k1: return "secp256k1"
        case .ecdsa: return "ECDSA"
        }
    }
}

/// A libp2p public identity key (Ed25519).
public struct P2PPublicKey: Hashable, Sendable {
    /// The Ed25519 key.
    public let ed25519: Ed25519.PublicKey

    /// Longest protobuf-encoded public key accepted from a peer. An RSA-4096
    /// key is about 550 bytes; Ed25519 is 36.
    public static let maxEncodedLength = 1024

    public init(ed25519: Ed25519.PublicKey) {
        self.ed25519 = ed25519
    }

    /// The raw 32 Ed25519 public-key bytes.
    public init(ed25519Raw raw: [UInt8]) throws {
        do { ed25519 = try Ed25519.PublicKey(rawRepresentation: raw) } catch {
            throw P2PCoreError(.key, "An Ed25519 public key must be 32 bytes, not \(raw.count).")
        }
    }

    /// Decodes the protobuf `PublicKey` message.
    /// - Throws: `P2PCoreError` for malformed input or a key type Gigi does not support.
    public init(protobufEncoded bytes: [UInt8]) throws {
        let message = try P2PPublicKey.decodeMessage(bytes)
        guard message.type == .ed25519 else {
            let type = P2PKeyType(rawValue: message.type.rawValue) ?? .rsa
            throw P2PCoreError(.key, "The peer uses a \(type) identity key; Gigi supports only Ed25519 keys.")
        }
        try self.init(ed25519Raw: Array(message.data))
    }

    /// Parses the protobuf message without interpreting the key data.
    static func decodeMessage(_ bytes: [UInt8]) throws -> PBPublicKey {
        guard bytes.count <= maxEncodedLength else {
            throw P2PCoreError(.key, "The encoded public key is \(bytes.count) bytes; at most \(maxEncodedLength) are allowed.")
        }
        do {
            return try PBPublicKey(serializedBytes: bytes)
        } catch {
            throw P2PCoreError(.key, "The public key is not a valid libp2p PublicKey protobuf message.")
        }
    }

    /// The key type.
    public var type: P2PKeyType { .ed25519 }

    /// The deterministic protobuf encoding (`08 01 12 20 ‖ key`).
    public var protobufEncoded: [UInt8] {
        var message = PBPublicKey()
        message.type = .ed25519
        message.data = Data(ed25519.rawRepresentation)
        // Serialising a message with all required fields set cannot fail.
        return try! message.serializedBytes()
    }

    /// The peer ID of this key.
    public var peerID: PeerID { PeerID(publicKey: self) }

    /// Whether `signature` is this key's signature of `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        ed25519.isValidSignature(signature, for: message)
    }
}

/// A libp2p private identity key (Ed25519).
public struct P2PPrivateKey: Sendable {
    public let ed25519: Ed25519.PrivateKey

    /// A fresh random key.
    public init() {
        ed25519 = Ed25519.PrivateKey()
    }

    public init(ed25519: Ed25519.PrivateKey) {
        self.ed25519 = ed25519
    }

    /// From a 32-byte Ed25519 seed.
    public init(seed: SecureBytes) throws {
        do { ed25519 = try Ed25519.PrivateKey(seed: seed) } catch {
            throw P2PCoreError(.key, "An Ed25519 seed must be 32 bytes, not \(seed.count).")
        }
    }

    /// Decodes a protobuf `PrivateKey` message (the libp2p key-file format).
    ///
    /// The Ed25519 data may be `seed ‖ public` (64 bytes, preferred) or the
    /// legacy `seed ‖ public ‖ public` (96 bytes); the public half must match the seed.
    public init(protobufEncoded bytes: [UInt8]) throws {
        guard bytes.count <= 4096 else {
            throw P2PCoreError(.key, "The encoded private key is \(bytes.count) bytes, too long for a libp2p key.")
        }
        let message: PBPrivateKey
        do { message = try PBPrivateKey(serializedBytes: bytes) } catch {
            throw P2PCoreError(.key, "The private key is not a valid libp2p PrivateKey protobuf message.")
        }
        guard message.type == .ed25519 else {
            let type = P2PKeyType(rawValue: message.type.rawValue) ?? .rsa
            throw P2PCoreError(.key, "The private key is a \(type) key; Gigi supports only Ed25519 keys.")
        }
        let data = SecureBytes(message.data)
        guard data.count == 64 || data.count == 96 else {
            throw P2PCoreError(.key, "An Ed25519 private key must hold 64 bytes (seed and public key), not \(data.count).")
        }
        let (seed, publics) = data.withUnsafeBytes { raw in
            (SecureBytes(raw[0..<32]), Array(raw[32...]))
        }
        try self.init(seed: seed)
        let expected = ed25519.publicKey.rawRepresentation
        guard Array(publics[0..<32]) == expected, publics.count == 32 || Array(publics[32...]) == expected else {
            throw P2PCoreError(.key, "The private key's public half does not match its seed; the key file is corrupt.")
        }
    }

    /// The protobuf encoding with `seed ‖ public` as the data. Contains the
    /// secret: write it only to files of mode 0600.
    public var protobufEncoded: SecureBytes {
        var message = PBPrivateKey()
        message.type = .ed25519
        var data = Data(ed25519.seed.unsafeBytes)
        data.append(contentsOf: ed25519.publicKey.rawRepresentation)
        message.data = data
        var encoded: [UInt8] = try! message.serializedBytes()
        let secret = SecureBytes(encoded)
        // Best effort: wipe the temporary plain copies.
        data.resetBytes(in: 0..<data.count)
        message.data = Data()
        for i in encoded.indices { encoded[i] = 0 }
        return secret
    }

    public var publicKey: P2PPublicKey { P2PPublicKey(ed25519: ed25519.publicKey) }

    public var peerID: PeerID { publicKey.peerID }

    /// An Ed25519 signature of `message`.
    public func signature(for message: [UInt8]) -> [UInt8] {
        ed25519.signature(for: message)
    }
}
