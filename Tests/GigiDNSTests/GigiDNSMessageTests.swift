import XCTest
@testable import GigiDNS

final class GigiDNSMessageTests: XCTestCase {
    func testGoldenQueryDecodesAndReencodesByteForByte() throws {
        let v = try GoldenVectors.load().valid.first { $0.kind == "query" }!
        let m = try DNSMessage(decoding: bytes(hex: v.hex))
        XCTAssertFalse(m.isResponse)
        XCTAssertEqual(m.questions, [DNSQuestion(name: GigiDNSPackets.serviceName, type: DNSType.ptr)])
        XCTAssertEqual(GigiDNSPackets.query(id: 0x1234).encoded(), bytes(hex: v.hex))
    }

    func testGoldenAnnouncementsReencodeByteForByte() throws {
        for v in try GoldenVectors.load().valid where v.kind == "record" {
            let packet = bytes(hex: v.hex)
            let m = try DNSMessage(decoding: packet)
            XCTAssertEqual(m.encoded(), packet, v.name)
            XCTAssertEqual(m.flags, 0x8400, v.name)
            XCTAssertEqual(m.answers.count, 1, v.name)
        }
    }

    func testMalformedPacketsThrowTypedErrors() throws {
        for v in try GoldenVectors.load().malformed {
            XCTAssertThrowsError(try DNSMessage(decoding: bytes(hex: v.hex)), v.name)
        }
    }

    func testPointerLoopAndForwardPointerRejected() {
        var hdr: [UInt8] = [0, 7, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]
        hdr += [0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 0]
        XCTAssertThrowsError(try DNSMessage(decoding: hdr)) { XCTAssertEqual($0 as? DNSParseError, .badPointer) }
    }

    func testBackwardPointerLoopStopsAtTheHopBound() {
        // Offset 12: label "a", then a pointer back to offset 12: every hop points backwards, yet it loops.
        let m: [UInt8] = [0, 7, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, UInt8(ascii: "a"), 0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 0]
        XCTAssertThrowsError(try DNSMessage(decoding: m)) { XCTAssertEqual($0 as? DNSParseError, .pointerLoop) }
    }

    func testCompressedNamesDecode() throws {
        // Question "_gigi-dns._udp.local", answer name = pointer to offset 12, PTR data = "x" + pointer.
        var m = GigiDNSPackets.query(id: 9).encoded()
        m[3] = 0; m[2] = 0x84; m[7] = 1  // make it a response with one answer
        m += [0xC0, 12, 0, 12, 0, 1, 0, 0, 0, 10, 0, 4, 1, UInt8(ascii: "x"), 0xC0, 12]
        let d = try DNSMessage(decoding: m)
        XCTAssertEqual(d.answers.first?.name, GigiDNSPackets.serviceName)
        XCTAssertEqual(d.answers.first?.data, .ptr(DNSName("x._gigi-dns._udp.local")))
    }

    func testRecordTypesRoundTrip() throws {
        let m = DNSMessage(id: 1, flags: 0x8400, answers: [
            DNSResourceRecord(name: DNSName("a.local"), ttl: 5, data: .a([10, 1, 0, 2])),
            DNSResourceRecord(name: DNSName("a.local"), ttl: 5, data: .aaaa(Array(repeating: 0xFE, count: 16))),
            DNSResourceRecord(name: DNSName("s.local"), ttl: 5, data: .srv(priority: 1, weight: 2, port: 7173, target: DNSName("a.local"))),
            DNSResourceRecord(name: DNSName("t.local"), ttl: 5, data: .txt([[1, 2], []])),
            DNSResourceRecord(name: DNSName("o.local"), ttl: 5, data: .other(type: 99, bytes: [9])),
        ])
        XCTAssertEqual(try DNSMessage(decoding: m.encoded()), m)
    }

    func testNameComparisonIgnoresASCIICase() {
        XCTAssertEqual(DNSName("_GIGI-DNS._udp.LOCAL"), GigiDNSPackets.serviceName)
    }

    func testEveryTruncationOfAValidPacketIsRejectedWithoutTrapping() throws {
        let v = try GoldenVectors.load().valid.first { $0.name == "announcement-caps-meta" }!
        let packet = bytes(hex: v.hex)
        for n in 0..<packet.count {
            XCTAssertThrowsError(try DNSMessage(decoding: Array(packet.prefix(n))), "prefix \(n)")
        }
    }

    func testRandomGarbageNeverTraps() {
        var rng = SplitMix64(seed: 42)
        var rejected = 0
        for _ in 0..<5_000 {
            let n = Int(rng.next() % 300)
            let packet = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if (try? DNSMessage(decoding: packet)) == nil { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, 4_900)
    }
}

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
