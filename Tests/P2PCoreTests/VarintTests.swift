import NIOCore
import XCTest
@testable import P2PCore

final class VarintTests: XCTestCase {
    /// Examples from the multiformats/unsigned-varint README.
    func testSpecExamples() throws {
        let cases: [(UInt64, [UInt8])] = [
            (1, [0x01]), (127, [0x7f]), (128, [0x80, 0x01]), (255, [0xff, 0x01]),
            (300, [0xac, 0x02]), (16384, [0x80, 0x80, 0x01]),
            (Varint.maxValue, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        ]
        for (value, bytes) in cases {
            XCTAssertEqual(Varint.encode(value), bytes, "\(value)")
            XCTAssertEqual(Varint.encodedLength(value), bytes.count)
            let decoded = try XCTUnwrap(try Varint.decode(bytes))
            XCTAssertEqual(decoded.value, value)
            XCTAssertEqual(decoded.length, bytes.count)
        }
    }

    func testRoundTripAcrossBitBoundaries() throws {
        for shift in 0..<63 {
            for delta: Int64 in [-1, 0, 1] {
                let value = UInt64(max(0, Int64(1) << shift + delta))
                let encoded = Varint.encode(value)
                XCTAssertEqual(try Varint.decode(encoded)?.value, value)
                var buffer = ByteBuffer()
                XCTAssertEqual(Varint.write(value, to: &buffer), encoded.count)
                XCTAssertEqual(Array(buffer.readableBytesView), encoded)
            }
        }
    }

    func testIncompleteReturnsNilAndLeavesBufferAlone() throws {
        XCTAssertNil(try Varint.decode([UInt8]()))
        XCTAssertNil(try Varint.decode([0x80, 0x80]))
        var buffer = ByteBuffer(bytes: [0xac])
        XCTAssertNil(try Varint.read(from: &buffer))
        XCTAssertEqual(buffer.readableBytes, 1)
        buffer.writeInteger(UInt8(0x02))
        buffer.writeInteger(UInt8(0x99))
        XCTAssertEqual(try Varint.read(from: &buffer), 300)
        XCTAssertEqual(buffer.readableBytes, 1)
    }

    func testRejectsTenByteAndNonMinimalForms() {
        let tooLong = [UInt8](repeating: 0xff, count: 9) + [0x01]
        XCTAssertThrowsError(try Varint.decode(tooLong))
        // Overlong even before the terminator arrives.
        XCTAssertThrowsError(try Varint.decode([UInt8](repeating: 0x80, count: 10)))
        XCTAssertThrowsError(try Varint.decode([0x81, 0x00]))   // 1 encoded in two bytes
        XCTAssertThrowsError(try Varint.decode([0x80, 0x80, 0x00]))
        XCTAssertEqual(try Varint.decode([0x00])?.value, 0)
    }
}
