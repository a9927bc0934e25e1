import NIOCore
import XCTest
@testable import P2PYamux

final class YamuxFrameTests: XCTestCase {
    func testHeaderRoundTrip() throws {
        let header = YamuxFrameHeader(type: .windowUpdate, flags: [.syn], streamID: YamuxStreamID(7), length: 42)
        var buffer = ByteBuffer()
        header.write(to: &buffer)
        XCTAssertEqual(Array(buffer.readableBytesView), [0, 1, 0, 1, 0, 0, 0, 7, 0, 0, 0, 42])
        XCTAssertEqual(try YamuxFrameHeader.read(from: &buffer), header)
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testEveryTypeAndFlagRoundTrips() throws {
        for type in [YamuxFrameType.data, .windowUpdate, .ping, .goAway] {
            for flags in 0..<16 {
                let h = YamuxFrameHeader(type: type, flags: YamuxFlags(rawValue: UInt16(flags)),
                                         streamID: YamuxStreamID(0xDEAD_BEEF), length: 0x0102_0304)
                var b = ByteBuffer()
                h.write(to: &b)
                XCTAssertEqual(b.readableBytes, YamuxFrameHeader.size)
                XCTAssertEqual(try YamuxFrameHeader.read(from: &b), h)
            }
        }
    }

    func testShortHeaderReturnsNilAndConsumesNothing() throws {
        var b = frame(1, 1, 3, 0)
        b.moveWriterIndex(to: 11)
        XCTAssertNil(try YamuxFrameHeader.read(from: &b))
        XCTAssertEqual(b.readableBytes, 11)
    }

    func testRejectsUnknownVersionTypeAndFlags() {
        var v1 = frame(0, 0, 1, 0, version: 1)
        XCTAssertThrowsError(try YamuxFrameHeader.read(from: &v1)) {
            XCTAssertEqual($0 as? YamuxError, .unsupportedVersion(1))
        }
        var t4 = frame(4, 0, 1, 0)
        XCTAssertThrowsError(try YamuxFrameHeader.read(from: &t4)) {
            XCTAssertEqual($0 as? YamuxError, .unknownFrameType(4))
        }
        var f = frame(0, 0x10, 1, 0)
        XCTAssertThrowsError(try YamuxFrameHeader.read(from: &f)) {
            XCTAssertEqual($0 as? YamuxError, .invalidFlags(.data, YamuxFlags(rawValue: 0x10)))
        }
    }

    func testParserRejectsDataLongerThanAnyWindow() {
        var parser = YamuxFrameParser(maxDataLength: 1000)
        var input = frame(0, 0, 1, 1001)
        XCTAssertThrowsError(try parser.next(&input)) {
            XCTAssertEqual($0 as? YamuxError, .frameTooLarge(YamuxStreamID(1), length: 1001, limit: 1000))
        }
        // Longer window updates are fine: their length is a delta, not a payload.
        var update = frame(1, 0, 1, 5000)
        XCTAssertNotNil(try parser.next(&update))
    }

    /// The same stream of frames parses to the same headers and payload bytes whole and one byte
    /// at a time, and the parser reports a frame boundary exactly between frames.
    func testParserWholeAndDripFed() throws {
        var stream = ByteBuffer()
        let payload = testBytes(3000)
        var a = frame(1, 1, 1, 0); stream.writeBuffer(&a)
        var b = frame(0, 0, 1, 3000, payload: payload); stream.writeBuffer(&b)
        var c = frame(2, 1, 0, 77); stream.writeBuffer(&c)
        var d = frame(0, 4, 1, 0); stream.writeBuffer(&d)
        var e = frame(3, 0, 0, 2); stream.writeBuffer(&e)

        func parse(pieceSize: Int) throws -> ([YamuxFrameHeader], [UInt8], Bool) {
            var parser = YamuxFrameParser()
            var hs: [YamuxFrameHeader] = []
            var bytes: [UInt8] = []
            var rest = stream
            while rest.readableBytes > 0 {
                var piece = rest.readSlice(length: min(pieceSize, rest.readableBytes))!
                while let item = try parser.next(&piece) {
                    switch item {
                    case .header(let h): hs.append(h)
                    case .payload(let p, _): bytes += p.readableBytesView
                    }
                }
                XCTAssertEqual(piece.readableBytes, 0)
            }
            return (hs, bytes, parser.isAtFrameBoundary)
        }
        let whole = try parse(pieceSize: Int.max)
        XCTAssertEqual(whole.0.map(\.type), [.windowUpdate, .data, .ping, .data, .goAway])
        XCTAssertEqual(whole.0[2].length, 77)
        XCTAssertEqual(whole.1, payload)
        XCTAssertTrue(whole.2)
        for size in [1, 5, 12, 13, 1000] {
            let split = try parse(pieceSize: size)
            XCTAssertEqual(split.0, whole.0, "piece size \(size)")
            XCTAssertEqual(split.1, payload, "piece size \(size)")
            XCTAssertTrue(split.2)
        }
    }

    func testPayloadIsHandedOutWithRemainingCount() throws {
        var parser = YamuxFrameParser()
        var first = frame(0, 0, 1, 10, payload: [1, 2, 3, 4])
        XCTAssertEqual(try parser.next(&first), .header(YamuxFrameHeader(type: .data, streamID: YamuxStreamID(1), length: 10)))
        XCTAssertEqual(try parser.next(&first), .payload(ByteBuffer(bytes: [1, 2, 3, 4]), remaining: 6))
        XCTAssertNil(try parser.next(&first))
        XCTAssertFalse(parser.isAtFrameBoundary)
        var second = ByteBuffer(bytes: [5, 6, 7, 8, 9, 10])
        XCTAssertEqual(try parser.next(&second), .payload(ByteBuffer(bytes: [5, 6, 7, 8, 9, 10]), remaining: 0))
        XCTAssertTrue(parser.isAtFrameBoundary)
    }
}
