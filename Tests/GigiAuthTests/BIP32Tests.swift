import GigiBase
import GigiCrypto
import XCTest
@testable import GigiAuth

final class BIP32Tests: XCTestCase {
    struct Vectors: Decodable {
        struct Chain: Decodable { let path: String; let xpub: String; let xprv: String }
        struct Vector: Decodable { let vector: Int; let seed: String; let chains: [Chain] }
        struct Invalid: Decodable { let key: String; let reason: String }
        let vectors: [Vector]
        let invalid: [Invalid]
    }

    /// BIP-32 test vectors 1–4: xprv and xpub at every path, by private derivation
    /// from the master, and each string parses back to the same key.
    func testSpecVectors() throws {
        let file = try loadVector("bip32-vectors", as: Vectors.self)
        XCTAssertEqual(file.vectors.map(\.vector), [1, 2, 3, 4])
        var checked = 0
        for v in file.vectors {
            let master = try ExtendedKey.master(seed: SecureBytes(XCTUnwrap(Hex.decode(v.seed))))
            for chain in v.chains {
                let key = try master.derive(DerivationPath(chain.path))
                XCTAssertEqual(key.serialized, chain.xprv, "vector \(v.vector) \(chain.path)")
                XCTAssertEqual(key.neutered.serialized, chain.xpub, "vector \(v.vector) \(chain.path)")
                XCTAssertEqual(try ExtendedKey(serialized: chain.xprv).serialized, chain.xprv)
                XCTAssertEqual(try ExtendedKey(serialized: chain.xpub).serialized, chain.xpub)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 17)
    }

    /// Public derivation from a parsed xpub reaches the next xpub of vector 1 (m/0'/1 → m/0'/1/2'/2 needs
    /// a hardened step, so use m/0'/1/2'/2 → …/1000000000).
    func testPublicDerivationFromXpub() throws {
        let parent = try ExtendedKey(serialized: "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV")
        XCTAssertEqual(try parent.child(1_000_000_000).serialized,
                       "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy")
    }

    /// BIP-32 test vector 5: every invalid extended key is rejected.
    func testInvalidSerializations() throws {
        let file = try loadVector("bip32-vectors", as: Vectors.self)
        XCTAssertEqual(file.invalid.count, 16)
        for bad in file.invalid {
            XCTAssertThrowsError(try ExtendedKey(serialized: bad.key), bad.reason)
        }
    }

    func testPathParsing() throws {
        let h = DerivationPath.hardenedOffset
        XCTAssertEqual(try DerivationPath("m").indices, [])
        XCTAssertEqual(try DerivationPath("m/44'/60'/0'/0/7").indices, [44 | h, 60 | h, h, 0, 7])
        XCTAssertEqual(try DerivationPath("m/0h/1H/2").indices, [h, 1 | h, 2])
        XCTAssertEqual(try DerivationPath("m/2147483647'").indices, [UInt32.max])
        XCTAssertEqual(DerivationPath.bip44(account: 2, index: 5).description, "m/44'/60'/2'/0/5")
        XCTAssertEqual(try DerivationPath("m/44'/60'/0'/0/0").description, "m/44'/60'/0'/0/0")
        for bad in ["", "n/0", "m/", "m//1", "m/-1", "m/2147483648", "m/1''", "m/ 1", "m/+1", "m/0x1", "M/1", "m/١"] {
            XCTAssertThrowsError(try DerivationPath(bad), bad) { XCTAssertEqual($0 as? BIP32Error, .invalidPath(bad)) }
        }
    }

    /// Public derivation of a normal child equals the public half of private derivation.
    func testPublicDerivationMatchesPrivate() throws {
        let master = try ExtendedKey.master(seed: SecureBytes(Array(0..<32)))
        let account = try master.derive(DerivationPath("m/44'/60'/0'"))
        for i: UInt32 in [0, 1, 1000] {
            XCTAssertEqual(try account.neutered.child(i).publicKey, try account.child(i).publicKey)
            XCTAssertEqual(try account.neutered.child(i).chainCode, try account.child(i).chainCode)
        }
        XCTAssertThrowsError(try account.neutered.child(DerivationPath.hardenedOffset)) {
            XCTAssertEqual($0 as? BIP32Error, .hardenedFromPublic)
        }
        XCTAssertNil(try account.neutered.child(0).privateKey)
    }

    /// The mnemonic every EVM toolchain (Hardhat, Anvil) uses for its first test account.
    func testWellKnownTestMnemonicAddress() throws {
        let m = try Mnemonic(phrase: "test test test test test test test test test test test junk")
        let key = try ExtendedKey.master(seed: m.seed()).derive(DerivationPath("m/44'/60'/0'/0/0"))
        XCTAssertEqual(try EVMAddress(publicKey: key.publicKey).checksummed, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        XCTAssertEqual(Hex.encode(try XCTUnwrap(key.privateKey).unsafeBytes),
                       "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
        let second = try ExtendedKey.master(seed: m.seed()).derive(DerivationPath("m/44'/60'/0'/0/1"))
        XCTAssertEqual(try EVMAddress(publicKey: second.publicKey).checksummed, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
    }

    func testDescriptionRedactsPrivateKey() throws {
        let master = try ExtendedKey.master(seed: SecureBytes(Array(0..<32)))
        let secret = Hex.encode(try XCTUnwrap(master.privateKey).unsafeBytes)
        XCTAssertFalse(master.description.contains(secret))
        XCTAssertTrue(master.description.contains("redacted"))
    }
}
