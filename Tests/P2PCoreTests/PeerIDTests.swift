import Foundation
import XCTest
@testable import P2PCore

final class PeerIDTests: XCTestCase {
    func testReferencePeerIDsFromSeeds() throws {
        let v = try loadVectors("keys.json", as: KeyVectors.self)
        XCTAssertEqual(v.seed_peer_ids.count, 3)
        for entry in v.seed_peer_ids {
            let key = try seededKey(entry.first_seed_byte)
            XCTAssertEqual(key.peerID.description, entry.peer_id)
            let parsed = try PeerID(entry.peer_id)
            XCTAssertEqual(parsed, key.peerID)
            XCTAssertEqual(parsed.inlinedPublicKey, key.publicKey)
            XCTAssertTrue(parsed.matches(key.publicKey))
            XCTAssertEqual(parsed.multihash.code, .identity)
        }
    }

    func testCIDFormRoundTrips() throws {
        let id = try seededKey(1).peerID
        let cid = id.cidString
        XCTAssertTrue(cid.hasPrefix("bafz"), cid)
        XCTAssertEqual(try PeerID(cid), id)
        // Any multibase Gigi reads, e.g. base58btc CIDs.
        var raw = Varint.encode(1) + Varint.encode(0x72)
        raw += id.bytes
        XCTAssertEqual(try PeerID(Multibase.encode(raw, as: .base58btc)), id)
    }

    func testSpecExamples() throws {
        let v = try loadVectors("keys.json", as: KeyVectors.self).spec_examples
        let fromCID = try PeerID(v.cid_sha256)
        let legacy = try PeerID(v.base58_sha256)
        XCTAssertEqual(fromCID, legacy)
        XCTAssertEqual(legacy.multihash.code, .sha2_256)
        XCTAssertEqual(legacy.description, v.base58_sha256)
        XCTAssertEqual(fromCID.cidString, v.cid_sha256)
        XCTAssertNil(legacy.inlinedPublicKey)
        let ed = try PeerID(v.base58_ed25519)
        XCTAssertEqual(ed.description, v.base58_ed25519)
        XCTAssertNotNil(ed.inlinedPublicKey)
    }

    func testLongKeysAreHashed() throws {
        // An RSA-style public key message longer than 42 bytes: the peer ID is its SHA-256.
        let v = try loadVectors("keys.json", as: KeyVectors.self)
        let ecdsa = hex(v.ecdsa_public)
        let id = try PeerID(multihash: .sha256(ecdsa))
        XCTAssertTrue(id.description.hasPrefix("Qm"))
        // An identity multihash holding a secp256k1 key is a valid (if unsupported) peer ID.
        let secp = try PeerID(multihash: .identity(hex(v.secp256k1_public)))
        XCTAssertTrue(secp.description.hasPrefix("16U"), secp.description)
        XCTAssertNil(secp.inlinedPublicKey)
    }

    func testRejectsInvalidText() {
        let bad = [
            "", "12D3KooW", "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6",   // truncated
            "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6XX",                // extra char
            "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx50",                       // '0' not base58
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",          // dag-pb CID, not libp2p-key
            "hello", "/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X",
            String(repeating: "1", count: 500),
            "1111",                                                                 // identity multihash of nothing
        ]
        for text in bad {
            XCTAssertThrowsError(try PeerID(text), text)
        }
    }

    func testCodableAsString() throws {
        let id = try seededKey(2).peerID
        let json = try JSONEncoder().encode([id])
        XCTAssertEqual(String(decoding: json, as: UTF8.self), "[\"\(id)\"]")
        XCTAssertEqual(try JSONDecoder().decode([PeerID].self, from: json), [id])
        XCTAssertThrowsError(try JSONDecoder().decode([PeerID].self, from: Data("[\"nope\"]".utf8)))
    }

    func testHashableDistinguishesPeers() throws {
        let set: Set = [try seededKey(1).peerID, try seededKey(2).peerID, try seededKey(1).peerID]
        XCTAssertEqual(set.count, 2)
    }
}
