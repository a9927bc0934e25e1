import XCTest
@testable import GigiDNS

final class GigiDNSTXTRecordTests: XCTestCase {
    func testGoldenRecordsParseToTheirFieldsAndOursParseBack() throws {
        for v in try GoldenVectors.load().valid where v.kind == "record" {
            let m = try DNSMessage(decoding: bytes(hex: v.hex))
            guard case .txt(let strings) = m.answers[0].data else { return XCTFail(v.name) }
            XCTAssertTrue(strings.allSatisfy { $0.count <= 255 }, v.name)
            let r = try GigiDNSRecord(characterStrings: strings)
            XCTAssertEqual(r.peerID, v.peer_id, v.name)
            XCTAssertEqual(r.nickname, v.nickname, v.name)
            XCTAssertEqual(r.address, v.addr, v.name)
            XCTAssertEqual(r.capabilities, v.caps, v.name)
            XCTAssertEqual(r.meta, v.meta!.map { GigiDNSMetaEntry($0[0], $0[1]) }, v.name)
            XCTAssertEqual(m.answers[0].ttl, v.ttl, v.name)
            // Ours back: re-encoding the parsed record yields a record with the same fields.
            let again = try GigiDNSRecord(characterStrings: r.characterStrings)
            XCTAssertEqual(again, r, v.name)
        }
    }

    func testOurAnnouncementIsByteForByteTheOriginalFormat() throws {
        let v = try GoldenVectors.load().valid.first { $0.name == "announcement-split-over-255" }!
        let meta = (0..<12).map { GigiDNSMetaEntry("k\($0)", String(repeating: "v", count: 20)) }
        let r = GigiDNSRecord(peerID: v.peer_id!, nickname: "Carol", address: "/ip4/10.1.0.3/tcp/41000/p2p/\(v.peer_id!)",
                              meta: meta)
        let ours = GigiDNSPackets.announcement(id: 2, record: r, ttl: 60).encoded()
        XCTAssertEqual(ours, bytes(hex: v.hex))
        XCTAssertEqual(r.characterStrings.count, 2)
        XCTAssertEqual(r.characterStrings[0].count, 255)
    }

    func testNicknameWithSpacesAndEqualsIsEscapedAndRoundTrips() throws {
        let r = GigiDNSRecord(peerID: "12D3KooWabc", nickname: "Bob = the builder 100%", address: "/ip4/1.2.3.4/tcp/5",
                              capabilities: ["chat", "a,b"], meta: [GigiDNSMetaEntry("k:x", "v,1")])
        XCTAssertEqual(r.text, "peer_id=12D3KooWabc nickname=Bob%20%3D%20the%20builder%20100%25 addr=/ip4/1.2.3.4/tcp/5 caps=chat,a%2Cb meta=k%3Ax:v%2C1")
        XCTAssertEqual(try GigiDNSRecord(text: r.text), r)
    }

    func testBadRecordsAreRejected() throws {
        for v in try GoldenVectors.load().badRecords {
            let m = try DNSMessage(decoding: bytes(hex: v.hex))
            guard case .txt(let strings) = m.answers[0].data else { return XCTFail(v.name) }
            XCTAssertThrowsError(try GigiDNSRecord(characterStrings: strings), v.name)
        }
    }

    func testRendezvousKeysComeFromMeta() throws {
        let r = try GigiDNSRecord(text: "peer_id=12D3KooWabc nickname=a addr=/ip4/1.2.3.4/tcp/5 meta=rv:ABCD,os:linux,rv:ef01")
        XCTAssertEqual(r.rendezvousKeys, ["abcd", "ef01"])
    }

    func testControlCharactersInNicknameRejected() {
        XCTAssertThrowsError(try GigiDNSRecord(text: "peer_id=12D3KooWabc nickname=a%1B[2J addr=/ip4/1.2.3.4/tcp/5"))
    }
}
