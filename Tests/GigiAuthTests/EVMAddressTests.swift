import GigiBase
import GigiCrypto
import XCTest
@testable import GigiAuth

final class EVMAddressTests: XCTestCase {
    func testEIP55Vectors() throws {
        struct File: Decodable { let addresses: [String] }
        let file = try loadVector("eip55-vectors", as: File.self)
        XCTAssertEqual(file.addresses.count, 8)
        for text in file.addresses {
            let raw = try XCTUnwrap(Hex.decode(String(text.dropFirst(2))))
            XCTAssertEqual(EVMAddress(bytes: raw)?.checksummed, text)
            XCTAssertEqual(EVMAddress(text)?.bytes, raw)
        }
    }

    func testParsing() {
        let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        XCTAssertNotNil(EVMAddress(good.lowercased()), "all lower case carries no checksum")
        XCTAssertNotNil(EVMAddress("0x" + good.dropFirst(2).uppercased()), "all upper case carries no checksum")
        XCTAssertNil(EVMAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), "one letter's case wrong")
        XCTAssertNil(EVMAddress("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), "no 0x")
        XCTAssertNil(EVMAddress("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA"), "too short")
    }

    /// The private key 1 has the public key G; its address is well known.
    func testAddressOfGenerator() throws {
        var one = [UInt8](repeating: 0, count: 32)
        one[31] = 1
        let pub = one.withUnsafeBytes { Secp256k1.publicKey(privateKey: $0, compressed: false) }
        XCTAssertEqual(try EVMAddress(publicKey: pub).checksummed, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf")
        let compressed = one.withUnsafeBytes { Secp256k1.publicKey(privateKey: $0) }
        XCTAssertEqual(try EVMAddress(publicKey: compressed), try EVMAddress(publicKey: pub))
        XCTAssertThrowsError(try EVMAddress(publicKey: [1, 2, 3]))
    }

    func testCodable() throws {
        let a = try XCTUnwrap(EVMAddress("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"))
        let json = try JSONEncoder().encode([a])
        XCTAssertEqual(String(decoding: json, as: UTF8.self), "[\"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359\"]")
        XCTAssertEqual(try JSONDecoder().decode([EVMAddress].self, from: json), [a])
    }
}
