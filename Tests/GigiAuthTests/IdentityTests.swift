import GigiBase
import GigiCrypto
import P2PCore
import XCTest
@testable import GigiAuth

final class IdentityTests: XCTestCase {
    static let testPhrase = "test test test test test test test test test test test junk"

    func testPaths() {
        XCTAssertEqual(IdentityPurpose.evm.path(index: 0).description, "m/44'/60'/0'/0/0")
        XCTAssertEqual(IdentityPurpose.group.path(index: 3).description, "m/44'/60'/1'/0/3")
        XCTAssertEqual(IdentityPurpose.libp2p.path(index: 7).description, "m/44'/60'/2'/0/7")
    }

    /// Index 0 of the well-known test mnemonic. The EVM address is what every
    /// wallet derives; the peer ID and group id were checked with an independent
    /// Python derivation (pure-Python secp256k1 BIP-32 + pycryptodome Ed25519).
    func testWellKnownMnemonic() throws {
        let id = try DerivedIdentity(mnemonic: Mnemonic(phrase: Self.testPhrase), index: 0)
        XCTAssertEqual(id.evmAddress.checksummed, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        XCTAssertEqual(id.peerID.description, Self.expectedPeerID)
        XCTAssertEqual(id.groupID, Self.expectedGroupID)
        XCTAssertTrue(id.peerID.description.hasPrefix("12D3KooW"))
        XCTAssertTrue(id.groupID.hasPrefix("12D3KooW"))
        // The libp2p key is the secp256k1 child key used as the Ed25519 seed.
        let child = try ExtendedKey.master(seed: Mnemonic(phrase: Self.testPhrase).seed())
            .derive(DerivationPath("m/44'/60'/2'/0/0"))
        XCTAssertEqual(id.libp2pKey.ed25519.seed, child.privateKey)
    }

    func testIndicesDiffer() throws {
        let m = try Mnemonic(phrase: Self.testPhrase)
        let a = try DerivedIdentity(mnemonic: m, index: 0), b = try DerivedIdentity(mnemonic: m, index: 1)
        XCTAssertNotEqual(a.peerID, b.peerID)
        XCTAssertNotEqual(a.evmAddress, b.evmAddress)
        XCTAssertNotEqual(a.groupID, b.groupID)
        XCTAssertNotEqual(a.peerID.description, a.groupID)
        XCTAssertEqual(b.evmAddress.checksummed, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
        XCTAssertEqual(try DerivedIdentity(mnemonic: m, index: 1).facts, b.facts, "deterministic")
        XCTAssertThrowsError(try DerivedIdentity(mnemonic: m, index: DerivationPath.hardenedOffset))
    }

    func testPassphraseChangesIdentity() throws {
        let m = try Mnemonic(phrase: Self.testPhrase)
        XCTAssertNotEqual(try DerivedIdentity(mnemonic: m, passphrase: "x", index: 0).peerID,
                          try DerivedIdentity(mnemonic: m, index: 0).peerID)
    }

    static let expectedPeerID = "12D3KooWBL11SBwFyJGefwUdpR4xEMDZ6DuiidCBwgmDdLsoQ9mg"
    static let expectedGroupID = "12D3KooWEFWqysgMXdtRAPAEXobvckL5pFJkrnKbB2uf9FFNGejr"
}
