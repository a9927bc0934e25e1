import Foundation
import XCTest
@testable import GigiCBOR

final class CBOREncoderTests: XCTestCase {
    enum Kind: String, Codable { case file, directory }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case square(side: Int)
        case empty
    }

    struct Entry: Codable, Equatable {
        var path: String
        var size: UInt64
        var mode: UInt16
        var kind: Kind
        var sha256: [UInt8]
        var blob: Data
        var mtime: Date
        var note: String?
        var chunks: [[UInt8]]
        var ratio: Double
        var offset: Int64
        var tags: [String: Int]
        var byNumber: [Int: String]
        var shape: Shape
        var flags: [Bool]
        var nested: [Entry]?
    }

    func sample() -> Entry {
        Entry(path: "dir/a.txt", size: 1 << 40, mode: 0o644, kind: .file, sha256: Array(repeating: 0xab, count: 32),
              blob: Data([1, 2, 3]), mtime: Date(timeIntervalSince1970: 1_700_000_000), note: nil,
              chunks: [[1, 2], [3]], ratio: 0.25, offset: -5, tags: ["x": 1, "y": -2], byNumber: [3: "c", 1: "a"],
              shape: .circle(radius: 1.5), flags: [true, false], nested: nil)
    }

    func testStructRoundTrip() throws {
        var e = sample()
        e.nested = [sample()]
        e.nested![0].note = "inner"
        e.nested![0].shape = .empty
        let bytes = try CBOREncoder().encode(e)
        XCTAssertEqual(try CBORDecoder().decode(Entry.self, from: bytes), e)
    }

    func testMappingToCBOR() throws {
        let item = try CBOREncoder().encodeToCBOR(sample())
        XCTAssertEqual(item["path"], "dir/a.txt")
        XCTAssertEqual(item["size"], .unsigned(1 << 40))
        XCTAssertEqual(item["kind"], "file")
        XCTAssertEqual(item["sha256"], .bytes(Array(repeating: 0xab, count: 32)))
        XCTAssertEqual(item["blob"], .bytes([1, 2, 3]))
        XCTAssertEqual(item["mtime"], .tagged(1, 1_700_000_000))
        XCTAssertNil(item["note"], "nil optionals are omitted")
        XCTAssertNil(item["nested"])
        XCTAssertEqual(item["chunks"], [.bytes([1, 2]), .bytes([3])])
        XCTAssertEqual(item["offset"], -5)
        XCTAssertEqual(item["ratio"], 0.25)
        XCTAssertEqual(item["tags"], ["x": 1, "y": -2])
    }

    func testEncodingIsDeterministic() throws {
        // Dictionaries iterate in random order; the bytes must not.
        var e = sample()
        e.tags = Dictionary(uniqueKeysWithValues: (0..<50).map { ("k\($0)", $0) })
        let first = try CBOREncoder().encode(e)
        for _ in 0..<5 {
            var copy = e
            copy.tags = Dictionary(uniqueKeysWithValues: e.tags.shuffled())
            XCTAssertEqual(try CBOREncoder().encode(copy), first)
        }
        var options = CBORDecodingOptions()
        options.requireDeterministic = true
        XCTAssertNoThrow(try CBORDecoder(options: options).decode(Entry.self, from: first))
    }

    func testFractionalDateUsesFloat() throws {
        let d = Date(timeIntervalSince1970: 1.5)
        XCTAssertEqual(try CBOREncoder().encodeToCBOR(d), .tagged(1, 1.5))
        XCTAssertEqual(try CBORDecoder().decode(Date.self, from: CBOREncoder().encode(d)), d)
    }

    func testTopLevelValues() throws {
        XCTAssertEqual(try CBOREncoder().encode(UInt8(200)), [0x18, 0xc8])
        XCTAssertEqual(try CBOREncoder().encode([UInt8]([1, 2])), [0x42, 1, 2])
        XCTAssertEqual(try CBOREncoder().encode([Int?]([1, nil])), [0x82, 0x01, 0xf6])
        XCTAssertEqual(try CBORDecoder().decode([Int?].self, from: [0x82, 0x01, 0xf6]), [1, nil])
        XCTAssertEqual(try CBORDecoder().decode(String.self, from: [0x61, 0x61]), "a")
        XCTAssertEqual(try CBORDecoder().decode(Double.self, from: [0x18, 0x64]), 100)
    }

    func testEmptyArraysStayArrays() throws {
        struct Lists: Codable, Equatable { var names: [String]; var raw: [UInt8]; var nested: [[Int]] }
        let v = Lists(names: [], raw: [], nested: [[]])
        let item = try CBOREncoder().encodeToCBOR(v)
        XCTAssertEqual(item["names"], .array([]))
        XCTAssertEqual(item["raw"], .bytes([]))
        XCTAssertEqual(item["nested"], .array([.array([])]))
        XCTAssertEqual(try CBORDecoder().decode(Lists.self, from: CBOREncoder().encode(v)), v)
    }

    func testEmbeddedCBORPassesThrough() throws {
        struct Envelope: Codable, Equatable { var kind: String; var body: CBOR }
        let env = Envelope(kind: "x", body: [.tagged(42, .bytes([1])), .simple(99), .undefined])
        let bytes = try CBOREncoder().encode(env)
        XCTAssertEqual(try CBORDecoder().decode(Envelope.self, from: bytes), env)
    }

    func testUnknownKeysAreIgnoredAndMissingOptionalsAreNil() throws {
        struct V1: Codable { var name: String; var extra: Int }
        struct V2: Codable, Equatable { var name: String; var added: String? }
        let bytes = try CBOREncoder().encode(V1(name: "n", extra: 7))
        XCTAssertEqual(try CBORDecoder().decode(V2.self, from: bytes), V2(name: "n", added: nil))
    }

    func testTypeErrors() throws {
        struct S: Codable { var n: UInt8; var s: String }
        let tooBig = CBOR.map([("n", 300), ("s", "x")]).encoded()
        XCTAssertThrowsError(try CBORDecoder().decode(S.self, from: tooBig)) { error in
            guard case DecodingError.dataCorrupted(let ctx) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(ctx.codingPath.map(\.stringValue), ["n"])
        }
        let missing = CBOR.map([("n", 1)]).encoded()
        XCTAssertThrowsError(try CBORDecoder().decode(S.self, from: missing)) { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key.stringValue, "s")
        }
        let wrongType = CBOR.map([("n", "one"), ("s", "x")]).encoded()
        XCTAssertThrowsError(try CBORDecoder().decode(S.self, from: wrongType)) { error in
            guard case DecodingError.typeMismatch = error else { return XCTFail("\(error)") }
        }
        let negative = CBOR.map([("n", -1), ("s", "x")]).encoded()
        XCTAssertThrowsError(try CBORDecoder().decode(S.self, from: negative))
        XCTAssertThrowsError(try CBORDecoder().decode(S.self, from: [0xff])) { error in
            XCTAssertEqual(error as? CBORError, .unexpectedBreak(offset: 0))
        }
    }

    func testDecoderAppliesLimits() throws {
        var options = CBORDecodingOptions()
        options.maxLength = 8
        let bytes = try CBOREncoder().encode([UInt8](repeating: 1, count: 9))
        XCTAssertThrowsError(try CBORDecoder(options: options).decode([UInt8].self, from: bytes)) { error in
            XCTAssertEqual(error as? CBORError, .tooLong(length: 9, limit: 8, offset: 0))
        }
    }

    func testIntegerExtremes() throws {
        struct Ints: Codable, Equatable { var a: Int64; var b: UInt64; var c: Int8; var d: Int }
        let v = Ints(a: .min, b: .max, c: -128, d: .max)
        XCTAssertEqual(try CBORDecoder().decode(Ints.self, from: CBOREncoder().encode(v)), v)
        XCTAssertEqual(try CBOREncoder().encodeToCBOR(Int64.min), .negative(UInt64(Int64.max)))
    }
}
