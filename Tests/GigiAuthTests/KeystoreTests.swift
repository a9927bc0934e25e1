import Foundation
import GigiBase
import GigiCrypto
import P2PCore
import XCTest
@testable import GigiAuth

final class KeystoreTests: XCTestCase {
    let phrase = "test test test test test test test test test test test junk"
    let password = SecureBytes(Array("correct horse".utf8))
    var home = ""

    override func setUpWithError() throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("gigi-keystore-\(UUID().uuidString)").path
        let dir = home
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    }

    private func create(_ store: Keystore, force: Bool = false, index: UInt32 = 0) throws -> AccountInfo {
        try store.create(mnemonic: Mnemonic(phrase: phrase), password: password, nickname: "alice", index: index,
                         cost: .minimum, force: force)
    }

    func testCreateUnlockAndPublicFacts() throws {
        let store = Keystore(home: home)
        XCTAssertFalse(store.exists)
        let info = try create(store)
        XCTAssertEqual(info.identity.evmAddress.checksummed, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        XCTAssertEqual(info.identity.peerID.description, IdentityTests.expectedPeerID)
        XCTAssertEqual(try store.info(), info, "public facts readable without the password")
        XCTAssertEqual(SecretFile.mode(of: store.path), 0o600)
        XCTAssertEqual(SecretFile.mode(of: store.identityKeyPath), 0o600)

        let account = try store.unlock(password: password)
        XCTAssertEqual(account.mnemonic.words.joined(separator: " "), phrase)
        XCTAssertEqual(account.identity.facts, info.identity)
        XCTAssertEqual(account.info.nickname, "alice")

        // The node identity key is the account's libp2p key.
        XCTAssertEqual(try NodeIdentity.read(file: store.identityKeyPath)?.peerID, info.identity.peerID)
        XCTAssertEqual(try NodeIdentity.loadOrCreate(home: home).peerID, info.identity.peerID)
    }

    func testNoPlaintextSecretOnDisk() throws {
        let store = Keystore(home: home)
        try create(store)
        let file = try String(contentsOfFile: store.path, encoding: .utf8)
        XCTAssertFalse(file.contains("junk"))
        XCTAssertFalse(file.contains("test test"))
        let entropy = try Mnemonic(phrase: phrase).entropy.unsafeBytes
        XCTAssertFalse(file.contains(Hex.encode(entropy)))
        XCTAssertTrue(file.contains("argon2id13"))
        XCTAssertTrue(file.contains("\"opsLimit\""))
    }

    func testWrongPasswordLeavesFileUntouched() throws {
        let store = Keystore(home: home)
        try create(store)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.path))
        XCTAssertThrowsError(try store.unlock(password: SecureBytes(Array("wrong".utf8)))) {
            XCTAssertEqual($0 as? KeystoreError, .wrongPassword)
            XCTAssertEqual(($0 as? KeystoreError)?.exitCode, .noPermission)
        }
        XCTAssertThrowsError(try store.changePassword(old: SecureBytes(Array("wrong".utf8)), new: password, cost: .minimum))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store.path)), before)
    }

    func testChangePassword() throws {
        let store = Keystore(home: home)
        try create(store)
        let newPassword = SecureBytes(Array("battery staple".utf8))
        try store.changePassword(old: password, new: newPassword, cost: .minimum)
        XCTAssertThrowsError(try store.unlock(password: password))
        XCTAssertEqual(try store.unlock(password: newPassword).mnemonic.words.last, "junk")
        XCTAssertEqual(SecretFile.mode(of: store.path), 0o600)
        XCTAssertThrowsError(try store.changePassword(old: newPassword, new: SecureBytes([]), cost: .minimum)) {
            XCTAssertEqual($0 as? KeystoreError, .emptyPassword)
        }
    }

    func testExistingAccountNeedsForce() throws {
        let store = Keystore(home: home)
        try create(store)
        XCTAssertThrowsError(try create(store, index: 1)) {
            XCTAssertEqual($0 as? KeystoreError, .alreadyExists(home: home))
            XCTAssertEqual(($0 as? KeystoreError)?.exitCode, .cannotCreate)
        }
        XCTAssertEqual(try store.info().identity.index, 0, "unchanged")
        XCTAssertEqual(try create(store, force: true, index: 1).identity.index, 1)
        XCTAssertEqual(try store.info().identity.evmAddress.checksummed, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
    }

    func testNoAccountAndDelete() throws {
        let store = Keystore(home: home)
        XCTAssertThrowsError(try store.info()) {
            XCTAssertEqual($0 as? KeystoreError, .noAccount(home: home))
            XCTAssertEqual(($0 as? KeystoreError)?.exitCode, .noInput)
        }
        try create(store)
        try store.delete()
        XCTAssertFalse(store.exists)
        XCTAssertFalse(SecretFile.exists(store.identityKeyPath))
        XCTAssertThrowsError(try store.delete())
    }

    func testTamperedFilesAreRejected() throws {
        let store = Keystore(home: home)
        try create(store)
        let original = try String(contentsOfFile: store.path, encoding: .utf8)
        func tampered(_ edit: (String) -> String) throws -> Error? {
            try edit(original).write(toFile: store.path, atomically: true, encoding: .utf8)
            do { _ = try store.unlock(password: password); return nil } catch { return error }
        }
        // Index changed in clear: the AEAD's associated data no longer matches.
        XCTAssertEqual(try tampered { $0.replacingOccurrences(of: "\"index\" : 0", with: "\"index\" : 1") } as? KeystoreError,
                       .wrongPassword)
        // Public peer ID swapped: decryption works but the facts do not match the mnemonic.
        let other = P2PPrivateKey().peerID.description
        XCTAssertEqual(try tampered { $0.replacingOccurrences(of: IdentityTests.expectedPeerID, with: other) } as? KeystoreError,
                       .corrupt("its peer ID or address does not match the encrypted mnemonic"))
        // A huge memory limit is refused before Argon2id runs.
        XCTAssertNotNil(try tampered { $0.replacingOccurrences(of: "\"memLimit\" : 8192", with: "\"memLimit\" : 999999999999") })
        XCTAssertEqual(try tampered { $0.replacingOccurrences(of: "\"version\" : 1", with: "\"version\" : 9") } as? KeystoreError,
                       .unsupportedVersion(9))
        XCTAssertEqual(try tampered { _ in "not json" } as? KeystoreError, .corrupt("it is not a Gigi account file"))
    }

    func testNicknameValidation() throws {
        let store = Keystore(home: home)
        for bad in ["", String(repeating: "x", count: 65), "a\u{1b}[2Jb", "a\u{202e}b"] {
            XCTAssertThrowsError(try store.create(mnemonic: Mnemonic(phrase: phrase), password: password, nickname: bad,
                                                  cost: .minimum))
        }
        XCTAssertFalse(store.exists, "nothing written")
    }

    func testBIP39PassphraseIsKept() throws {
        let store = Keystore(home: home)
        let m = try Mnemonic(phrase: phrase)
        let info = try store.create(mnemonic: m, passphrase: "TREZOR", password: password, nickname: nil, cost: .minimum)
        XCTAssertNotEqual(info.identity.evmAddress.checksummed, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        XCTAssertEqual(try store.unlock(password: password).passphrase, "TREZOR")
    }

    func testCostNames() {
        XCTAssertEqual(KeystoreCost.named(nil), .moderate)
        XCTAssertEqual(KeystoreCost.named("fast"), .minimum)
        XCTAssertEqual(KeystoreCost.named("interactive"), .interactive)
        XCTAssertNil(KeystoreCost.named("bogus"))
        XCTAssertGreaterThanOrEqual(KeystoreCost.default.memLimit, 256 << 20)
    }
}
