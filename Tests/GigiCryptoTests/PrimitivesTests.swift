// Published test vectors for the wrapped primitives (Vectors/primitives.json):
// FIPS 180 SHA-2, RFC 4231 HMAC, RFC 7914-style PBKDF2-SHA256, RFC 7693 and the
// BLAKE2 reference KAT, RFC 8439 ChaCha20-Poly1305, the XChaCha draft, RFC 7748, RFC 8032.

import Foundation
import GigiBase
import XCTest
@testable import GigiCrypto

final class PrimitivesTests: XCTestCase {
    nonisolated(unsafe) private static let vectors: [String: [[String: Any]]] = {
        let url = Bundle.module.url(forResource: "Vectors/primitives", withExtension: "json")!
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: [[String: Any]]]
    }()

    private func hex(_ v: [String: Any], _ key: String) -> [UInt8] { Hex.decode(v[key] as! String)! }

    func testSHA256() {
        for v in Self.vectors["sha256"]! {
            XCTAssertEqual(SHA256.hash(hex(v, "msg")).hex, v["digest"] as! String)
            // Incremental, one byte at a time, and a copy taken midway keeps its own state.
            var h = SHA256()
            let msg = hex(v, "msg")
            for b in msg.prefix(msg.count / 2) { h.update([b]) }
            let copy = h
            for b in msg.dropFirst(msg.count / 2) { h.update([b]) }
            XCTAssertEqual(h.finalize().hex, v["digest"] as! String)
            if msg.count > 1 { XCTAssertNotEqual(copy.finalize().hex, v["digest"] as! String) }
        }
    }

    func testSHA512() {
        for v in Self.vectors["sha512"]! {
            XCTAssertEqual(Hex.encode(SHA512.hash(hex(v, "msg"))), v["digest"] as! String)
        }
    }

    func testHMAC() {
        for v in Self.vectors["hmac"]! {
            XCTAssertEqual(Hex.encode(HMAC.authenticate(.sha256, key: hex(v, "key"), message: hex(v, "msg"))),
                           v["sha256"] as! String, v["source"] as! String)
            XCTAssertEqual(Hex.encode(HMAC.authenticate(.sha512, key: hex(v, "key"), message: hex(v, "msg"))),
                           v["sha512"] as! String, v["source"] as! String)
            XCTAssertTrue(HMAC.verify(.sha256, tag: hex(v, "sha256"), key: hex(v, "key"), message: hex(v, "msg")))
            XCTAssertFalse(HMAC.verify(.sha256, tag: hex(v, "sha256"), key: hex(v, "key"), message: hex(v, "msg") + [0]))
        }
    }

    func testPBKDF2() {
        for v in Self.vectors["pbkdf2_sha256"]! {
            let dk = PBKDF2.derive(.sha256, password: hex(v, "password"), salt: hex(v, "salt"),
                                   iterations: v["iterations"] as! Int, keyLength: 32)
            XCTAssertEqual(Hex.encode(dk.unsafeBytes), v["dk"] as! String)
        }
    }

    func testHKDFRFC5869Case1() {
        // RFC 5869 A.1.
        let okm = HKDF.derive(.sha256, ikm: [UInt8](repeating: 0x0b, count: 22),
                              salt: Hex.decode("000102030405060708090a0b0c")!,
                              info: Hex.decode("f0f1f2f3f4f5f6f7f8f9")!, length: 42)
        XCTAssertEqual(Hex.encode(okm),
                       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }

    func testBLAKE2b() throws {
        for v in Self.vectors["blake2b"]! {
            let out = try BLAKE2b.hash(hex(v, "msg"), outputSize: v["outlen"] as! Int, key: hex(v, "key"),
                                       salt: hex(v, "salt"), personal: hex(v, "personal"))
            XCTAssertEqual(Hex.encode(out), v["digest"] as! String, v["source"] as! String)
        }
        XCTAssertThrowsError(try BLAKE2b.hash([], personal: [UInt8](repeating: 1, count: 17)))
        XCTAssertThrowsError(try BLAKE2b.hash([], outputSize: 65))
    }

    func testChaChaPoly() throws {
        for v in Self.vectors["chacha20poly1305"]! {
            let key = SecureBytes(hex(v, "key"))
            let sealed = try ChaChaPoly.seal(hex(v, "plaintext"), key: key, nonce: hex(v, "nonce"), aad: hex(v, "aad"))
            XCTAssertEqual(Hex.encode(sealed), (v["ciphertext"] as! String) + (v["tag"] as! String))
            XCTAssertEqual(try ChaChaPoly.open(sealed, key: key, nonce: hex(v, "nonce"), aad: hex(v, "aad")),
                           hex(v, "plaintext"))
            var tampered = sealed
            tampered[3] ^= 1
            XCTAssertThrowsError(try ChaChaPoly.open(tampered, key: key, nonce: hex(v, "nonce"), aad: hex(v, "aad")))
            // In-place variants agree with the allocating ones.
            var buf = hex(v, "plaintext") + [UInt8](repeating: 0, count: 16)
            let n = buf.count - 16
            key.withUnsafeBytes { k in
                hex(v, "nonce").withUnsafeBytes { nn in
                    hex(v, "aad").withUnsafeBytes { a in
                        buf.withUnsafeMutableBytes { ChaChaPoly.sealInPlace($0.baseAddress!, count: n, key: k.baseAddress!, nonce: nn.baseAddress!, aad: a) }
                        XCTAssertEqual(buf, sealed)
                        let total = buf.count
                        var altered = buf
                        altered[total - 1] ^= 0x80
                        let rejected = altered.withUnsafeMutableBytes { ChaChaPoly.openInPlace($0.baseAddress!, count: total, key: k.baseAddress!, nonce: nn.baseAddress!, aad: a) }
                        XCTAssertFalse(rejected, "a tampered tag was accepted in place")
                        let ok = buf.withUnsafeMutableBytes { ChaChaPoly.openInPlace($0.baseAddress!, count: total, key: k.baseAddress!, nonce: nn.baseAddress!, aad: a) }
                        XCTAssertTrue(ok)
                    }
                }
            }
            XCTAssertEqual(Array(buf.prefix(n)), hex(v, "plaintext"))
        }
    }

    func testXChaChaPoly() throws {
        for v in Self.vectors["xchacha20poly1305"]! {
            let key = SecureBytes(hex(v, "key"))
            let sealed = try XChaChaPoly.seal(hex(v, "plaintext"), key: key, nonce: hex(v, "nonce"), aad: hex(v, "aad"))
            XCTAssertEqual(Hex.encode(sealed), (v["ciphertext"] as! String) + (v["tag"] as! String))
            XCTAssertEqual(try XChaChaPoly.open(sealed, key: key, nonce: hex(v, "nonce"), aad: hex(v, "aad")).unsafeBytes,
                           hex(v, "plaintext"))
            XCTAssertThrowsError(try XChaChaPoly.open(sealed, key: key, nonce: hex(v, "nonce"), aad: []))
        }
    }

    func testX25519() throws {
        for v in Self.vectors["x25519"]! {
            let a = try X25519.PrivateKey(rawRepresentation: SecureBytes(hex(v, "alice_private")))
            let b = try X25519.PrivateKey(rawRepresentation: SecureBytes(hex(v, "bob_private")))
            XCTAssertEqual(a.publicKey, hex(v, "alice_public"))
            XCTAssertEqual(b.publicKey, hex(v, "bob_public"))
            XCTAssertEqual(try a.sharedSecret(with: b.publicKey).unsafeBytes, hex(v, "shared"))
            XCTAssertEqual(try b.sharedSecret(with: a.publicKey).unsafeBytes, hex(v, "shared"))
        }
        // A low-order point (all zero) is refused rather than yielding an all-zero secret.
        XCTAssertThrowsError(try X25519.PrivateKey().sharedSecret(with: [UInt8](repeating: 0, count: 32)))
    }

    func testEd25519() throws {
        for v in Self.vectors["ed25519"]! {
            let key = try Ed25519.PrivateKey(seed: SecureBytes(hex(v, "seed")))
            XCTAssertEqual(key.publicKey.rawRepresentation, hex(v, "public"))
            let sig = key.signature(for: hex(v, "msg"))
            XCTAssertEqual(Hex.encode(sig), v["signature"] as! String, v["source"] as! String)
            XCTAssertTrue(key.publicKey.isValidSignature(sig, for: hex(v, "msg")))
            XCTAssertFalse(key.publicKey.isValidSignature(sig, for: hex(v, "msg") + [1]))
        }
    }

    func testArgon2idDeterministicAndSaltSensitive() throws {
        let pw = SecureBytes(Array("correct horse".utf8))
        let salt = [UInt8](repeating: 7, count: 16)
        let k1 = try Argon2id.deriveKey(password: pw, salt: salt, cost: .minimum)
        let k2 = try Argon2id.deriveKey(password: pw, salt: salt, cost: .minimum)
        let k3 = try Argon2id.deriveKey(password: pw, salt: [UInt8](repeating: 8, count: 16), cost: .minimum)
        XCTAssertEqual(k1, k2)
        XCTAssertNotEqual(k1, k3)
        XCTAssertThrowsError(try Argon2id.deriveKey(password: pw, salt: [1, 2, 3], cost: .minimum))
        XCTAssertGreaterThanOrEqual(Argon2id.Cost.moderate.memLimit, 256 << 20)
    }

    func testDigest32AndHex() {
        let bytes = (0..<32).map { UInt8($0) }
        let d = Digest32(bytes: bytes)!
        XCTAssertEqual(d.bytes, bytes)
        XCTAssertEqual(Digest32(hex: d.hex), d)
        XCTAssertNil(Digest32(bytes: [1, 2, 3]))
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
        XCTAssertLessThan(Digest32(bytes: [UInt8](repeating: 0, count: 31) + [1])!, d)
        XCTAssertTrue(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(constantTimeEquals([1, 2, 3], [1, 2]))
        XCTAssertEqual(SecureBytes([1, 2]).description, "SecureBytes(2 bytes, redacted)")
    }
}
