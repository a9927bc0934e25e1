// Noise Protocol Framework §5.1 CipherState and §5.2 SymmetricState for
// ChaChaPoly and SHA256.

import GigiCrypto

/// §5.1: a key (once set) and a 64-bit counter nonce.
struct NoiseCipherState: Sendable {
    private(set) var key: SecureBytes?
    private(set) var nonce: UInt64 = 0

    init(key: SecureBytes? = nil) {
        self.key = key
    }

    /// ChaChaPoly nonce encoding (§12.3): 32 zero bits, then the counter little-endian.
    static func nonceBytes(_ n: UInt64) -> [UInt8] {
        [0, 0, 0, 0] + withUnsafeBytes(of: n.littleEndian) { Array($0) }
    }

    /// Claims the next nonce; 2^64-1 is reserved (§5.1).
    mutating func nextNonce() throws -> UInt64 {
        guard nonce < UInt64.max else { throw NoiseError.nonceExhausted }
        defer { nonce += 1 }
        return nonce
    }

    mutating func encrypt(ad: [UInt8], _ plaintext: [UInt8]) throws -> [UInt8] {
        guard let key else { return plaintext }
        let n = try nextNonce()
        return try ChaChaPoly.seal(plaintext, key: key, nonce: Self.nonceBytes(n), aad: ad)
    }

    mutating func decrypt(ad: [UInt8], _ ciphertext: [UInt8]) throws -> [UInt8] {
        guard let key else { return ciphertext }
        guard nonce < UInt64.max else { throw NoiseError.nonceExhausted }
        do {
            let plaintext = try ChaChaPoly.open(ciphertext, key: key, nonce: Self.nonceBytes(nonce), aad: ad)
            nonce += 1   // only on success (§5.1 DecryptWithAd)
            return plaintext
        } catch {
            throw NoiseError.decryptionFailed
        }
    }
}

/// §5.2: chaining key, handshake hash and the current cipher.
struct NoiseSymmetricState: Sendable {
    private(set) var chainingKey: [UInt8]
    private(set) var handshakeHash: [UInt8]
    private(set) var cipher = NoiseCipherState()

    /// InitializeSymmetric: a name of at most 32 bytes is zero-padded, a longer one hashed.
    init(protocolName: String) {
        let name = Array(protocolName.utf8)
        handshakeHash = name.count <= 32 ? name + [UInt8](repeating: 0, count: 32 - name.count)
                                         : SHA256.hash(name).bytes
        chainingKey = handshakeHash
    }

    mutating func mixHash(_ data: [UInt8]) {
        var hasher = SHA256()
        hasher.update(handshakeHash)
        hasher.update(data)
        handshakeHash = hasher.finalize().bytes
    }

    /// HKDF(ck, ikm) with two outputs (§4.3): RFC 5869 with salt ck and empty info.
    private func hkdf(_ ikm: [UInt8]) -> ([UInt8], [UInt8]) {
        let prk = HKDF.extract(.sha256, salt: chainingKey, ikm: ikm)
        let out = HKDF.expand(.sha256, prk: prk, info: [], length: 64)
        return (Array(out[..<32]), Array(out[32...]))
    }

    mutating func mixKey(_ ikm: SecureBytes) {
        let (ck, k) = hkdf(ikm.unsafeBytes)
        chainingKey = ck
        cipher = NoiseCipherState(key: SecureBytes(k))
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) throws -> [UInt8] {
        let ciphertext = try cipher.encrypt(ad: handshakeHash, plaintext)
        mixHash(ciphertext)
        return ciphertext
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws -> [UInt8] {
        let plaintext = try cipher.decrypt(ad: handshakeHash, ciphertext)
        mixHash(ciphertext)
        return plaintext
    }

    /// Whether a key has been mixed in (payloads and static keys are then encrypted).
    var hasKey: Bool { cipher.key != nil }

    /// Split (§5.2): the initiator→responder and responder→initiator transport keys.
    func split() -> (SecureBytes, SecureBytes) {
        let (k1, k2) = hkdf([])
        return (SecureBytes(k1), SecureBytes(k2))
    }
}
