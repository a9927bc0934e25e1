import Foundation
import XCTest
@testable import GigiCBOR

/// RFC 8949 Appendix A, both directions, from Vectors/rfc8949-appendix-a.txt.
final class GigiCBORTests: XCTestCase {
    struct Vector {
        let roundTrip: Bool
        let bytes: [UInt8]
        let diagnostic: String
    }

    func loadVectors() throws -> [Vector] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Vectors/rfc8949-appendix-a", withExtension: "txt"))
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            return Vector(roundTrip: parts[0] == "roundtrip", bytes: hexBytes(String(parts[1])),
                          diagnostic: String(parts[2]))
        }
    }

    func testAppendixAVectorsDecode() throws {
        let vectors = try loadVectors()
        XCTAssertEqual(vectors.count, 81)
        for v in vectors {
            let expected = try DiagnosticParser.parse(v.diagnostic)
            let decoded = try CBOR.decode(v.bytes)
            XCTAssertEqual(decoded, expected, "decoding \(hexString(v.bytes)) (\(v.diagnostic))")
            if case .float(let e) = expected, case .float(let d) = decoded {
                XCTAssertTrue(e.bitPattern == d.bitPattern || (e.isNaN && d.isNaN), v.diagnostic)
            }
        }
    }

    func testAppendixAVectorsEncode() throws {
        for v in try loadVectors() where v.roundTrip {
            let value = try DiagnosticParser.parse(v.diagnostic)
            XCTAssertEqual(hexString(value.encoded()), hexString(v.bytes), "encoding \(v.diagnostic)")
        }
    }

    func testIndefiniteInputIsReencodedDefinite() throws {
        let decoded = try CBOR.decode(hexBytes("bf6346756ef563416d7421ff"))
        // Keys sorted by their encoding: "Amt" (63 41…) before "Fun" (63 46…).
        XCTAssertEqual(hexString(decoded.encoded()), "a263416d74216346756ef5")
        XCTAssertEqual(decoded["Fun"], .bool(true))
        XCTAssertEqual(decoded["Amt"]?.intValue, -2)
    }

    func testDiagnosticDescription() throws {
        let v: CBOR = ["a": 1, "b": [.bytes([1, 2]), -3, .tagged(1, 5), nil]]
        XCTAssertEqual(v.description, #"{"a": 1, "b": [h'0102', -3, 1(5), null]}"#)
    }
}
