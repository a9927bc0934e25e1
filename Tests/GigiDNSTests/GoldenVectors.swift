import Foundation
import XCTest

/// Loads Vectors/golden.json (written by Vectors/make_vectors.py from the original's wire format).
struct GoldenVectors: Decodable {
    struct Valid: Decodable {
        let name: String
        let hex: String
        let kind: String
        let peer_id: String?
        let nickname: String?
        let addr: String?
        let caps: [String]?
        let meta: [[String]]?
        let ttl: UInt32?
    }
    struct Named: Decodable {
        let name: String
        let hex: String
    }
    let valid: [Valid]
    let malformed: [Named]
    let badRecords: [Named]

    static func load() throws -> GoldenVectors {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "golden", withExtension: "json", subdirectory: "Vectors"))
        return try JSONDecoder().decode(GoldenVectors.self, from: Data(contentsOf: url))
    }
}

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = hex.makeIterator()
    while let h = it.next(), let l = it.next() { out.append(UInt8(String([h, l]), radix: 16)!) }
    return out
}
