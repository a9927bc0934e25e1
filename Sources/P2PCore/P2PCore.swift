// P2PCore: the libp2p vocabulary every other P2P module speaks.
//
// Goals: exact, strictly validated codecs for the multiformats libp2p uses —
// unsigned varints, multihash (identity, sha2-256), multibase (base58btc `z`,
// base32 lower `b`), peer IDs and identity keys (protobuf encoding per
// libp2p/specs peer-ids/peer-ids.md), and multiaddrs in binary and text form
// (ip4, ip6, tcp, udp, quic-v1, p2p, p2p-circuit, dns, dns4, dns6, dnsaddr).
// Everything here is a value type; parsing never trusts its input and every
// length a peer controls is bounded.
//
// Non-goals: I/O, name resolution, RSA/secp256k1/ECDSA identities (their
// public keys are recognised and rejected as unsupported), multiaddr
// protocols Gigi does not use (they are reported as unknown).
//
// Specs: multiformats/unsigned-varint, multiformats/multihash,
// multiformats/multibase, multiformats/multiaddr (codes from
// multiformats/multicodec table.csv), libp2p/specs peer-ids.

import GigiBase

/// Why a libp2p value could not be decoded or built.
///
/// Malformed data from a peer and mistyped addresses from a user both land
/// here; `message` is one sentence that names the offending part.
public struct P2PCoreError: UserFacingError, Equatable, Sendable {
    /// Which codec rejected the input.
    public enum Kind: String, Sendable {
        case varint, multihash, multibase, peerID, key, multiaddr
    }

    public let kind: Kind
    public let message: String
    public var exitCode: GigiExitCode { .dataError }

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
}

/// Values that are `Codable` as their text form (peer IDs, multiaddrs), so
/// JSON and config files hold `12D3KooW…` and `/ip4/…` rather than byte arrays.
public protocol CodableAsText: Codable, CustomStringConvertible {
    init(_ text: String) throws
}

extension CodableAsText {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        try self.init(container.decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
