import XCTest
import GigiCBOR
@testable import GigiFiles

/// The hand-written manifest codec against the generic Codable one it replaces:
/// the same bytes, and the same verdict (and value) on any input.
final class ManifestCodecTests: XCTestCase {
    // MARK: The reference: the generic path Manifest.decode used before

    static func genericDecode(_ bytes: [UInt8]) throws -> Manifest {
        guard bytes.count <= Manifest.maxEncodedSize else { throw ManifestError.tooLarge("\(bytes.count) bytes") }
        var options = CBORDecodingOptions()
        options.maxInputSize = Manifest.maxEncodedSize
        options.maxDepth = 8
        options.requireDeterministic = true
        let m: Manifest
        do { m = try CBORDecoder(options: options).decode(Manifest.self, from: bytes) } catch {
            throw ManifestError.malformed("undecodable: \(error)")
        }
        try m.validate()
        return m
    }

    enum Outcome: Equatable, CustomStringConvertible {
        case accepted(Manifest)
        /// Refused before validation (the reasons differ between the two decoders).
        case undecodable
        /// Refused by `validate` (or size): the error itself.
        case invalid(String)

        init(_ decode: () throws -> Manifest) {
            do { self = .accepted(try decode()) } catch ManifestError.malformed(let why) where why.hasPrefix("undecodable") {
                self = .undecodable
            } catch {
                self = .invalid("\(error)")
            }
        }

        var description: String {
            switch self {
            case .accepted(let m): return "accepted \(m.entries.count) entries"
            case .undecodable: return "undecodable"
            case .invalid(let e): return "invalid: \(e)"
            }
        }
    }

    func assertSameVerdict(_ bytes: [UInt8], _ what: @autoclosure () -> String, file: StaticString = #filePath,
                           line: UInt = #line) {
        let new = Outcome { try Manifest.decode(bytes) }
        let old = Outcome { try Self.genericDecode(bytes) }
        XCTAssertEqual(new, old, "\(what()): \(hex(bytes.prefix(80)))", file: file, line: line)
    }

    // MARK: Fixtures

    static let hash32 = (0..<32).map { UInt8($0) }

    static func file(_ path: String, size: UInt64, mode: UInt32 = 0o644, mtime: Int64 = 1_700_000_000,
                     nanos: UInt32 = 5) -> ManifestEntry {
        let n = ManifestEntry.chunkCount(size: size, chunkSize: Manifest.defaultChunkSize)
        let hashes = n > 10_000 ? Array(repeating: 7, count: 32 * n) : (0..<(32 * n)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        return ManifestEntry(path: path, kind: .file, size: size, mode: mode, mtime: mtime, mtimeNanos: nanos,
                             sha256: hash32, chunkHashes: hashes)
    }

    static func dir(_ path: String, mtime: Int64 = 1) -> ManifestEntry {
        ManifestEntry(path: path, kind: .directory, size: 0, mode: 0o755, mtime: mtime, mtimeNanos: 0)
    }

    static let small = Manifest(entries: [dir("d"), file("d/a", size: 1), file("d/e", size: 0), dir("d/s"), file("z", size: 3)])

    static var samples: [Manifest] {
        var out: [Manifest] = [
            small,
            Manifest(entries: [file("empty", size: 0)]),
            Manifest(entries: [dir("only-a-dir")]),
            Manifest(entries: [file("one", size: 262_144)]),
            Manifest(entries: [file("two", size: 262_145)]),
            Manifest(entries: [file("many", size: 4096 * 262_144)]),
            Manifest(entries: [dir("ünïcödé ✓"), file("ünïcödé ✓/日本語 \u{1F600}.txt", size: 10), file("e\u{301}", size: 1)]),
            Manifest(entries: [file("old", size: 1, mtime: -1), file("older", size: 1, mtime: .min, nanos: 999_999_999)]),
            Manifest(entries: [file("x", size: 23, mtime: 23), file("y", size: 24, mtime: 24), file("w", size: 255, mtime: -24),
                               file("v", size: 256, mtime: -25), file("u", size: 65_535, mtime: -256),
                               file("t", size: 65_536, mtime: -257), file("s", size: 0xffff_ffff, mtime: 0x1_0000_0000)]),
            Manifest(entries: (0..<1000).map { file(String(repeating: "n", count: 1 + $0 % 40) + "\($0)", size: UInt64($0 * 10)) }),
            Manifest(entries: []),
        ]
        // Values the type can hold but `validate` refuses: the encoding must still match.
        var odd = Manifest(entries: [file("m", size: 1)], chunkSize: -5)
        odd.version = Int.min
        odd.entries[0].mode = .max
        odd.entries[0].sha256 = []
        out.append(odd)
        var huge = Manifest(entries: [file("big", size: 1, mtime: .max, nanos: .max), file("bigger", size: 1)])
        huge.entries[0].size = Manifest.maxFileSize
        huge.entries[1].size = .max
        out.append(huge)
        var big = Manifest(entries: [dir("d")], chunkSize: .max)
        big.version = .max
        out.append(big)
        return out
    }

    // MARK: Encoding

    func testBytesAreTheCodableOnes() throws {
        for m in Self.samples {
            XCTAssertEqual(try m.encoded(), try CBOREncoder().encode(m), "\(m.entries.map(\.path).prefix(3))")
        }
    }

    func testLayoutIsTheDocumentedOne() throws {
        let m = Manifest(entries: [Self.dir("d")])
        XCTAssertEqual(hex(try m.encoded()[...]),
                       "a3" + "6165" + "81" + "a8" + "616340" + "616840" + "616b01" + "616d1901ed" + "616e00" + "6170" + "6164"
                       + "617300" + "617401" + "617601" + "626373" + "1a00040000")
    }

    func testRoundTrip() throws {
        for m in Self.samples {
            let bytes = try m.encoded()
            if (try? m.validate()) != nil {
                XCTAssertEqual(try Manifest.decode(bytes), m)
            } else {
                XCTAssertThrowsError(try Manifest.decode(bytes))
            }
            assertSameVerdict(bytes, "sample")
        }
    }

    // MARK: Same verdicts on mutated input

    func testMutationsGetTheGenericVerdict() throws {
        var rng = SplitMix64(seed: 0x6d61_6e69_6665_7374)
        let bases = [Self.small, Manifest(entries: [Self.file("a", size: 262_145), Self.file("b", size: 70_000, mtime: -70_000)]),
                     Manifest(entries: [Self.dir("a"), Self.file("a/..", size: 1)])]   // invalid: a validation verdict
            .map { try! $0.encoded() }
            + [try Self.lenientForm()]
        let interesting: [UInt8] = [0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x3f, 0x40, 0x41, 0x5f, 0x60, 0x61,
                                    0x62, 0x7f, 0x80, 0x81, 0x9f, 0xa0, 0xa8, 0xa9, 0xbf, 0xc0, 0xf4, 0xf6, 0xf9, 0xfb, 0xff]
        var accepted = 0, refused = 0
        for round in 0..<4000 {
            var bytes = bases[round % bases.count]
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0...3: bytes[at] = interesting.randomElement(using: &rng)!
            case 4...5: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 6: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 7: bytes.removeSubrange(at...)
            case 8: bytes.remove(at: at)
            default:
                if Bool.random(using: &rng) {
                    bytes.insert(interesting.randomElement(using: &rng)!, at: at)
                } else {
                    bytes += (0..<Int.random(in: 1...3, using: &rng)).map { _ in interesting.randomElement(using: &rng)! }
                }
            }
            let verdict = Outcome { try Manifest.decode(bytes) }
            if case .accepted = verdict { accepted += 1 } else { refused += 1 }
            assertSameVerdict(bytes, "round \(round)")
        }
        // Both kinds of verdict occur, so the comparison means something.
        XCTAssertGreaterThan(accepted, 400)
        XCTAssertGreaterThan(refused, 1000)
    }

    /// `small` with what the generic decoder tolerated: unknown keys of several
    /// types in their canonical places, and `h` / `c` as arrays of integers.
    static func lenientForm() throws -> [UInt8] {
        var tree = try CBOREncoder().encodeToCBOR(small)
        guard case .map(var top) = tree, case .array(var entries) = top.first(where: { $0.key == "e" })!.value,
              case .map(var entry) = entries[1]
        else { throw CBORError.notDeterministic }
        entry.append((key: "x", value: ["nested": [1, -2, .bytes([3])], "f": 1.5]))
        entry.append((key: 7, value: .null))
        entry = entry.map { $0.key == "h" ? (key: $0.key, value: .array(hash32.map { CBOR($0) })) : $0 }
        entries[1] = .map(entry)
        if case .map(var dirEntry) = entries[0] {
            dirEntry = dirEntry.map { $0.key == "c" ? (key: $0.key, value: []) : $0 }
            entries[0] = .map(dirEntry)
        }
        top = top.map { $0.key == "e" ? (key: $0.key, value: .array(entries)) : $0 }
        top.append((key: "zz", value: .tagged(1, 0)))
        top.append((key: .bytes([1]), value: true))
        tree = .map(top)
        return tree.encoded()
    }

    func testAcceptsWhatTheGenericDecoderTolerated() throws {
        let bytes = try Self.lenientForm()
        XCTAssertEqual(try Manifest.decode(bytes), Self.small)
        assertSameVerdict(bytes, "lenient")
    }

    func testRefusesCanonicallyEquivalentUnknownKeys() throws {
        // "é" precomposed and decomposed: different bytes, equal Strings. The generic
        // decoder's verdict depended on hash-table luck; this one always refuses.
        guard case .map(var top) = try CBOREncoder().encodeToCBOR(Self.small) else { return XCTFail() }
        top += [(key: "\u{e9}", value: 1), (key: "e\u{301}", value: 2)]
        XCTAssertThrowsError(try Manifest.decode(CBOR.map(top).encoded()))
        guard case .map(var top2) = try CBOREncoder().encodeToCBOR(Self.small) else { return XCTFail() }
        top2 += [(key: "u", value: ["\u{e9}": 1, "e\u{301}": 2])]
        XCTAssertThrowsError(try Manifest.decode(CBOR.map(top2).encoded()))
    }

    // MARK: Specific refusals

    func assertRefused(_ bytes: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Outcome { try Manifest.decode(bytes) }, .undecodable, what, file: file, line: line)
        assertSameVerdict(bytes, what, file: file, line: line)
    }

    func testRefusesNonCanonicalAndMalformedInput() throws {
        let good = try Self.small.encoded()
        let vcs: [UInt8] = [0x61, 0x76, 0x01, 0x62, 0x63, 0x73, 0x1a, 0x00, 0x04, 0x00, 0x00]   // "v": 1, "cs": 262144
        XCTAssertEqual(Array(good.suffix(11)), vcs)
        let head = Array(good.dropLast(11))
        assertRefused(head + [0x61, 0x76, 0x18, 0x01] + vcs[3...], "non-shortest integer")
        assertRefused(head + vcs[0..<6] + [0x1b, 0, 0, 0, 0, 0, 4, 0, 0], "non-shortest chunk size")
        // "cs" before "v": 2-byte keys sort after 1-byte ones.
        assertRefused(head + vcs[3...] + vcs[0..<3], "keys out of order")
        assertRefused([0xa4] + head.dropFirst() + vcs[0..<3] + vcs, "duplicate key")
        assertRefused(good + [0x00], "trailing byte")
        assertRefused(Array(good.dropLast()), "truncated")

        // Indefinite-length entries array: 0x9f ... 0xff instead of 0x85.
        XCTAssertEqual(Array(good[0..<4]), [0xa3, 0x61, 0x65, 0x85])
        let entriesEnd = good.count - 11
        assertRefused(Array(good[0..<3]) + [0x9f] + good[4..<entriesEnd] + [0xff] + good[entriesEnd...], "indefinite array")
        // Indefinite-length path text.
        let d = try Manifest(entries: [Self.dir("d")]).encoded()
        let p = try XCTUnwrap(ManifestCodecTests.find([0x61, 0x70, 0x61, 0x64], in: d))
        assertRefused(Array(d[..<(p + 2)]) + [0x7f, 0x61, 0x64, 0xff] + d[(p + 4)...], "indefinite text")
        // A path that is not UTF-8.
        assertRefused(Array(d[..<(p + 3)]) + [0xff] + d[(p + 4)...], "invalid UTF-8")
    }

    func testHugeClaimedCountsFailFast() throws {
        let good = try Self.small.encoded()
        // 2^40 entries, 2^63 entries, a 2^62-byte path, a 10^9-entry top map: refused before any allocation.
        assertRefused(Array(good[0..<3]) + [0x9b, 0, 0, 1, 0, 0, 0, 0, 0] + good[4...], "2^40 entries")
        assertRefused(Array(good[0..<3]) + [0x9b, 0x80, 0, 0, 0, 0, 0, 0, 0] + good[4...], "2^63 entries")
        assertRefused([0xba, 0x3b, 0x9a, 0xca, 0x00] + good[1...], "10^9 top-level keys")
        let d = try Manifest(entries: [Self.dir("d")]).encoded()
        let p = try XCTUnwrap(ManifestCodecTests.find([0x61, 0x70, 0x61, 0x64], in: d))
        assertRefused(Array(d[..<(p + 2)]) + [0x7b, 0x40, 0, 0, 0, 0, 0, 0, 0] + d[(p + 3)...], "2^62-byte path")
        // An array count just within the input, of one-byte items: counted, then refused on the type.
        assertRefused(Array(good[0..<3]) + [0x99, 0x01, 0x00] + Array(repeating: 0, count: 256) + good.suffix(11), "ints")
    }

    func testOnlyTheManifestsOwnLimitsApply() throws {
        // The generic decoder stopped at 16 MiB per string (a 128 GiB file) and 2^20
        // items (about 61,000 entries); the manifest's limits are higher.
        let big = Manifest(entries: [Self.file("f", size: 600_000 * 262_144)])
        XCTAssertGreaterThan(big.entries[0].chunkHashes.count, 16 << 20)
        XCTAssertEqual(try Manifest.decode(try big.encoded()), big)
        let many = Manifest(entries: [Self.dir("d")] + (0..<70_000).map { Self.file("d/f\($0)", size: 1) })
        XCTAssertEqual(try Manifest.decode(try many.encoded()).entries.count, 70_001)
        // Over the input limit: refused before decoding.
        XCTAssertThrowsError(try Manifest.decode([UInt8](repeating: 0, count: Manifest.maxEncodedSize + 1)))
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard needle.count <= hay.count else { return nil }
        return (0...(hay.count - needle.count)).first { Array(hay[$0..<($0 + needle.count)]) == needle }
    }
}

private func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// A small seeded generator, so that every run mutates the same way.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
