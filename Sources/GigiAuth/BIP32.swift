// BIP-32 hierarchical deterministic keys on secp256k1: the master key from a
// seed, private and public child derivation, paths like m/44'/60'/0'/0/0.
// Spec: https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki

import COpenSSL
import GigiBase
import GigiCrypto
import P2PCore

/// Why a derivation or a serialised key was rejected.
public enum BIP32Error: UserFacingError, Equatable {
    /// A path that does not read as `m/…` with decimal indices (`'`, `h` or `H` for hardened).
    case invalidPath(String)
    /// The seed gave an invalid master key, or an index gave an invalid child (probability < 2⁻¹²⁷).
    case invalidKey
    /// Hardened derivation needs the private key.
    case hardenedFromPublic
    /// The child would be deeper than 255 levels.
    case tooDeep
    /// An xprv/xpub string that is malformed or fails its checksum.
    case invalidSerialization(String)

    public var message: String {
        switch self {
        case .invalidPath(let p):
            return "\"\(p)\" is not a BIP-32 path; write it like m/44'/60'/0'/0/0."
        case .invalidKey:
            return "This index derives an invalid key (a 1 in 2^127 event); use the next index."
        case .hardenedFromPublic:
            return "A hardened child cannot be derived from a public key; use the private key."
        case .tooDeep:
            return "A BIP-32 path can be at most 255 levels deep."
        case .invalidSerialization(let why):
            return "The extended key is not valid: \(why)."
        }
    }

    public var exitCode: GigiExitCode { .dataError }
}

/// A BIP-32 derivation path: a list of child indices, hardened ones ≥ 2³¹.
public struct DerivationPath: Hashable, Sendable, CustomStringConvertible {
    public static let hardenedOffset: UInt32 = 0x8000_0000

    public var indices: [UInt32]

    public init(indices: [UInt32]) { self.indices = indices }

    /// Parses `m`, `m/0`, `m/44'/60'/0'/0/7` (also `h`/`H` for hardened).
    public init(_ text: String) throws(BIP32Error) {
        var parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.first == "m" else { throw .invalidPath(text) }
        parts.removeFirst()
        guard parts.count <= 255 else { throw .tooDeep }
        var out = [UInt32]()
        for part in parts {
            var digits = Substring(part)
            var hardened = false
            if let last = digits.last, "'hH".contains(last) {
                hardened = true
                digits = digits.dropLast()
            }
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                  digits.count <= 10, let n = UInt32(digits), n < Self.hardenedOffset else {
                throw .invalidPath(text)
            }
            out.append(hardened ? n | Self.hardenedOffset : n)
        }
        indices = out
    }

    /// BIP-44 account paths of the original Gigi app: `m/44'/60'/<account>'/0/<index>`.
    public static func bip44(account: UInt32, index: UInt32) -> DerivationPath {
        DerivationPath(indices: [44 | hardenedOffset, 60 | hardenedOffset, account | hardenedOffset, 0, index])
    }

    public var description: String {
        (["m"] + indices.map { $0 >= Self.hardenedOffset ? "\($0 - Self.hardenedOffset)'" : "\($0)" })
            .joined(separator: "/")
    }
}

/// An extended key: a secp256k1 key plus chain code, depth and parentage.
/// The private half, when present, is in `SecureBytes`; `description` is redacted.
public struct ExtendedKey: Sendable, CustomStringConvertible {
    public let depth: UInt8
    /// First 4 bytes of HASH160 of the parent's public key (0 for the master).
    public let parentFingerprint: UInt32
    public let childNumber: UInt32
    public let chainCode: SecureBytes
    /// 32 bytes, or nil for a public-only (neutered) key.
    public let privateKey: SecureBytes?
    /// 33-byte compressed public key.
    public let publicKey: [UInt8]

    init(depth: UInt8, parentFingerprint: UInt32, childNumber: UInt32,
         chainCode: SecureBytes, privateKey: SecureBytes?, publicKey: [UInt8]) {
        self.depth = depth
        self.parentFingerprint = parentFingerprint
        self.childNumber = childNumber
        self.chainCode = chainCode
        self.privateKey = privateKey
        self.publicKey = publicKey
    }

    /// The master key: HMAC-SHA512(key "Bitcoin seed", seed), left half the key, right half the chain code.
    public static func master(seed: SecureBytes) throws(BIP32Error) -> ExtendedKey {
        precondition((16...64).contains(seed.count), "BIP-32 seeds are 16 to 64 bytes")
        let i = seed.withUnsafeBytes { s in
            Array("Bitcoin seed".utf8).withUnsafeBytes { k in SecureBytes(HMAC.authenticate(.sha512, key: k, message: s)) }
        }
        let (key, chain) = i.withUnsafeBytes { (SecureBytes($0[0..<32]), SecureBytes($0[32..<64])) }
        guard key.withUnsafeBytes({ Secp256k1.isValidScalar($0) }) else { throw .invalidKey }
        return ExtendedKey(depth: 0, parentFingerprint: 0, childNumber: 0, chainCode: chain, privateKey: key,
                           publicKey: key.withUnsafeBytes { Secp256k1.publicKey(privateKey: $0) })
    }

    /// Whether this key holds its private half.
    public var isPrivate: Bool { privateKey != nil }

    /// The same key without its private half.
    public var neutered: ExtendedKey {
        ExtendedKey(depth: depth, parentFingerprint: parentFingerprint, childNumber: childNumber,
                    chainCode: chainCode, privateKey: nil, publicKey: publicKey)
    }

    /// HASH160 (RIPEMD-160 of SHA-256) of the public key.
    public var identifier: [UInt8] { Self.hash160(publicKey) }

    /// The first 4 bytes of `identifier`, as children record it.
    public var fingerprint: UInt32 {
        identifier.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The 65-byte uncompressed public key (0x04 ‖ X ‖ Y).
    public var uncompressedPublicKey: [UInt8] {
        Secp256k1.reencode(publicKey, compressed: false)!
    }

    /// Child `index` (hardened if ≥ 2³¹). Private keys give private children;
    /// public keys give public children for normal indices only.
    public func child(_ index: UInt32) throws(BIP32Error) -> ExtendedKey {
        guard depth < 255 else { throw .tooDeep }
        let hardened = index >= DerivationPath.hardenedOffset
        // data = (0x00 ‖ k  or  serP(K)) ‖ ser32(index), kept in secure memory.
        let data = SecureBytes(zeroes: 37)
        if hardened {
            guard let privateKey else { throw .hardenedFromPublic }
            data.withUnsafeMutableBytes { d in
                privateKey.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: d[1..<33]).copyMemory(from: $0) }
            }
        } else {
            data.withUnsafeMutableBytes { d in
                publicKey.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: d[0..<33]).copyMemory(from: $0) }
            }
        }
        data.withUnsafeMutableBytes { d in d.storeBytes(of: index.bigEndian, toByteOffset: 33, as: UInt32.self) }
        let i = chainCode.withUnsafeBytes { c in
            data.withUnsafeBytes { d in SecureBytes(HMAC.authenticate(.sha512, key: c, message: d)) }
        }
        let (tweak, chain) = i.withUnsafeBytes { (SecureBytes($0[0..<32]), SecureBytes($0[32..<64])) }
        if let privateKey {
            guard let key = tweak.withUnsafeBytes({ Secp256k1.addScalars(privateKey, $0) }) else { throw .invalidKey }
            return ExtendedKey(depth: depth + 1, parentFingerprint: fingerprint, childNumber: index, chainCode: chain,
                               privateKey: key, publicKey: key.withUnsafeBytes { Secp256k1.publicKey(privateKey: $0) })
        }
        guard let pub = tweak.withUnsafeBytes({ Secp256k1.addTweak($0, toPublicKey: publicKey) }) else { throw .invalidKey }
        return ExtendedKey(depth: depth + 1, parentFingerprint: fingerprint, childNumber: index, chainCode: chain,
                           privateKey: nil, publicKey: pub)
    }

    /// Follows `path` from this key (normally the master).
    public func derive(_ path: DerivationPath) throws(BIP32Error) -> ExtendedKey {
        var key = self
        for index in path.indices { key = try key.child(index) }
        return key
    }

    public var description: String {
        "ExtendedKey(depth \(depth), child \(childNumber), \(isPrivate ? "private, redacted" : "public \(Hex.encode(publicKey))"))"
    }

    static func hash160(_ bytes: [UInt8]) -> [UInt8] {
        let sha = SHA256.hash(bytes).bytes
        var out = [UInt8](repeating: 0, count: 20)
        var len: UInt32 = 0
        precondition(EVP_Digest(sha, sha.count, &out, &len, EVP_ripemd160(), nil) == 1 && len == 20,
                     "RIPEMD-160 is not available in OpenSSL")
        return out
    }
}

// MARK: - xprv / xpub serialisation (BIP-32 "Serialization format")

extension ExtendedKey {
    /// Mainnet version bytes: "xprv" and "xpub".
    public static let privateVersion: UInt32 = 0x0488_ADE4
    public static let publicVersion: UInt32 = 0x0488_B21E

    /// The 78-byte serialisation in Base58Check: `xprv…` for a private key, `xpub…` for a public one.
    /// An xprv holds the secret: show it only where the user asked for it.
    public var serialized: String {
        var out = [UInt8]()
        out.reserveCapacity(78)
        func be32(_ v: UInt32) { out.append(contentsOf: [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]) }
        be32(isPrivate ? Self.privateVersion : Self.publicVersion)
        out.append(depth)
        be32(parentFingerprint)
        be32(childNumber)
        out.append(contentsOf: chainCode.unsafeBytes)
        if let privateKey {
            out.append(0)
            out.append(contentsOf: privateKey.unsafeBytes)
        } else {
            out.append(contentsOf: publicKey)
        }
        defer { for i in out.indices { out[i] = 0 } }
        return Base58Check.encode(out)
    }

    /// Parses an `xprv…` or `xpub…` string, with every check of BIP-32 test vector 5.
    public init(serialized text: String) throws(BIP32Error) {
        guard text.utf8.count <= 120 else { throw .invalidSerialization("it is too long") }
        let raw = try Base58Check.decode(text)
        guard raw.count == 78 else { throw .invalidSerialization("it has \(raw.count) bytes instead of 78") }
        func be32(_ o: Int) -> UInt32 { raw[o..<o + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        let version = be32(0)
        let depth = raw[4], fingerprint = be32(5), child = be32(9)
        let chain = SecureBytes(raw[13..<45])
        let keyData = Array(raw[45..<78])
        guard depth != 0 || (fingerprint == 0 && child == 0) else {
            throw .invalidSerialization("a master key (depth 0) must have no parent and index 0")
        }
        switch version {
        case Self.privateVersion:
            guard keyData[0] == 0 else { throw .invalidSerialization("an xprv key must start with 0x00") }
            let key = SecureBytes(keyData[1...])
            guard key.withUnsafeBytes({ Secp256k1.isValidScalar($0) }) else {
                throw .invalidSerialization("the private key is not in 1…n-1")
            }
            self.init(depth: depth, parentFingerprint: fingerprint, childNumber: child, chainCode: chain,
                      privateKey: key, publicKey: key.withUnsafeBytes { Secp256k1.publicKey(privateKey: $0) })
        case Self.publicVersion:
            guard keyData[0] == 2 || keyData[0] == 3, Secp256k1.reencode(keyData, compressed: true) == keyData else {
                throw .invalidSerialization("the public key is not a compressed secp256k1 point")
            }
            self.init(depth: depth, parentFingerprint: fingerprint, childNumber: child, chainCode: chain,
                      privateKey: nil, publicKey: keyData)
        default:
            throw .invalidSerialization("unknown version bytes")
        }
    }
}

/// Base58Check: Base58 (P2PCore) of payload ‖ first 4 bytes of SHA-256(SHA-256(payload)).
enum Base58Check {
    static func encode(_ payload: [UInt8]) -> String {
        Base58.encode(payload + checksum(payload))
    }

    static func decode(_ text: String) throws(BIP32Error) -> [UInt8] {
        guard let raw = try? Base58.decode(text), raw.count >= 4 else {
            throw .invalidSerialization("it is not Base58")
        }
        let payload = Array(raw.dropLast(4))
        guard constantTimeEquals(Array(raw.suffix(4)), checksum(payload)) else {
            throw .invalidSerialization("its checksum does not match (a typo?)")
        }
        return payload
    }

    private static func checksum(_ payload: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(SHA256.hash(payload).bytes).bytes.prefix(4))
    }
}
