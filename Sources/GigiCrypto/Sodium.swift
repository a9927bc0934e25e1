// libsodium wrappers: AEADs, X25519, Ed25519, Argon2id.

import CSodium

/// ChaCha20-Poly1305, IETF variant (RFC 8439): 32-byte key, 12-byte nonce, 16-byte tag.
public enum ChaChaPoly {
    public static let keySize = 32, nonceSize = 12, tagSize = 16

    /// Returns ciphertext ‖ tag.
    public static func seal(_ plaintext: UnsafeRawBufferPointer, key: SecureBytes, nonce: [UInt8],
                            aad: [UInt8] = []) throws -> [UInt8] {
        ensureSodium()
        try requireLength("ChaCha20-Poly1305 key", key.count, keySize)
        try requireLength("ChaCha20-Poly1305 nonce", nonce.count, nonceSize)
        var out = [UInt8](repeating: 0, count: plaintext.count + tagSize)
        var outLen: UInt64 = 0
        let r = key.withUnsafeBytes { k in
            crypto_aead_chacha20poly1305_ietf_encrypt(&out, &outLen, plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                                      UInt64(plaintext.count), aad, UInt64(aad.count), nil, nonce,
                                                      k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard r == 0 else { throw CryptoError.libraryFailure("chacha20poly1305 encrypt") }
        return out
    }

    public static func seal(_ plaintext: [UInt8], key: SecureBytes, nonce: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { try seal($0, key: key, nonce: nonce, aad: aad) }
    }

    /// Opens ciphertext ‖ tag; throws `authenticationFailed` if it was altered.
    public static func open(_ sealed: UnsafeRawBufferPointer, key: SecureBytes, nonce: [UInt8],
                            aad: [UInt8] = []) throws -> [UInt8] {
        ensureSodium()
        try requireLength("ChaCha20-Poly1305 key", key.count, keySize)
        try requireLength("ChaCha20-Poly1305 nonce", nonce.count, nonceSize)
        guard sealed.count >= tagSize else { throw CryptoError.authenticationFailed }
        var out = [UInt8](repeating: 0, count: sealed.count - tagSize)
        var outLen: UInt64 = 0
        let r = key.withUnsafeBytes { k in
            crypto_aead_chacha20poly1305_ietf_decrypt(&out, &outLen, nil, sealed.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                      UInt64(sealed.count), aad, UInt64(aad.count), nonce,
                                                      k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard r == 0 else { throw CryptoError.authenticationFailed }
        return out
    }

    public static func open(_ sealed: [UInt8], key: SecureBytes, nonce: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        try sealed.withUnsafeBytes { try open($0, key: key, nonce: nonce, aad: aad) }
    }
}

/// XChaCha20-Poly1305 (IETF construction): 32-byte key, 24-byte random-safe nonce, 16-byte tag.
public enum XChaChaPoly {
    public static let keySize = 32, nonceSize = 24, tagSize = 16

    public static func seal(_ plaintext: [UInt8], key: SecureBytes, nonce: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        ensureSodium()
        try requireLength("XChaCha20-Poly1305 key", key.count, keySize)
        try requireLength("XChaCha20-Poly1305 nonce", nonce.count, nonceSize)
        var out = [UInt8](repeating: 0, count: plaintext.count + tagSize)
        var outLen: UInt64 = 0
        let r = key.withUnsafeBytes { k in
            crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &outLen, plaintext, UInt64(plaintext.count), aad,
                                                       UInt64(aad.count), nil, nonce,
                                                       k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard r == 0 else { throw CryptoError.libraryFailure("xchacha20poly1305 encrypt") }
        return out
    }

    /// Opens into `SecureBytes` (the plaintexts we protect this way are secrets).
    public static func open(_ sealed: [UInt8], key: SecureBytes, nonce: [UInt8], aad: [UInt8] = []) throws -> SecureBytes {
        ensureSodium()
        try requireLength("XChaCha20-Poly1305 key", key.count, keySize)
        try requireLength("XChaCha20-Poly1305 nonce", nonce.count, nonceSize)
        guard sealed.count >= tagSize else { throw CryptoError.authenticationFailed }
        let out = SecureBytes(zeroes: sealed.count - tagSize)
        var outLen: UInt64 = 0
        let r = key.withUnsafeBytes { k in
            out.withUnsafeMutableBytes { o in
                crypto_aead_xchacha20poly1305_ietf_decrypt(o.baseAddress?.assumingMemoryBound(to: UInt8.self) , &outLen, nil,
                                                           sealed, UInt64(sealed.count), aad, UInt64(aad.count), nonce,
                                                           k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard r == 0 else { throw CryptoError.authenticationFailed }
        return out
    }
}

/// X25519 Diffie-Hellman (RFC 7748).
public enum X25519 {
    public static let keySize = 32

    public struct PrivateKey: Sendable {
        public let secret: SecureBytes
        public let publicKey: [UInt8]

        /// A fresh random key.
        public init() {
            self.init(unchecked: SecureBytes.random(count: 32))
        }

        public init(rawRepresentation: SecureBytes) throws {
            try requireLength("X25519 private key", rawRepresentation.count, 32)
            self.init(unchecked: rawRepresentation)
        }

        private init(unchecked secret: SecureBytes) {
            ensureSodium()
            self.secret = secret
            var pub = [UInt8](repeating: 0, count: 32)
            let r = secret.withUnsafeBytes { crypto_scalarmult_curve25519_base(&pub, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
            precondition(r == 0)
            self.publicKey = pub
        }

        /// The shared secret with `peer`. Throws `invalidPoint` for low-order points (all-zero output).
        public func sharedSecret(with peer: [UInt8]) throws -> SecureBytes {
            try requireLength("X25519 public key", peer.count, 32)
            let out = SecureBytes(zeroes: 32)
            let r = secret.withUnsafeBytes { s in
                out.withUnsafeMutableBytes { o in
                    crypto_scalarmult_curve25519(o.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                                 s.baseAddress!.assumingMemoryBound(to: UInt8.self), peer)
                }
            }
            guard r == 0 else { throw CryptoError.invalidPoint }
            return out
        }
    }
}

/// Ed25519 signatures (RFC 8032).
public enum Ed25519 {
    public static let seedSize = 32, publicKeySize = 32, signatureSize = 64

    public struct PrivateKey: Sendable {
        /// The 32-byte seed (the private key as libp2p and RFC 8032 define it).
        public let seed: SecureBytes
        /// libsodium's 64-byte expanded secret key (seed ‖ public key).
        let expanded: SecureBytes
        public let publicKey: PublicKey

        /// A fresh random key.
        public init() {
            try! self.init(seed: SecureBytes.random(count: 32))
        }

        public init(seed: SecureBytes) throws {
            ensureSodium()
            try requireLength("Ed25519 seed", seed.count, seedSize)
            self.seed = seed
            let sk = SecureBytes(zeroes: 64)
            var pk = [UInt8](repeating: 0, count: 32)
            let r = seed.withUnsafeBytes { s in
                sk.withUnsafeMutableBytes { k in
                    crypto_sign_seed_keypair(&pk, k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                             s.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
            guard r == 0 else { throw CryptoError.libraryFailure("crypto_sign_seed_keypair") }
            expanded = sk
            publicKey = PublicKey(unchecked: pk)
        }

        public func signature(for message: UnsafeRawBufferPointer) -> [UInt8] {
            var sig = [UInt8](repeating: 0, count: 64)
            var sigLen: UInt64 = 0
            let r = expanded.withUnsafeBytes { k in
                crypto_sign_detached(&sig, &sigLen, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                     UInt64(message.count), k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            precondition(r == 0 && sigLen == 64)
            return sig
        }

        public func signature(for message: [UInt8]) -> [UInt8] {
            message.withUnsafeBytes { signature(for: $0) }
        }
    }

    public struct PublicKey: Hashable, Sendable {
        public let rawRepresentation: [UInt8]

        public init(rawRepresentation: [UInt8]) throws {
            try requireLength("Ed25519 public key", rawRepresentation.count, publicKeySize)
            self.rawRepresentation = rawRepresentation
        }

        init(unchecked raw: [UInt8]) { rawRepresentation = raw }

        public func isValidSignature(_ signature: [UInt8], for message: UnsafeRawBufferPointer) -> Bool {
            ensureSodium()
            guard signature.count == signatureSize else { return false }
            return crypto_sign_verify_detached(signature, message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                               UInt64(message.count), rawRepresentation) == 0
        }

        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            message.withUnsafeBytes { isValidSignature(signature, for: $0) }
        }
    }
}

/// Argon2id password hashing (libsodium `crypto_pwhash`), for keystore keys.
public enum Argon2id {
    public static let saltSize = 16

    /// Cost parameters; stored beside the ciphertext so they can change later.
    public struct Cost: Codable, Equatable, Sendable {
        public var opsLimit: UInt64
        public var memLimit: UInt64
        public init(opsLimit: UInt64, memLimit: UInt64) { self.opsLimit = opsLimit; self.memLimit = memLimit }

        /// libsodium's "moderate" limits (3 passes, 256 MiB): the keystore default.
        public static var moderate: Cost {
            Cost(opsLimit: UInt64(crypto_pwhash_opslimit_moderate()), memLimit: UInt64(crypto_pwhash_memlimit_moderate()))
        }
        /// libsodium's "interactive" limits (2 passes, 64 MiB).
        public static var interactive: Cost {
            Cost(opsLimit: UInt64(crypto_pwhash_opslimit_interactive()), memLimit: UInt64(crypto_pwhash_memlimit_interactive()))
        }
        /// The smallest limits libsodium accepts: for tests only.
        public static var minimum: Cost {
            Cost(opsLimit: UInt64(crypto_pwhash_opslimit_min()), memLimit: UInt64(crypto_pwhash_memlimit_min()))
        }
    }

    public static func deriveKey(password: SecureBytes, salt: [UInt8], cost: Cost, length: Int = 32) throws -> SecureBytes {
        ensureSodium()
        try requireLength("Argon2id salt", salt.count, saltSize)
        guard cost.opsLimit >= UInt64(crypto_pwhash_opslimit_min()), cost.memLimit >= UInt64(crypto_pwhash_memlimit_min()),
              cost.opsLimit <= UInt64(crypto_pwhash_opslimit_max()) else {
            throw CryptoError.keyDerivationFailed
        }
        let out = SecureBytes(zeroes: length)
        // libsodium needs a non-null pointer even for an empty password.
        let r = password.withUnsafeBytes { p in
            withUnsafeBytes(of: CChar(0)) { zero in
                out.withUnsafeMutableBytes { o in
                    crypto_pwhash(o.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(length),
                                  (p.baseAddress ?? zero.baseAddress!).assumingMemoryBound(to: CChar.self),
                                  UInt64(p.count), salt, cost.opsLimit, Int(cost.memLimit), crypto_pwhash_ALG_ARGON2ID13)
                }
            }
        }
        guard r == 0 else { throw CryptoError.keyDerivationFailed }
        return out
    }
}
