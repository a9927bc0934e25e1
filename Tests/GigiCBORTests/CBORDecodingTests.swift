import XCTest
@testable import GigiCBOR

final class CBORDecodingTests: XCTestCase {
    func assertRejects(_ hex: String, _ expected: CBORError? = nil, options: CBORDecodingOptions = .default,
                       file: StaticString = #filePath, line: UInt = #line) {
        do {
            let v = try CBOR.decode(hexBytes(hex), options: options)
            XCTFail("\(hex) decoded to \(v)", file: file, line: line)
        } catch {
            if let expected { XCTAssertEqual(error, expected, hex, file: file, line: line) }
        }
    }

    func testTruncatedInput() {
        assertRejects("", .truncated(offset: 0))
        assertRejects("18", .truncated(offset: 1))            // 1-byte argument missing
        assertRejects("19ff", .truncated(offset: 1))
        assertRejects("1b00000000000000", .truncated(offset: 1))
        assertRejects("44010203", .truncated(offset: 4))      // 4-byte string, 3 given
        assertRejects("6361", .truncated(offset: 2))
        assertRejects("830102", .truncated(offset: 3))        // array of 3, 2 given
        assertRejects("a2010203", .truncated(offset: 4))      // map of 2, 1.5 given
        assertRejects("9f0102", .truncated(offset: 3))        // indefinite array without break
        assertRejects("5f4101", .truncated(offset: 3))
        assertRejects("c1", .truncated(offset: 1))            // tag without item
        assertRejects("fa0000", .truncated(offset: 1))
    }

    func testEveryPrefixOfValidInputIsRejected() throws {
        let value: CBOR = ["name": "x", "list": [1, -1000, 1.5, .bytes([1, 2, 3]), ["k": .null]], "t": .tagged(1, 99)]
        let bytes = value.encoded()
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try CBOR.decode(Array(bytes[0..<n])), "prefix \(n)")
        }
        XCTAssertEqual(try CBOR.decode(bytes), value)
    }

    func testHugeDeclaredLengthsDoNotAllocate() {
        // Claimed lengths far beyond the input must fail before any allocation.
        assertRejects("5bffffffffffffffff", .tooLong(length: UInt64.max, limit: CBORDecodingOptions.default.maxLength, offset: 0))
        assertRejects("5a7fffffff00", .tooLong(length: 0x7fffffff, limit: CBORDecodingOptions.default.maxLength, offset: 0))
        assertRejects("9a00ffffff01", .truncated(offset: 6))
        assertRejects("ba00ffffff0101", .truncated(offset: 7))
        var small = CBORDecodingOptions()
        small.maxLength = 4
        assertRejects("450102030405", .tooLong(length: 5, limit: 4, offset: 0), options: small)
        assertRejects("850102030405", .tooLong(length: 5, limit: 4, offset: 0), options: small)
        assertRejects("5f43010203420405ff", .tooLong(length: 5, limit: 4, offset: 0), options: small)
    }

    func testDeepNestingIsRejected() {
        let deep = [UInt8](repeating: 0x81, count: 100_000) + [0x00]
        XCTAssertThrowsError(try CBOR.decode(deep)) { XCTAssertEqual($0 as? CBORError, .tooDeep(limit: 64)) }
        let deepTags = [UInt8](repeating: 0xc1, count: 10_000) + [0x00]
        XCTAssertThrowsError(try CBOR.decode(deepTags)) { XCTAssertEqual($0 as? CBORError, .tooDeep(limit: 64)) }
        let deepIndefinite = [UInt8](repeating: 0x9f, count: 10_000)
        XCTAssertThrowsError(try CBOR.decode(deepIndefinite)) { XCTAssertEqual($0 as? CBORError, .tooDeep(limit: 64)) }
        // Exactly at the limit is fine.
        var options = CBORDecodingOptions()
        options.maxDepth = 3
        XCTAssertNoThrow(try CBOR.decode(hexBytes("818100"), options: options))
        assertRejects("81818100", .tooDeep(limit: 3), options: options)
        // Absurd limits are capped so the stack survives.
        options.maxDepth = .max
        XCTAssertThrowsError(try CBOR.decode(deep, options: options)) {
            XCTAssertEqual($0 as? CBORError, .tooDeep(limit: CBORDecodingOptions.depthCeiling))
        }
    }

    func testItemAndSizeLimits() {
        var options = CBORDecodingOptions()
        options.maxItems = 3
        XCTAssertNoThrow(try CBOR.decode(hexBytes("820102"), options: options))
        assertRejects("83010203", .tooManyItems(limit: 3), options: options)
        options = CBORDecodingOptions()
        options.maxInputSize = 2
        assertRejects("830102", .inputTooLarge(size: 3, limit: 2), options: options)
    }

    func testMalformedHeads() {
        assertRejects("1c", .malformedHead(offset: 0))         // reserved additional info 28
        assertRejects("3d", .malformedHead(offset: 0))
        assertRejects("fe", .malformedHead(offset: 0))
        assertRejects("1f", .malformedHead(offset: 0))         // indefinite integer
        assertRejects("df00", .malformedHead(offset: 0))       // indefinite tag
        assertRejects("ff", .unexpectedBreak(offset: 0))
        assertRejects("8201ff", .unexpectedBreak(offset: 2))
        assertRejects("f818", .invalidSimpleValue(offset: 0))  // two-byte simple value < 32
        assertRejects("5f01ff", .invalidChunk(offset: 1))      // chunk of the wrong major type
        assertRejects("5f6161ff", .invalidChunk(offset: 1))
        assertRejects("5f5f4101ffff", .invalidChunk(offset: 1))  // nested indefinite chunk
        assertRejects("62c328", .invalidUTF8(offset: 0))
        assertRejects("7f61c361bcff", .invalidUTF8(offset: 1))   // a code point split across chunks
        assertRejects("0001", .trailingBytes(offset: 1))
        assertRejects("a2616101616102", .duplicateMapKey(offset: 0))
    }

    func testDuplicateKeysAllowedWhenAsked() throws {
        var options = CBORDecodingOptions()
        options.rejectDuplicateKeys = false
        let v = try CBOR.decode(hexBytes("a2616101616102"), options: options)
        XCTAssertEqual(v.mapEntries?.count, 2)
    }

    func testRequireDeterministic() throws {
        var options = CBORDecodingOptions()
        options.requireDeterministic = true
        XCTAssertNoThrow(try CBOR.decode(hexBytes("a201020304"), options: options))
        assertRejects("a203040102", .notDeterministic, options: options)  // unsorted keys
        assertRejects("1817", .notDeterministic, options: options)        // 23 in two bytes
        assertRejects("9f01ff", .notDeterministic, options: options)      // indefinite length
        assertRejects("fa3f800000", .notDeterministic, options: options)  // 1.0 as single
        XCTAssertEqual(try CBOR.decode(hexBytes("1817")), 23)
    }

    func testDecodePrefixReportsLength() throws {
        let (v, used) = try CBOR.decodePrefix(hexBytes("83010203ffee"))
        XCTAssertEqual(v, [1, 2, 3])
        XCTAssertEqual(used, 4)
    }

    /// Random and mutated inputs: decoding must return or throw, never trap or hang.
    func testFuzzRandomAndMutatedInputs() throws {
        var rng = SplitMix64(seed: 0x6769_6769)
        let seed: CBOR = ["a": [1, 2, .bytes([9, 9, 9]), ["x": 1.5, "y": "text"]], "b": .tagged(2, .bytes([1, 0])),
                          "c": -100_000, "d": [.null, .undefined, true, .simple(99)]]
        let base = seed.encoded()
        var decodedCount = 0
        for round in 0..<20_000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = (0..<Int(rng.next() % 40)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                input = base
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let pos = Int(rng.next() % UInt64(input.count))
                    switch rng.next() % 3 {
                    case 0: input[pos] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: input.remove(at: pos)
                    default: input.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
                    }
                    if input.isEmpty { break }
                }
            }
            if let v = try? CBOR.decode(input) {
                decodedCount += 1
                // Whatever decodes re-encodes to something that decodes to the same value.
                XCTAssertEqual(try CBOR.decode(v.encoded()), v)
            }
        }
        XCTAssertGreaterThan(decodedCount, 0)
    }
}

/// Deterministic PRNG for reproducible fuzz rounds.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
