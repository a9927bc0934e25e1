// Ethereum (EVM) addresses: the last 20 bytes of Keccak-256 of the 64-byte
// uncompressed public key (X ‖ Y, without the 0x04 prefix), written in the
// EIP-55 mixed-case checksum form.
// Spec: Ethereum yellow paper (eq. 284), EIP-55.

import GigiBase

/// A 20-byte EVM account address.
public struct EVMAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    public let bytes: [UInt8]

    /// From a secp256k1 public key: 65 bytes `04 ‖ X ‖ Y`, 64 bytes `X ‖ Y`, or 33 compressed bytes.
    public init(publicKey: [UInt8]) throws(BIP32Error) {
        var key = publicKey
        if key.count == 33 {
            guard let full = Secp256k1.reencode(key, compressed: false) else { throw .invalidKey }
            key = full
        }
        if key.count == 65, key[0] == 0x04 { key.removeFirst() }
        guard key.count == 64 else { throw .invalidKey }
        bytes = Array(Keccak256.hash(key).suffix(20))
    }

    /// From 20 raw bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 20 else { return nil }
        self.bytes = bytes
    }

    /// Parses `0x` + 40 hex digits. All-lower or all-upper digits are accepted
    /// as they are; mixed case must be the correct EIP-55 checksum.
    public init?(_ text: String) {
        guard text.hasPrefix("0x") || text.hasPrefix("0X") else { return nil }
        let hex = String(text.dropFirst(2))
        guard hex.utf8.count == 40, let raw = Hex.decode(hex) else { return nil }
        bytes = raw
        let letters = hex.filter(\.isLetter)
        let mixed = letters != letters.lowercased() && letters != letters.uppercased()
        if mixed, checksummed != "0x" + hex { return nil }
    }

    /// EIP-55: a hex letter is upper case where the matching nibble of
    /// Keccak-256(lower-case hex address) is 8 or more.
    public var checksummed: String {
        let lower = Hex.encode(bytes)
        let hash = Keccak256.hash(Array(lower.utf8))
        var out = "0x"
        for (i, c) in lower.enumerated() {
            let nibble = (hash[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0x0f
            out.append(c.isLetter && nibble >= 8 ? Character(c.uppercased()) : c)
        }
        return out
    }

    public var description: String { checksummed }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let a = EVMAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an EVM address"))
        }
        self = a
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(checksummed)
    }
}
