import XCTest
@testable import P2PCore

final class MultihashTests: XCTestCase {
    func testSHA256OfEmptyInput() throws {
        let mh = Multihash.sha256([])
        XCTAssertEqual(mh.bytes, hex("1220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
        XCTAssertEqual(try Multihash(bytes: mh.bytes), mh)
    }

    func testIdentityRoundTrip() throws {
        let mh = Multihash.identity([1, 2, 3])
        XCTAssertEqual(mh.bytes, [0x00, 0x03, 1, 2, 3])
        XCTAssertEqual(try Multihash(bytes: mh.bytes), mh)
        XCTAssertEqual(try Multihash(bytes: [0x00, 0x00]).digest, [])
    }

    func testRejectsMalformed() {
        XCTAssertThrowsError(try Multihash(bytes: []))
        XCTAssertThrowsError(try Multihash(bytes: [0x12, 0x20] + [UInt8](repeating: 0, count: 31)))   // short
        XCTAssertThrowsError(try Multihash(bytes: [0x12, 0x10] + [UInt8](repeating: 0, count: 16)))   // truncated sha256
        XCTAssertThrowsError(try Multihash(bytes: [0x00, 0x02, 1, 2, 3]))                            // trailing byte
        XCTAssertThrowsError(try Multihash(bytes: [0x13, 0x40] + [UInt8](repeating: 0, count: 64)))   // sha2-512 unsupported
        XCTAssertThrowsError(try Multihash(bytes: [0x00, 0x81, 0x01] + [UInt8](repeating: 0, count: 129)))  // too long
        XCTAssertThrowsError(try Multihash(bytes: [0x00, 0xff, 0xff, 0xff, 0xff, 0x0f]))             // huge length
    }
}
