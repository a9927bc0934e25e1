import Foundation
import GigiBase
import GigiCrypto
import NIOCore
import P2PCore
import XCTest
@testable import P2PNoise

func seededIdentity(_ first: UInt8) throws -> P2PPrivateKey {
    try P2PPrivateKey(seed: SecureBytes([first] + [UInt8](repeating: 0, count: 31)))
}

/// Pumps an initiator and a responder against each other through in-memory
/// pipes, `chunk` bytes at a time (nil: whole writes).
struct NoisePump {
    var initiator: NoiseHandshake
    var responder: NoiseHandshake
    var toResponder = ByteBuffer()
    var toInitiator = ByteBuffer()
    var initiatorInbound = ByteBuffer()
    var responderInbound = ByteBuffer()
    var initiatorResult: NoiseHandshakeResult?
    var responderResult: NoiseHandshakeResult?
    /// Applied to every byte sequence the responder sends (tampering tests).
    var tamperResponder: (inout ByteBuffer) -> Void = { _ in }

    static func move(_ count: Int?, from source: inout ByteBuffer, to sink: inout ByteBuffer) -> Bool {
        let n = min(count ?? source.readableBytes, source.readableBytes)
        guard n > 0 else { return false }
        var slice = source.readSlice(length: n)!
        sink.writeBuffer(&slice)
        return true
    }

    mutating func run(chunk: Int?) throws {
        if var first = try initiator.start() { toResponder.writeBuffer(&first) }
        XCTAssertNil(try responder.start())
        var progress = true
        while progress {
            progress = false
            if responderResult == nil, Self.move(chunk, from: &toResponder, to: &responderInbound) {
                progress = true
                for action in try responder.process(&responderInbound) {
                    switch action {
                    case .send(var bytes): tamperResponder(&bytes); toInitiator.writeBuffer(&bytes)
                    case .established(let result): responderResult = result
                    }
                }
            }
            if initiatorResult == nil, Self.move(chunk, from: &toInitiator, to: &initiatorInbound) {
                progress = true
                for action in try initiator.process(&initiatorInbound) {
                    switch action {
                    case .send(var bytes): toResponder.writeBuffer(&bytes)
                    case .established(let result): initiatorResult = result
                    }
                }
            }
        }
    }
}

/// Message 2 from a hand-built responder (plain XX layer) answering the
/// initiator's message 1 with `payload(staticKey)`, framed for the wire.
func rogueMessage2(to initiator: inout NoiseHandshake,
                   payload: (X25519.PrivateKey) throws -> [UInt8]) throws -> ByteBuffer {
    var m1 = try XCTUnwrap(try initiator.start())
    let staticKey = X25519.PrivateKey()
    var rogue = NoiseXX(role: .responder, staticKey: staticKey)
    _ = try rogue.readMessage(Array(try XCTUnwrap(NoiseTransport.readFrame(from: &m1)).readableBytesView))
    let m2 = try rogue.writeMessage(payload: try payload(staticKey))
    var framed = ByteBuffer()
    framed.writeInteger(UInt16(m2.count))
    framed.writeBytes(m2)
    return framed
}

final class NoiseHandshakeTests: XCTestCase {
    func makePump(expect expected: PeerID?) throws -> NoisePump {
        NoisePump(initiator: NoiseHandshake(role: .initiator, identity: try seededIdentity(1), expectedPeer: expected),
                  responder: NoiseHandshake(role: .responder, identity: try seededIdentity(2),
                                            streamMuxers: ["/yamux/1.0.0"]))
    }

    func testHandshakeWholeAndByteByByte() throws {
        let responderPeer = try seededIdentity(2).peerID
        for chunk in [nil, 1, 3, 50] as [Int?] {
            var pump = try makePump(expect: responderPeer)
            try pump.run(chunk: chunk)
            let i = try XCTUnwrap(pump.initiatorResult, "chunk \(String(describing: chunk))")
            let r = try XCTUnwrap(pump.responderResult)
            XCTAssertEqual(i.remotePeer, responderPeer)
            XCTAssertEqual(r.remotePeer, try seededIdentity(1).peerID)
            XCTAssertEqual(i.remoteStreamMuxers, ["/yamux/1.0.0"])
            XCTAssertEqual(r.remoteStreamMuxers, [])
            XCTAssertTrue(pump.initiator.isComplete && pump.responder.isComplete)
        }
    }

    func testWireSizesOfTheThreeMessages() throws {
        var initiator = NoiseHandshake(role: .initiator, identity: try seededIdentity(1))
        var responder = NoiseHandshake(role: .responder, identity: try seededIdentity(2))
        var m1 = try XCTUnwrap(try initiator.start())
        XCTAssertEqual(m1.readableBytes, 2 + 32)                // -> e, empty payload
        _ = try responder.start()
        guard case .send(var m2) = try responder.process(&m1).first else { return XCTFail() }
        // e (32) + encrypted s (48) + payload: key (36) and signature (64) in protobuf (2+36+2+64) + tag
        XCTAssertEqual(m2.readableBytes, 2 + 32 + 48 + 104 + 16)
        guard case .send(let m3) = try initiator.process(&m2).first else { return XCTFail() }
        XCTAssertEqual(m3.readableBytes, 2 + 48 + 104 + 16)
    }

    func testWrongPeerIDFailsTheDialer() throws {
        var pump = try makePump(expect: try seededIdentity(3).peerID)
        XCTAssertThrowsError(try pump.run(chunk: nil)) { error in
            XCTAssertEqual(error as? NoiseError,
                           .peerIDMismatch(expected: try! seededIdentity(3).peerID, actual: try! seededIdentity(2).peerID))
            XCTAssertTrue("\(error)".contains("12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"))
        }
        XCTAssertNil(pump.initiatorResult)
    }

    func testWrongLengthMessagesFail() throws {
        var responder = NoiseHandshake(role: .responder, identity: try seededIdentity(2))
        _ = try responder.start()
        var short = ByteBuffer(bytes: [0x00, 0x0a] + [UInt8](repeating: 1, count: 10))   // e needs 32 bytes
        XCTAssertThrowsError(try responder.process(&short)) {
            XCTAssertEqual($0 as? NoiseError, .badMessageLength(message: 1, length: 10))
        }

        var initiator = NoiseHandshake(role: .initiator, identity: try seededIdentity(1))
        _ = try initiator.start()
        var truncated = ByteBuffer(bytes: [0x00, 0x40] + [UInt8](repeating: 9, count: 64))   // < e + enc(s)
        XCTAssertThrowsError(try initiator.process(&truncated)) {
            XCTAssertEqual($0 as? NoiseError, .badMessageLength(message: 2, length: 64))
        }
    }

    func testTamperedHandshakeCiphertextFails() throws {
        var pump = try makePump(expect: nil)
        pump.tamperResponder = { bytes in
            let at = bytes.readerIndex + bytes.readableBytes - 5    // inside the encrypted payload
            bytes.setInteger(bytes.getInteger(at: at, as: UInt8.self)! ^ 0x80, at: at)
        }
        XCTAssertThrowsError(try pump.run(chunk: nil)) { XCTAssertEqual($0 as? NoiseError, .decryptionFailed) }
    }

    func testSignatureOverAnotherStaticKeyFails() throws {
        // A responder whose payload signs a different Noise static key: the
        // plain XX layer lets us build one.
        let identity = try seededIdentity(2)
        var initiator = NoiseHandshake(role: .initiator, identity: try seededIdentity(1))
        var framed = try rogueMessage2(to: &initiator) { _ in
            var payload = PBNoiseHandshakePayload()
            payload.identityKey = Data(identity.publicKey.protobufEncoded)
            payload.identitySig = Data(identity.signature(for: Noise.signaturePrefix + X25519.PrivateKey().publicKey))
            return try payload.serializedBytes()
        }
        XCTAssertThrowsError(try initiator.process(&framed)) { XCTAssertEqual($0 as? NoiseError, .invalidSignature) }
    }

    func testPayloadWithoutIdentityOrWithUnsupportedKeyFails() throws {
        func respond(with payload: PBNoiseHandshakePayload) throws -> Error? {
            var initiator = NoiseHandshake(role: .initiator, identity: try seededIdentity(1))
            var framed = try rogueMessage2(to: &initiator) { _ in try payload.serializedBytes() }
            do { _ = try initiator.process(&framed); return nil } catch { return error }
        }
        let empty = try respond(with: PBNoiseHandshakePayload())
        guard case .invalidPayload? = empty as? NoiseError else { return XCTFail("\(String(describing: empty))") }

        var secp = PBNoiseHandshakePayload()
        secp.identityKey = Data(Hex.decode("08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99")!)
        secp.identitySig = Data([UInt8](repeating: 0, count: 70))
        let unsupported = try respond(with: secp)
        guard case .invalidPayload(let why)? = unsupported as? NoiseError else { return XCTFail("\(String(describing: unsupported))") }
        XCTAssertTrue(why.contains("secp256k1"), why)
    }

    func testUnknownPayloadFieldsAndExtensionsAreTolerated() throws {
        // A payload with webtransport certhashes and an unknown field 9, as newer peers may send.
        let identity = try seededIdentity(2)
        var initiator = NoiseHandshake(role: .initiator, identity: try seededIdentity(1), expectedPeer: identity.peerID)
        var framed = try rogueMessage2(to: &initiator) { staticKey in
            var payload = PBNoiseHandshakePayload()
            payload.identityKey = Data(identity.publicKey.protobufEncoded)
            payload.identitySig = Data(identity.signature(for: Noise.signaturePrefix + staticKey.publicKey))
            var extensions = PBNoiseExtensions()
            extensions.webtransportCerthashes = [Data([1, 2, 3])]
            extensions.streamMuxers = ["/yamux/1.0.0", "/mplex/6.7.0"]
            payload.extensions = extensions
            return try payload.serializedBytes() + [0x4a, 0x02, 0xAB, 0xCD]   // field 9, length-delimited
        }
        let actions = try initiator.process(&framed)
        guard case .established(let result)? = actions.last else { return XCTFail("\(actions)") }
        XCTAssertEqual(result.remotePeer, identity.peerID)
        XCTAssertEqual(result.remoteStreamMuxers, ["/yamux/1.0.0", "/mplex/6.7.0"])
    }
}
