// GigiCrypto: typed, thin wrappers over libsodium, OpenSSL 3 and libb2, plus
// our own BLAKE3 (see BLAKE3.swift and the CBLAKE3 target).
//
// Goals: every C return code checked at once; secrets held in `SecureBytes`,
// which zeroes itself; comparisons of secrets in constant time; no global
// mutable state beyond libsodium's one-time initialisation.
// Non-goals: algorithm agility. Each type is one algorithm with fixed sizes.

import CSodium
import GigiBase

/// Errors from the cryptographic wrappers.
public enum CryptoError: Error, Equatable, Sendable {
    /// A key, nonce, seed or input had the wrong length.
    case invalidLength(what: String, expected: Int, got: Int)
    /// Authenticated decryption failed: wrong key, or the data was altered.
    case authenticationFailed
    /// A signature did not verify.
    case invalidSignature
    /// A public key or point was not valid (e.g. a small-order X25519 point).
    case invalidPoint
    /// The underlying library reported a failure.
    case libraryFailure(String)
    /// Key derivation ran out of memory or was given impossible limits.
    case keyDerivationFailed
}

extension CryptoError: UserFacingError {
    public var message: String {
        switch self {
        case .invalidLength(let what, let expected, let got):
            return "Invalid \(what) length: expected \(expected) bytes, got \(got)."
        case .authenticationFailed:
            return "Decryption failed: the key is wrong or the data was altered."
        case .invalidSignature:
            return "A signature did not verify."
        case .invalidPoint:
            return "A public key was not valid."
        case .libraryFailure(let s):
            return "A cryptographic library call failed (\(s))."
        case .keyDerivationFailed:
            return "Key derivation failed: not enough memory for the chosen cost."
        }
    }
    public var exitCode: GigiExitCode {
        switch self {
        case .authenticationFailed, .invalidSignature: return .noPermission
        case .invalidLength, .invalidPoint: return .dataError
        case .libraryFailure, .keyDerivationFailed: return .software
        }
    }
}

/// libsodium must be initialised once before use; every entry point calls this.
@usableFromInline
let sodiumReady: Bool = {
    precondition(sodium_init() >= 0, "libsodium failed to initialise")
    return true
}()

@inline(__always) @usableFromInline
func ensureSodium() { _ = sodiumReady }

@inline(__always)
func requireLength(_ what: String, _ count: Int, _ expected: Int) throws {
    if count != expected { throw CryptoError.invalidLength(what: what, expected: expected, got: count) }
}
