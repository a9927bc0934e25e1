import XCTest
@testable import GigiCBOR

final class CBOREncodingTests: XCTestCase {
    func testShortestIntegerHeads() {
        let cases: [(UInt64, String)] = [
            (0, "00"), (23, "17"), (24, "1818"), (255, "18ff"), (256, "190100"), (65535, "19ffff"),
            (65536, "1a00010000"), (0xffff_ffff, "1affffffff"), (0x1_0000_0000, "1b0000000100000000"),
        ]
        for (n, hex) in cases { XCTAssertEqual(hexString(CBOR.unsigned(n).encoded()), hex) }
        XCTAssertEqual(hexString(CBOR(-24).encoded()), "37")
        XCTAssertEqual(hexString(CBOR(-25).encoded()), "3818")
        XCTAssertEqual(hexString(CBOR(Int64.min).encoded()), "3b7fffffffffffffff")
    }

    func testShortestFloats() {
        XCTAssertEqual(hexString(CBOR.float(0.5).encoded()), "f93800")
        XCTAssertEqual(hexString(CBOR.float(Double(Float(0.1))).encoded()), "fa3dcccccd")
        XCTAssertEqual(hexString(CBOR.float(0.1).encoded()), "fb3fb999999999999a")
        XCTAssertEqual(hexString(CBOR.float(65536).encoded()), "fa47800000")   // just above half range
        XCTAssertEqual(hexString(CBOR.float(0x1p-24).encoded()), "f90001")     // smallest half subnormal
        XCTAssertEqual(hexString(CBOR.float(0x1p-25).encoded()), "fa33000000") // below it: single
        XCTAssertEqual(hexString(CBOR.float(-.nan).encoded()), "f97e00")
        // Every half pattern that is not NaN survives decode → encode.
        for bits in 0...UInt16.max where (bits & 0x7c00) != 0x7c00 || (bits & 0x3ff) == 0 {
            let bytes: [UInt8] = [0xf9, UInt8(bits >> 8), UInt8(bits & 0xff)]
            XCTAssertEqual(try CBOR.decode(bytes).encoded(), bytes)
        }
    }

    func testMapKeysSortedByEncodedBytes() {
        // Deterministic order (RFC 8949 §4.2.1): shorter encodings first when one is a prefix,
        // otherwise bytewise: 10 (0a), 100 (1864), -1 (20), "z" (617a), "aa" (626161), [100] (811864).
        let m: CBOR = .map([([100], 6), ("aa", 5), ("z", 4), (-1, 3), (100, 2), (10, 1)])
        XCTAssertEqual(hexString(m.encoded()), "a60a011864022003617a04626161058118640" + "6")
    }

    func testWriterMatchesTree() {
        var w = CBORWriter()
        w.writeArrayHeader(count: 4)
        w.writeUnsigned(7)
        w.writeInteger(-300)
        w.writeBytes([1, 2])
        w.writeText("hé")
        XCTAssertEqual(w.bytes, CBOR.array([7, -300, .bytes([1, 2]), "hé"]).encoded())
    }

    func testEqualityIgnoresMapOrder() {
        let a: CBOR = ["x": 1, "y": 2]
        let b: CBOR = ["y": 2, "x": 1]
        XCTAssertEqual(a, b)
        XCTAssertEqual(Set([a, b]).count, 1)
        XCTAssertNotEqual(CBOR.float(0.0), CBOR.float(-0.0))
    }
}
