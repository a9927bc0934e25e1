import GigiBase
import GigiCrypto
import XCTest
@testable import GigiAuth

final class BIP32Tests: XCTestCase {
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
