import Foundation
import GigiBase
import P2PCore
import XCTest
@testable import GigiAuth

final class NodeIdentityTests: XCTestCase {
    func testLoadOrCreateIsStable() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("gigi-node-\(UUID().uuidString)/nested").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: SecretFile.directory(of: home)) }
        let first = try NodeIdentity.loadOrCreate(home: home)
        XCTAssertEqual(SecretFile.mode(of: home + "/identity.key"), 0o600)
        XCTAssertEqual(SecretFile.mode(of: home), 0o700)
        XCTAssertEqual(try NodeIdentity.loadOrCreate(home: home).peerID, first.peerID)
        // The file is the libp2p protobuf PrivateKey: type Ed25519 (field 1 = 1), data = seed ‖ public (64 bytes).
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: home + "/identity.key")))
        XCTAssertEqual(Array(bytes.prefix(4)), [0x08, 0x01, 0x12, 0x40])
        XCTAssertEqual(bytes.count, 68)
    }

    func testWriteReadAndReject() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gigi-node-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let key = P2PPrivateKey()
        try NodeIdentity.write(key, to: dir + "/node.key")
        XCTAssertEqual(try NodeIdentity.read(file: dir + "/node.key")?.peerID, key.peerID)
        XCTAssertNil(try NodeIdentity.read(file: dir + "/missing.key"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/bad.key"))
        XCTAssertThrowsError(try NodeIdentity.read(file: dir + "/bad.key")) {
            XCTAssertEqual(($0 as? UserFacingError)?.exitCode, .ioError)
        }
        try Data(count: 5000).write(to: URL(fileURLWithPath: dir + "/big.key"))
        XCTAssertThrowsError(try NodeIdentity.read(file: dir + "/big.key"))
        // Leftover temporary files: none.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }, [])
    }
}
