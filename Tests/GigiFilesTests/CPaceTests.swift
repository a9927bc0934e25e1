import Foundation
import XCTest
@testable import GigiFiles

final class CPaceTests: XCTestCase {
    struct Vectors: Decodable {
        struct V: Decodable {
            let PRS, CI, sid, g, ya, ADa, Ya, yb, ADb, Yb, K, ISK_IR, sid_output_ir: String
        }
        struct Points: Decodable {
            struct Valid: Decodable {
                let s: String, X: String
                let mult: String
                enum CodingKeys: String, CodingKey { case s, X, mult = "G.scalar_mult_vfy(s,X)" }
            }
            let Valid: Valid
            let invalid1: String, invalid2: String
            enum CodingKeys: String, CodingKey { case Valid, invalid1 = "Invalid Y1", invalid2 = "Invalid Y2" }
        }
        let vector: V
        let points: Points
    }

    func loadVectors() throws -> Vectors {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Vectors/cpace-ristretto255-sha512", withExtension: "json"))
        return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }

    func testDraftVectorRistretto255SHA512() throws {
        let v = try loadVectors().vector
        let g = CPaceRistretto255.generator(prs: hex(v.PRS), ci: hex(v.CI), sid: hex(v.sid))
        XCTAssertEqual(g, hex(v.g))
        let ya = try CPaceRistretto255.scalarMult(hex(v.ya), g)
        let yb = try CPaceRistretto255.scalarMult(hex(v.yb), g)
        XCTAssertEqual(ya, hex(v.Ya))
        XCTAssertEqual(yb, hex(v.Yb))
        let ka = try CPaceRistretto255.scalarMult(hex(v.ya), yb)
        let kb = try CPaceRistretto255.scalarMult(hex(v.yb), ya)
        XCTAssertEqual(ka, hex(v.K))
        XCTAssertEqual(kb, hex(v.K))
        let isk = CPaceRistretto255.isk(sid: hex(v.sid), k: ka, ya: ya, ada: hex(v.ADa), yb: yb, adb: hex(v.ADb))
        XCTAssertEqual(isk, hex(v.ISK_IR))
        XCTAssertEqual(CPaceRistretto255.sidOutput(ya: ya, ada: hex(v.ADa), yb: yb, adb: hex(v.ADb)), hex(v.sid_output_ir))
    }

    func testDraftPointVerification() throws {
        let p = try loadVectors().points
        XCTAssertEqual(try CPaceRistretto255.scalarMult(hex(p.Valid.s), hex(p.Valid.X)), hex(p.Valid.mult))
        XCTAssertThrowsError(try CPaceRistretto255.scalarMult(hex(p.Valid.s), hex(p.invalid1)))
        XCTAssertThrowsError(try CPaceRistretto255.scalarMult(hex(p.Valid.s), hex(p.invalid2)))
    }

    func testPrependLenAndLvCat() {
        XCTAssertEqual(CPaceRistretto255.prependLen([]), [0])
        XCTAssertEqual(CPaceRistretto255.prependLen(Array(repeating: 1, count: 128)).prefix(2), [0x80, 0x01])
        XCTAssertEqual(CPaceRistretto255.lvCat(Array("1234".utf8), Array("5".utf8), [], Array("678".utf8)),
                       hex("04313233340135000336373 8".replacingOccurrences(of: " ", with: "")))
    }
}

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}
