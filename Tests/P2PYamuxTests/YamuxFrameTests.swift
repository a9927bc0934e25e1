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
}
