// Pure tests of the /gigi/dm codec (1.0.0 messages, 2.0.0 session framing), ids and the inbound limits.

import GigiCBOR
import GigiStore
import Foundation
import NIOCore
import P2PCore
import XCTest
@testable import GigiMessaging

final class DMWireTests: XCTestCase {
    let id = [UInt8](0..<16)

    func testRequestRoundTrip() throws {
        let request = DMRequest(id: id, text: "héllo ✓", sentAt: 1_700_000_000_123, nick: "alice",
                                replyTo: [UInt8](repeating: 7, count: 16))
        let decoded = try DMWire.decodeRequest(try DMWire.encode(request))
        XCTAssertEqual(decoded, request)
        let minimal = DMRequest(id: id, text: "", sentAt: 0)
        XCTAssertEqual(try DMWire.decodeRequest(try DMWire.encode(minimal)), minimal)
    }

    func testRequestEncodingIsTheCodableOne() throws {
        for r in [DMRequest(id: id, text: "x", sentAt: 5), DMRequest(id: id, text: "héllo", sentAt: 1_700_000_000_123, nick: "alice"),
                  DMRequest(id: id, text: String(repeating: "t", count: 70_000), sentAt: 0, nick: "n", replyTo: id),
                  DMRequest(id: id, text: "", sentAt: .max, replyTo: id)] {
            XCTAssertEqual(try DMWire.encode(r), try CBOREncoder().encode(r))
        }
    }

    func testRequestUsesTheDocumentedKeys() throws {
        let bytes = try DMWire.encode(DMRequest(id: id, text: "x", sentAt: 5, nick: "n", replyTo: id))
        guard case .map(let entries) = try CBOR.decode(bytes) else { return XCTFail("not a map") }
        XCTAssertEqual(Set(entries.compactMap { $0.key.stringValue }), ["v", "id", "text", "sent_at", "nick", "reply_to"])
    }

    func testAnswerRoundTrip() throws {
        for answer in [DMAnswer.acknowledged(id: id, receivedAt: 42)]
            + DMWire.ErrorCode.allCases.map({ DMAnswer.refused(id: id, $0) }) + [.refused(id: [], .rateLimited)] {
            XCTAssertEqual(try DMWire.decodeAnswer(DMWire.encode(answer)), answer)
        }
        XCTAssertThrowsError(try DMWire.decodeAnswer(CBOR.map([(.text("id"), .bytes(id)), (.text("error"), .text("nope"))]).encoded()))
        XCTAssertThrowsError(try DMWire.decodeAnswer([0xff]))
        XCTAssertThrowsError(try DMWire.decodeAnswer([UInt8](repeating: 0, count: 2000)))
    }

    private func map(_ fields: [(String, CBOR)]) -> [UInt8] {
        CBOR.map(fields.map { (key: CBOR.text($0.0), value: $0.1) }).encoded()
    }

    private func rejection(_ bytes: [UInt8]) -> DMWire.Rejection? {
        do { _ = try DMWire.decodeRequest(bytes); return nil } catch { return error }
    }

    func testOversizedRequestsAreTooLarge() throws {
        let big = String(repeating: "a", count: DMWire.maxTextBytes + 1)
        let r = rejection(try DMWire.encode(DMRequest(id: id, text: big, sentAt: 1)))
        XCTAssertEqual(r?.code, .tooLarge)
        XCTAssertEqual(r?.id, id, "the refusal echoes the id")
        XCTAssertEqual(rejection([UInt8](repeating: 0x61, count: DMWire.maxRequestSize + 1))?.code, .tooLarge)
        // Exactly 64 KiB of text (multi-byte characters count in bytes) is fine.
        let limit = String(repeating: "é", count: DMWire.maxTextBytes / 2)
        XCTAssertNoThrow(try DMWire.decodeRequest(try DMWire.encode(DMRequest(id: id, text: limit, sentAt: 1))))
        XCTAssertEqual(rejection(try DMWire.encode(DMRequest(id: id, text: limit + "a", sentAt: 1)))?.code, .tooLarge)
    }

    func testInvalidCBORIsBadRequest() {
        for bytes: [UInt8] in [[], [0xff], [0xa1, 0x61], [0x1c], [0x9f, 0x01]] {
            XCTAssertEqual(rejection(bytes)?.code, .badRequest, "\(bytes)")
        }
        XCTAssertEqual(rejection(CBOR.array([.unsigned(1)]).encoded())?.code, .badRequest)
    }

    func testUnknownVersion() {
        let r = rejection(map([("v", .unsigned(2)), ("id", .bytes(id)), ("text", .text("x")), ("sent_at", .unsigned(1))]))
        XCTAssertEqual(r?.code, .unsupportedVersion)
        XCTAssertEqual(r?.id, id)
        XCTAssertEqual(rejection(map([("id", .bytes(id)), ("text", .text("x")), ("sent_at", .unsigned(1))]))?.code, .badRequest)
    }

    func testBadUTF8IsBadRequest() {
        // A text string (major type 3) holding 0xff 0xfe.
        var w = CBORWriter()
        w.writeMapHeader(count: 4)
        w.writeText("v"); w.writeUnsigned(1)
        w.writeText("id"); w.writeBytes(id)
        w.writeText("text"); w.writeRaw([0x62, 0xff, 0xfe])
        w.writeText("sent_at"); w.writeUnsigned(1)
        XCTAssertEqual(rejection(w.bytes)?.code, .badRequest)
    }

    func testWrongFieldsAreBadRequest() {
        let base: [(String, CBOR)] = [("v", .unsigned(1)), ("text", .text("x")), ("sent_at", .unsigned(1))]
        XCTAssertEqual(rejection(map(base + [("id", .bytes([1, 2, 3]))]))?.code, .badRequest, "short id")
        XCTAssertEqual(rejection(map(base + [("id", .bytes([UInt8](repeating: 1, count: 17)))]))?.code, .badRequest)
        XCTAssertEqual(rejection(map(base + [("id", .text("0123456789abcdef"))]))?.code, .badRequest)
        XCTAssertEqual(rejection(map(base))?.code, .badRequest, "no id")
        let withID = base + [("id", CBOR.bytes(id))]
        XCTAssertEqual(rejection(map(withID + [("reply_to", .bytes([1]))]))?.code, .badRequest)
        XCTAssertEqual(rejection(map(withID + [("nick", .unsigned(3))]))?.code, .badRequest)
        XCTAssertEqual(rejection(map(withID + [("nick", .text(String(repeating: "n", count: 300)))]))?.code, .badRequest)
        XCTAssertEqual(rejection(map([("v", .unsigned(1)), ("id", .bytes(id)), ("sent_at", .unsigned(1))]))?.code, .badRequest)
        XCTAssertEqual(rejection(map([("v", .unsigned(1)), ("id", .bytes(id)), ("text", .text("x"))]))?.code, .badRequest)
        // Unknown keys are ignored.
        XCTAssertNil(rejection(map(withID + [("future", .text("ok"))])))
    }

    func testIDsAreUUIDv7AndStrictlyIncreasing() {
        var generator = DMMessageIDGenerator()
        var last: [UInt8] = []
        let ms: UInt64 = 1_764_000_000_000
        for i in 0..<10_000 {
            // Same millisecond for many ids, and once the clock steps back.
            let now = i == 5_000 ? ms - 1_000 : ms + UInt64(i / 3_000)
            let id = generator.next(milliseconds: now)
            XCTAssertEqual(id.count, 16)
            XCTAssertEqual(id[6] >> 4, 7, "version 7")
            XCTAssertEqual(id[8] >> 6, 2, "RFC 9562 variant")
            XCTAssertGreaterThanOrEqual(DMMessageIDGenerator.milliseconds(of: id), ms)
            if !last.isEmpty {
                XCTAssertTrue(last.lexicographicallyPrecedes(id), "ids increase")
                let a = MessageKey(conversation: "p", messageID: last), b = MessageKey(conversation: "p", messageID: id)
                XCTAssertTrue(MessagingService.precedes(a, b), "message keys increase with the ids")
            }
            last = id
        }
    }

    func testMessageKeyFromID() throws {
        var generator = DMMessageIDGenerator()
        let id = generator.next(milliseconds: 1_764_000_000_123)
        let key = MessageKey(conversation: "peer", messageID: id)
        XCTAssertEqual(key.milliseconds, 1_764_000_000_123)
        let round = try key.withKeyBytes { try MessageKey(keyBytes: $0) }
        XCTAssertEqual(round, key)
    }

    func testTokenBucketAndConcurrency() {
        var config = DMInboundLimitsConfig()
        config.burst = 100
        config.refillPerSecond = 10
        config.maxConcurrentStreamsPerPeer = 2
        var limits = DMInboundLimits(config: config)
        XCTAssertEqual(limits.admitStream("a", now: 0), .admitted)
        XCTAssertEqual(limits.admitStream("a", now: 0), .admitted)
        XCTAssertEqual(limits.admitStream("a", now: 0), .tooManyStreams)
        XCTAssertEqual(limits.admitStream("b", now: 0), .admitted, "another peer is not affected")
        limits.releaseStream("a")
        XCTAssertEqual(limits.admitStream("a", now: 0), .admitted)
        var allowed = 0
        for _ in 0..<150 where limits.takeToken("a", now: 0) { allowed += 1 }
        XCTAssertEqual(allowed, 100)
        XCTAssertFalse(limits.takeToken("a", now: 0.05))
        XCTAssertTrue(limits.takeToken("a", now: 1), "10 tokens refilled after a second")
        XCTAssertTrue(limits.takeToken("b", now: 1))
    }

    func testSessionFramesSplitAnywhere() throws {
        let messages = try (0..<5).map { try DMWire.encode(DMRequest(id: id, text: String(repeating: "m", count: $0 * 300), sentAt: 1)) }
        var all = ByteBuffer()
        for m in messages { DMWire.appendFrame(m, to: &all) }
        // Fed one byte at a time, every message comes out whole, in order, once.
        var buffer = ByteBuffer()
        var out: [[UInt8]] = []
        for byte in all.readableBytesView {
            buffer.writeInteger(byte)
            while let frame = DMWire.nextFrame(&buffer, maxSize: DMWire.maxRequestSize) {
                guard case .message(let m) = frame else { return XCTFail("\(frame)") }
                out.append(m)
            }
        }
        XCTAssertEqual(out, messages)
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testSessionFrameLimits() {
        var big = ByteBuffer()
        DMWire.appendFrame([UInt8](repeating: 0, count: 10), to: &big)
        XCTAssertEqual(DMWire.nextFrame(&big, maxSize: 9), .tooLarge(10))
        XCTAssertEqual(big.readableBytes, 11, "nothing consumed")
        // A 10 MiB announcement is refused from the prefix alone.
        var huge = ByteBuffer()
        Varint.write(10 << 20, to: &huge)
        XCTAssertEqual(DMWire.nextFrame(&huge, maxSize: DMWire.maxRequestSize), .tooLarge(10 << 20))
        var broken = ByteBuffer(bytes: [UInt8](repeating: 0xff, count: 10))
        XCTAssertEqual(DMWire.nextFrame(&broken, maxSize: DMWire.maxRequestSize), .malformed)
        var partial = ByteBuffer(bytes: [0x05, 1, 2])
        XCTAssertNil(DMWire.nextFrame(&partial, maxSize: DMWire.maxRequestSize))
    }

    func testSessionAdmission() {
        var config = DMInboundLimitsConfig()
        config.maxSessionsPerPeer = 2
        config.maxSessions = 3
        config.burst = 10
        config.refillPerSecond = 10
        var limits = DMInboundLimits(config: config)
        XCTAssertEqual(limits.admitSession("a", now: 0), .admitted)
        XCTAssertEqual(limits.admitSession("a", now: 0), .admitted)
        XCTAssertEqual(limits.admitSession("a", now: 0), .tooManyStreams, "two per peer")
        XCTAssertEqual(limits.admitSession("b", now: 0), .admitted)
        XCTAssertEqual(limits.admitSession("c", now: 0), .tooManyPeers, "three in all")
        limits.releaseSession("a")
        XCTAssertEqual(limits.admitSession("c", now: 0), .admitted)
        XCTAssertEqual(limits.sessionCount, 3)
        // Tokens for a batch: what the bucket holds, the rest refused.
        XCTAssertEqual(limits.takeTokens("c", 25, now: 0), 10)
        XCTAssertEqual(limits.takeTokens("c", 25, now: 0), 0)
        XCTAssertEqual(limits.takeTokens("c", 25, now: 0.5), 5)
    }

    func testBoundedQueueCountsUntilReleased() async {
        let q = DMBoundedQueue<Int>(maxCount: 2, maxBytes: 100)
        XCTAssertTrue(q.fits(count: 1, bytes: 500), "one item always fits an empty queue")
        q.push(1, bytes: 60)
        XCTAssertFalse(q.fits(count: 1, bytes: 50))
        XCTAssertTrue(q.fits(count: 1, bytes: 40))
        q.push(2, bytes: 40)
        let first = await q.pop()
        XCTAssertEqual(first, 1)
        XCTAssertEqual(q.space.count, 0, "popped but not released")
        q.release(count: 1, bytes: 60)
        XCTAssertEqual(q.space.count, 1)
        q.finishProducing()
        let second = await q.pop()
        let end = await q.pop()
        XCTAssertEqual(second, 2)
        XCTAssertNil(end)
        XCTAssertFalse(q.push(3), "no pushes after the end")
    }

    func testDisplayText() {
        let record = MessageRecord(id: [UInt8](repeating: 0, count: 16), sender: "p", direction: .incoming, status: .received,
                                   body: "line 1\n\tline 2 \u{1b}[2Jgone\u{7}\u{9b}", sent: Date())
        XCTAssertEqual(DMInfo(peer: "p", record: record, unread: true).displayText, "line 1\n\tline 2 \u{FFFD}[2Jgone\u{FFFD}\u{FFFD}")
    }

    func testDisplayName() {
        XCTAssertEqual(MessagingService.displayName("al\u{1b}[31mice\n"), "al[31mice")
        XCTAssertNil(MessagingService.displayName("\u{7}"))
        XCTAssertEqual(MessagingService.displayName(String(repeating: "x", count: 100))?.count, 64)
    }
}
