import Foundation
import GigiBase
import GigiCrypto
import XCTest
@testable import P2PNoise

struct CacophonyFile: Decodable {
    struct Message: Decodable {
        let payload: String
        let ciphertext: String
    }
    struct Vector: Decodable {
        let protocol_name: String
        let init_prologue: String
        let init_static: String
        let init_ephemeral: String
        let resp_static: String
        let resp_ephemeral: String
        let handshake_hash: String
        let messages: [Message]
    }
    let vector: Vector
}

func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

func x25519(_ hexKey: String) throws -> X25519.PrivateKey {
    try X25519.PrivateKey(rawRepresentation: SecureBytes(hex(hexKey)))
}

final class NoiseXXTests: XCTestCase {
    /// The cacophony vector for Noise_XX_25519_ChaChaPoly_SHA256: three handshake
    /// messages with payloads, the handshake hash, then transport messages
    /// alternating initiator → responder → initiator.
    func testCacophonyVector() throws {
        let url = Bundle.module.url(forResource: "Vectors/cacophony-XX_25519_ChaChaPoly_SHA256.json", withExtension: nil)!
        let v = try JSONDecoder().decode(CacophonyFile.self, from: Data(contentsOf: url)).vector
        XCTAssertEqual(v.protocol_name, Noise.protocolName)
        let initEphemeral = try x25519(v.init_ephemeral)
        let respEphemeral = try x25519(v.resp_ephemeral)
        var initiator = NoiseXX(role: .initiator, staticKey: try x25519(v.init_static),
                                prologue: hex(v.init_prologue), ephemeral: { initEphemeral })
        var responder = NoiseXX(role: .responder, staticKey: try x25519(v.resp_static),
                                prologue: hex(v.init_prologue), ephemeral: { respEphemeral })
        for (i, message) in v.messages.prefix(3).enumerated() {
            let sender = i % 2 == 0
            let wire = sender ? try initiator.writeMessage(payload: hex(message.payload))
                              : try responder.writeMessage(payload: hex(message.payload))
            XCTAssertEqual(Hex.encode(wire), message.ciphertext, "handshake message \(i)")
            let read = sender ? try responder.readMessage(wire) : try initiator.readMessage(wire)
            XCTAssertEqual(read, hex(message.payload))
        }
        XCTAssertTrue(initiator.isComplete && responder.isComplete)
        XCTAssertEqual(Hex.encode(initiator.handshakeHash), v.handshake_hash)
        XCTAssertEqual(responder.handshakeHash, initiator.handshakeHash)

        var (iSend, iReceive) = initiator.split()
        var (rSend, rReceive) = responder.split()
        for (i, message) in v.messages.enumerated().dropFirst(3) {
            let fromInitiator = i % 2 == 0
            let wire = fromInitiator ? try iSend.encrypt(ad: [], hex(message.payload))
                                     : try rSend.encrypt(ad: [], hex(message.payload))
            XCTAssertEqual(Hex.encode(wire), message.ciphertext, "transport message \(i)")
            let plain = fromInitiator ? try rReceive.decrypt(ad: [], wire) : try iReceive.decrypt(ad: [], wire)
            XCTAssertEqual(plain, hex(message.payload))
        }
    }

    func testNonceEncodingIsLittleEndianAfterFourZeroBytes() {
        XCTAssertEqual(NoiseCipherState.nonceBytes(0x0102), [0, 0, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0])
    }

    func testFailedDecryptionDoesNotAdvanceTheNonce() throws {
        var sender = NoiseCipherState(key: SecureBytes([UInt8](repeating: 7, count: 32)))
        var receiver = NoiseCipherState(key: SecureBytes([UInt8](repeating: 7, count: 32)))
        var wire = try sender.encrypt(ad: [], [1, 2, 3])
        wire[0] ^= 1
        XCTAssertThrowsError(try receiver.decrypt(ad: [], wire)) { XCTAssertEqual($0 as? NoiseError, .decryptionFailed) }
        XCTAssertEqual(receiver.nonce, 0)
        wire[0] ^= 1
        XCTAssertEqual(try receiver.decrypt(ad: [], wire), [1, 2, 3])
        XCTAssertEqual(receiver.nonce, 1)
    }
}
