// The few secp256k1 operations BIP-32 needs, on OpenSSL 3's EC_GROUP /
// EC_POINT / BIGNUM. Scalars that are secrets live in secure-heap BIGNUMs
// flagged constant-time and are cleared when freed.

import COpenSSL
import GigiCrypto

/// secp256k1 scalar and point arithmetic (SEC 2 §2.4.1) for key derivation.
enum Secp256k1 {
    /// The curve group, created once. OpenSSL only reads it after creation, so
    /// sharing it between threads is safe.
    private final class Curve: @unchecked Sendable {
        let group: OpaquePointer
        let order: OpaquePointer
        init() {
            guard let g = EC_GROUP_new_by_curve_name(NID_secp256k1), let n = EC_GROUP_get0_order(g) else {
                fatalError("OpenSSL lacks secp256k1")
            }
            group = g
            order = n
        }
    }
    private static let curve = Curve()

    /// A BN_CTX for one operation (freed on return).
    private static func withContext<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        guard let ctx = BN_CTX_secure_new() else { fatalError("BN_CTX_secure_new failed: out of memory") }
        defer { BN_CTX_free(ctx) }
        return try body(ctx)
    }

    /// A secure-heap BIGNUM holding the 32 big-endian bytes, flagged constant-time.
    private static func withSecretScalar<R>(_ bytes: UnsafeRawBufferPointer, _ body: (OpaquePointer) throws -> R) rethrows -> R {
        guard let bn = BN_secure_new() else { fatalError("BN_secure_new failed: out of memory") }
        defer { BN_clear_free(bn) }
        BN_set_flags(bn, BN_FLG_CONSTTIME)
        guard BN_bin2bn(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(bytes.count), bn) != nil else {
            fatalError("BN_bin2bn failed")
        }
        return try body(bn)
    }

    /// Whether 0 < k < n for the 32 big-endian bytes `k`.
    static func isValidScalar(_ k: UnsafeRawBufferPointer) -> Bool {
        guard k.count == 32 else { return false }
        return withSecretScalar(k) { bn in BN_is_zero(bn) == 0 && BN_cmp(bn, curve.order) < 0 }
    }

    /// (a + b) mod n, or nil if b ≥ n or the sum is zero (BIP-32's "invalid child").
    static func addScalars(_ a: SecureBytes, _ b: UnsafeRawBufferPointer) -> SecureBytes? {
        guard isValidScalar(b) || (b.count == 32 && b.allSatisfy { $0 == 0 }) else { return nil }
        return a.withUnsafeBytes { ab in
            withSecretScalar(ab) { x in
                withSecretScalar(b) { y in
                    withContext { ctx -> SecureBytes? in
                        guard let sum = BN_secure_new() else { fatalError("BN_secure_new failed") }
                        defer { BN_clear_free(sum) }
                        BN_set_flags(sum, BN_FLG_CONSTTIME)
                        precondition(BN_mod_add(sum, x, y, curve.order, ctx) == 1, "BN_mod_add failed")
                        guard BN_is_zero(sum) == 0 else { return nil }
                        let out = SecureBytes(zeroes: 32)
                        out.withUnsafeMutableBytes { o in
                            precondition(BN_bn2binpad(sum, o.baseAddress!.assumingMemoryBound(to: UInt8.self), 32) == 32)
                        }
                        return out
                    }
                }
            }
        }
    }

    /// k·G, serialised compressed (33 bytes) or uncompressed (65 bytes).
    static func publicKey(privateKey k: UnsafeRawBufferPointer, compressed: Bool = true) -> [UInt8] {
        precondition(isValidScalar(k), "secp256k1 private key out of range")
        return withSecretScalar(k) { bn in
            withContext { ctx in
                withPoint { p in
                    precondition(EC_POINT_mul(curve.group, p, bn, nil, nil, ctx) == 1, "EC_POINT_mul failed")
                    return encode(p, compressed: compressed, ctx)
                }
            }
        }
    }

    /// tweak·G + P for a serialised point P; nil if the tweak is out of range,
    /// P is not on the curve, or the sum is the point at infinity.
    static func addTweak(_ tweak: UnsafeRawBufferPointer, toPublicKey encoded: [UInt8], compressed: Bool = true) -> [UInt8]? {
        guard isValidScalar(tweak) else { return nil }
        return withSecretScalar(tweak) { t in
            withContext { ctx in
                withPoint { p in
                    guard decode(encoded, into: p, ctx) else { return nil }
                    return withPoint { r -> [UInt8]? in
                        // r = t·G + 1·P
                        guard let one = BN_new() else { fatalError("BN_new failed") }
                        defer { BN_free(one) }
                        precondition(BN_set_word(one, 1) == 1)
                        precondition(EC_POINT_mul(curve.group, r, t, p, one, ctx) == 1, "EC_POINT_mul failed")
                        guard EC_POINT_is_at_infinity(curve.group, r) == 0 else { return nil }
                        return encode(r, compressed: compressed, ctx)
                    }
                }
            }
        }
    }

    /// Re-encodes a point (compressed ↔ uncompressed); nil if it is not on the curve.
    static func reencode(_ encoded: [UInt8], compressed: Bool) -> [UInt8]? {
        withContext { ctx in
            withPoint { p in decode(encoded, into: p, ctx) ? encode(p, compressed: compressed, ctx) : nil }
        }
    }

    private static func withPoint<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        guard let p = EC_POINT_new(curve.group) else { fatalError("EC_POINT_new failed: out of memory") }
        defer { EC_POINT_clear_free(p) }
        return try body(p)
    }

    private static func decode(_ encoded: [UInt8], into p: OpaquePointer, _ ctx: OpaquePointer) -> Bool {
        guard encoded.count == 33 || encoded.count == 65 else { return false }
        return EC_POINT_oct2point(curve.group, p, encoded, encoded.count, ctx) == 1
            && EC_POINT_is_on_curve(curve.group, p, ctx) == 1
            && EC_POINT_is_at_infinity(curve.group, p) == 0
    }

    private static func encode(_ p: OpaquePointer, compressed: Bool, _ ctx: OpaquePointer) -> [UInt8] {
        let form = compressed ? POINT_CONVERSION_COMPRESSED : POINT_CONVERSION_UNCOMPRESSED
        var out = [UInt8](repeating: 0, count: compressed ? 33 : 65)
        let n = EC_POINT_point2oct(curve.group, p, form, &out, out.count, ctx)
        precondition(n == out.count, "EC_POINT_point2oct failed")
        return out
    }
}
