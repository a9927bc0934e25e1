import XCTest
@testable import P2PCore

final class MultibaseTests: XCTestCase {
    /// "yes mani !" from the multiformats/multibase test suite; leading zero bytes checked against an independent big-integer encoding.
    func testSpecVectors() throws {
        let yesMani = Array("yes mani !".utf8)
        XCTAssertEqual(Multibase.encode(yesMani, as: .base58btc), "z7paNL19xttacUY")
        XCTAssertEqual(Multibase.encode(yesMani, as: .base32), "bpfsxgidnmfxgsibb")
        XCTAssertEqual(try Multibase.decode("BPFSXGIDNMFXGSIBB").bytes, yesMani)
        XCTAssertEqual(Multibase.encode([0x00, 0x79, 0x65, 0x73], as: .base58btc), "z1hmzS")
        XCTAssertEqual(Multibase.encode([0x00, 0x00, 0x79, 0x65, 0x73], as: .base58btc), "z11hmzS")
        XCTAssertEqual(Base58.encode([]), "")
        XCTAssertEqual(Base58.encode([0]), "1")
    }

    /// RFC 4648 §10 base32 vectors, lower case without padding.
    func testRFC4648Base32() throws {
        let cases = ["": "", "f": "my", "fo": "mzxq", "foo": "mzxw6", "foob": "mzxw6yq",
                     "fooba": "mzxw6ytb", "foobar": "mzxw6ytboi"]
        for (plain, encoded) in cases {
            XCTAssertEqual(Base32.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(try Base32.decode(encoded), Array(plain.utf8))
        }
    }

    func testRoundTripRandomLengths() throws {
        var rng = SystemRandomNumberGenerator()
        for length in 0..<80 {
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if length > 3 { bytes[0] = 0; bytes[1] = 0 }
            for base in Multibase.allCases {
                let text = Multibase.encode(bytes, as: base)
                let decoded = try Multibase.decode(text)
                XCTAssertEqual(decoded.base, base)
                XCTAssertEqual(decoded.bytes, bytes)
            }
        }
    }

    func testRejectsBadInput() {
        XCTAssertThrowsError(try Multibase.decode(""))
        XCTAssertThrowsError(try Multibase.decode("f0011"))          // base16 not supported
        XCTAssertThrowsError(try Multibase.decode("z0OIl"))          // not in the base58 alphabet
        XCTAssertThrowsError(try Multibase.decode("zé"))
        XCTAssertThrowsError(try Multibase.decode("bMZXW6"))         // mixed case in 'b'
        XCTAssertThrowsError(try Multibase.decode("bmzxw1"))         // '1' is not base32
        XCTAssertThrowsError(try Multibase.decode("bm"))             // impossible length
        XCTAssertThrowsError(try Multibase.decode("bmz"))            // non-zero trailing bits
        XCTAssertThrowsError(try Multibase.decode("z" + String(repeating: "2", count: 2000)))
    }
}
