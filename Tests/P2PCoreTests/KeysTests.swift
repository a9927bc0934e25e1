import GigiBase
import GigiCrypto
import XCTest
@testable import P2PCore

struct KeyVectors: Decodable {
    struct SeedPeer: Decodable {
        let first_seed_byte: UInt8
        let peer_id: String
    }
    struct SpecExamples: Decodable {
        let cid_sha256: String
        let base58_sha256: String
        let base58_ed25519: String
    }
    let ed25519_private: String
    let ed25519_public: String
    let secp256k1_public: String
    let ecdsa_public: String
    let secp256k1_private: String
    let seed_peer_ids: [SeedPeer]
    let spec_examples: SpecExamples
}

/// The Ed25519 key whose seed is `[first] ++ 31 zero bytes`.
func seededKey(_ first: UInt8) throws -> P2PPrivateKey {
    try P2PPrivateKey(seed: SecureBytes([first] + [UInt8](repeating: 0, count: 31)))
}

final class KeysTests: XCTestCase {
    func testSpecEd25519VectorsRoundTrip() throws {
        let v = try loadVectors("keys.json", as: KeyVectors.self)
        let privateKey = try P2PPrivateKey(protobufEncoded: hex(v.ed25519_private))
        XCTAssertEqual(privateKey.publicKey.protobufEncoded, hex(v.ed25519_public))
        XCTAssertEqual(privateKey.protobufEncoded.unsafeBytes, hex(v.ed25519_private))
        let publicKey = try P2PPublicKey(protobufEncoded: hex(v.ed25519_public))
        XCTAssertEqual(publicKey, privateKey.publicKey)
    }

    func testLegacy96ByteEd25519PrivateKey() throws {
        let v = try loadVectors("keys.json", as: KeyVectors.self)
        let modern = hex(v.ed25519_private)
        let pub = Array(modern.suffix(32))
        // 08 01 12 60 ‖ seed ‖ pub ‖ pub
        let legacy = [0x08, 0x01, 0x12, 0x60] + Array(modern[4...]) + pub
        XCTAssertEqual(try P2PPrivateKey(protobufEncoded: legacy).publicKey.protobufEncoded, hex(v.ed25519_public))
        var mismatched = legacy
        mismatched[mismatched.count - 1] ^= 1
        XCTAssertThrowsError(try P2PPrivateKey(protobufEncoded: mismatched))
        var wrongHalf = modern
        wrongHalf[wrongHalf.count - 1] ^= 1
        XCTAssertThrowsError(try P2PPrivateKey(protobufEncoded: wrongHalf))
    }

    func testOtherKeyTypesAreUnsupportedNotGarbage() throws {
        let v = try loadVectors("keys.json", as: KeyVectors.self)
        for (hexKey, name) in [(v.secp256k1_public, "secp256k1"), (v.ecdsa_public, "ECDSA")] {
            XCTAssertThrowsError(try P2PPublicKey(protobufEncoded: hex(hexKey))) { error in
                let e = error as? P2PCoreError
                XCTAssertEqual(e?.kind, .key)
                XCTAssertTrue(e?.message.contains(name) ?? false, e?.message ?? "")
            }
        }
        XCTAssertThrowsError(try P2PPrivateKey(protobufEncoded: hex(v.secp256k1_private)))
    }

    func testMalformedPublicKeys() {
        XCTAssertThrowsError(try P2PPublicKey(protobufEncoded: []))                        // required fields missing
        XCTAssertThrowsError(try P2PPublicKey(protobufEncoded: [0x08, 0x01]))              // no Data
        XCTAssertThrowsError(try P2PPublicKey(protobufEncoded: [0x08, 0x01, 0x12, 0x02, 1, 2]))   // short key
        XCTAssertThrowsError(try P2PPublicKey(protobufEncoded: [0x08, 0x09, 0x12, 0x00]))  // unknown type
        XCTAssertThrowsError(try P2PPublicKey(protobufEncoded: [0x08, 0x01, 0x12, 0x20]))  // truncated
        XCTAssertThrowsError(try P2PPublicKey(protobufEncoded: [UInt8](repeating: 0, count: 2000)))
    }

    func testSignAndVerify() throws {
        let key = try seededKey(7)
        let message = Array("noise-libp2p-static-key:".utf8)
        let signature = key.signature(for: message)
        XCTAssertTrue(key.publicKey.isValidSignature(signature, for: message))
        XCTAssertFalse(key.publicKey.isValidSignature(signature, for: message + [0]))
        XCTAssertFalse(try seededKey(8).publicKey.isValidSignature(signature, for: message))
    }
}
