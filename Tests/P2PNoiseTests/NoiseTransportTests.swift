import GigiCrypto
import NIOCore
import P2PCore
import XCTest
@testable import P2PNoise

final class NoiseTransportTests: XCTestCase {
    func establishedPair() throws -> (initiator: NoiseTransport, responder: NoiseTransport) {
        var pump = NoisePump(initiator: NoiseHandshake(role: .initiator, identity: try seededIdentity(1)),
                             responder: NoiseHandshake(role: .responder, identity: try seededIdentity(2)))
        try pump.run(chunk: nil)
        return (try XCTUnwrap(pump.initiatorResult).transport, try XCTUnwrap(pump.responderResult).transport)
    }

    func drain(_ transport: inout NoiseTransport, _ wire: inout ByteBuffer) throws -> [UInt8] {
        var out: [UInt8] = []
        while let plain = try transport.open(&wire) { out += plain.readableBytesView }
        return out
    }

    func testBothDirectionsWholeAndByteByByte() throws {
        var (a, b) = try establishedPair()
        let message = Array("hello over noise".utf8)
        var wire = ByteBuffer()
        try a.seal(ByteBuffer(bytes: message), into: &wire)
        XCTAssertEqual(wire.readableBytes, 2 + message.count + 16)
        XCTAssertEqual(try drain(&b, &wire), message)

        // Responder → initiator, delivered one byte at a time.
        var sent = ByteBuffer()
        try b.seal(ByteBuffer(bytes: message), into: &sent)
        try b.seal(ByteBuffer(bytes: message.reversed()), into: &sent)
        var inbound = ByteBuffer()
        var received: [UInt8] = []
        while let byte = sent.readInteger(as: UInt8.self) {
            inbound.writeInteger(byte)
            received += try drain(&a, &inbound)
        }
        XCTAssertEqual(received, message + message.reversed())
    }

    func testLargeWritesAreSplitIntoMaximalFrames() throws {
        var (a, b) = try establishedPair()
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var wire = ByteBuffer()
        try a.seal(ByteBuffer(bytes: payload), into: &wire)
        // 200000 = 3 × 65519 + 3443: four frames, none above 65535 bytes.
        XCTAssertEqual(wire.readableBytes, payload.count + 4 * (2 + 16))
        XCTAssertEqual(wire.getInteger(at: wire.readerIndex, as: UInt16.self), 65535)
        var frames = 0
        var received: [UInt8] = []
        while let plain = try b.open(&wire) {
            frames += 1
            XCTAssertLessThanOrEqual(plain.readableBytes, Noise.maxPlaintextLength)
            received += plain.readableBytesView
        }
        XCTAssertEqual(frames, 4)
        XCTAssertEqual(received, payload)
        // An empty write still sends one (authenticated, empty) frame.
        try a.seal(ByteBuffer(), into: &wire)
        XCTAssertEqual(try b.open(&wire)?.readableBytes, 0)
    }

    func testTamperedCiphertextFails() throws {
        var (a, b) = try establishedPair()
        var wire = ByteBuffer()
        try a.seal(ByteBuffer(string: "pay me 100"), into: &wire)
        let at = wire.readerIndex + 5
        wire.setInteger(wire.getInteger(at: at, as: UInt8.self)! ^ 0x01, at: at)
        XCTAssertThrowsError(try b.open(&wire)) { XCTAssertEqual($0 as? NoiseError, .decryptionFailed) }
    }

    func testReplayedOrReorderedFramesFail() throws {
        var (a, b) = try establishedPair()
        var first = ByteBuffer()
        try a.seal(ByteBuffer(string: "one"), into: &first)
        var second = ByteBuffer()
        try a.seal(ByteBuffer(string: "two"), into: &second)
        XCTAssertThrowsError(try b.open(&second))     // nonce 1 data at receiver nonce 0
        var replay = first
        XCTAssertEqual(try b.open(&first).map { String(buffer: $0) }, "one")
        XCTAssertThrowsError(try b.open(&replay))
    }

    func testFrameShorterThanATagFails() throws {
        var (_, b) = try establishedPair()
        var wire = ByteBuffer(bytes: [0x00, 0x05, 1, 2, 3, 4, 5])
        XCTAssertThrowsError(try b.open(&wire)) { XCTAssertEqual($0 as? NoiseError, .decryptionFailed) }
    }

    func testTransportBytesPipelinedAfterTheLastHandshakeMessageStayInTheBuffer() throws {
        var initiator = NoiseHandshake(role: .initiator, identity: try seededIdentity(1))
        var responder = NoiseHandshake(role: .responder, identity: try seededIdentity(2))
        var toResponder = try XCTUnwrap(try initiator.start())
        _ = try responder.start()
        guard case .send(var toInitiator) = try responder.process(&toResponder).first else { return XCTFail() }
        let actions = try initiator.process(&toInitiator)
        guard case .send(var m3) = actions.first, case .established(var mine) = actions.last else { return XCTFail() }
        try mine.transport.seal(ByteBuffer(string: "/multistream/1.0.0"), into: &m3)   // sent in the same packet
        guard case .established(var theirs) = try responder.process(&m3).last else { return XCTFail() }
        XCTAssertEqual(try theirs.transport.open(&m3).map { String(buffer: $0) }, "/multistream/1.0.0")
    }

    /// Pieces of a flush (Yamux headers and payload slices) sealed where they lie come out
    /// as the same bytes, in maximal frames, and open out of place.
    func testSealingPiecesAndOpeningOutOfPlace() throws {
        var (a, b) = try establishedPair()
        var x: UInt32 = 7
        let sizes = [12, 65_536, 12, 65_536, 12, 12, 300, 1, 131_072, 29, 70_000]
        let pieces = sizes.map { n -> ByteBuffer in
            ByteBuffer(bytes: (0..<n).map { _ in x = x &* 1_664_525 &+ 1_013_904_223; return UInt8(truncatingIfNeeded: x >> 24) })
        }
        let expected = pieces.flatMap { Array($0.readableBytesView) }
        var wire = ByteBuffer()
        try a.seal(pieces: pieces, into: &wire)
        XCTAssertEqual(wire.readableBytes, expected.count + (expected.count + 65_518) / 65_519 * 18)
        XCTAssertEqual(wire.getInteger(at: 0, as: UInt16.self), 65_535)
        var plain = ByteBuffer()
        let shared = wire  // another reference: opening must not need a private copy
        while try b.open(&wire, appendingTo: &plain) {}
        XCTAssertEqual(wire.readableBytes, 0)
        XCTAssertEqual(Array(plain.readableBytesView), expected)
        XCTAssertEqual(shared.readableBytes, expected.count + (expected.count + 65_518) / 65_519 * 18)
    }
}
