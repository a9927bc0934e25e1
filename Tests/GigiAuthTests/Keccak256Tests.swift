import GigiBase
import XCTest
@testable import GigiAuth

final class Keccak256Tests: XCTestCase {
    struct Vectors: Decodable {
        struct Vector: Decodable { let ascii: String?; let hex: String?; let `repeat`: Int; let digest: String }
        let vectors: [Vector]
    }

    func testVectors() throws {
        let file = try loadVector("keccak256-vectors", as: Vectors.self)
        XCTAssertEqual(file.vectors.count, 7)
        for v in file.vectors {
            let unit = try v.ascii.map { Array($0.utf8) } ?? XCTUnwrap(Hex.decode(v.hex ?? ""))
            let input = Array([[UInt8]](repeating: unit, count: v.`repeat`).joined())
            XCTAssertEqual(Hex.encode(Keccak256.hash(input)), v.digest, "\(input.count) bytes")
        }
    }

    func testIncrementalMatchesOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var k = Keccak256()
        k.update(data[0..<1])
        k.update(data[1..<136])
        k.update(data[136..<500])
        k.update(data[500...])
        XCTAssertEqual(k.finalize(), Keccak256.hash(data))
    }

    func testIsNotSHA3() {
        // SHA3-256("") begins a7ffc6f8: the padding byte differs (0x06 vs 0x01).
        XCTAssertFalse(Hex.encode(Keccak256.hash([UInt8]())).hasPrefix("a7ffc6f8"))
    }
}
