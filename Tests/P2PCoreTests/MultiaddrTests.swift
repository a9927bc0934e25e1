import Foundation
import GigiBase
import XCTest
@testable import P2PCore

struct MultiaddrVectors: Decodable {
    struct Valid: Decodable {
        let text: String
        let hex: String?
    }
    struct Normalised: Decodable {
        let input: String
        let output: String
    }
    let valid: [Valid]
    let normalised: [Normalised]
    let invalid_text: [String]
    let invalid_hex: [String]
}

final class MultiaddrTests: XCTestCase {
    func testValidVectorsRoundTripBothForms() throws {
        let v = try loadVectors("multiaddr.json", as: MultiaddrVectors.self)
        for entry in v.valid {
            let ma = try Multiaddr(entry.text)
            XCTAssertEqual(ma.description, entry.text)
            if let expected = entry.hex {
                XCTAssertEqual(Hex.encode(ma.bytes), expected, entry.text)
            }
            XCTAssertEqual(try Multiaddr(bytes: ma.bytes), ma, entry.text)
        }
    }

    func testNormalisation() throws {
        let v = try loadVectors("multiaddr.json", as: MultiaddrVectors.self)
        for entry in v.normalised {
            XCTAssertEqual(try Multiaddr(entry.input).description, entry.output, entry.input)
        }
    }

    func testInvalidTextIsRejected() throws {
        let v = try loadVectors("multiaddr.json", as: MultiaddrVectors.self)
        for text in v.invalid_text {
            XCTAssertThrowsError(try Multiaddr(text), "accepted \(text)") { error in
                XCTAssertEqual((error as? P2PCoreError)?.kind, .multiaddr, "\(text): \(error)")
            }
        }
    }

    func testInvalidBinaryIsRejected() throws {
        let v = try loadVectors("multiaddr.json", as: MultiaddrVectors.self)
        for h in v.invalid_hex {
            XCTAssertThrowsError(try Multiaddr(bytes: hex(h)), "accepted \(h)")
        }
        XCTAssertThrowsError(try Multiaddr(bytes: [UInt8](repeating: 0x04, count: 2000)))
        let tooMany = [UInt8]((0..<40).flatMap { _ in [0xa2, 0x02] as [UInt8] })
        XCTAssertThrowsError(try Multiaddr(bytes: tooMany))
    }

    func testErrorMessagesNameTheProblem() {
        XCTAssertThrowsError(try Multiaddr("/ip4/300.1.1.1/tcp/1")) { error in
            XCTAssertTrue("\(error)".contains("300.1.1.1"), "\(error)")
        }
        XCTAssertThrowsError(try Multiaddr("/tcp/70000")) { error in
            XCTAssertTrue("\(error)".contains("70000"), "\(error)")
        }
        XCTAssertThrowsError(try Multiaddr("/udt/1")) { error in
            XCTAssertTrue("\(error)".contains("'udt'"), "\(error)")
        }
    }

    func testEveryTruncationOfABinaryAddressFails() throws {
        let ma = try Multiaddr("/ip6/2001:db8::1/tcp/4001/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X")
        let bytes = ma.bytes
        let boundaries: Set = [0, 17, 20]   // prefixes that are themselves whole multiaddrs
        for cut in 0..<bytes.count where !boundaries.contains(cut) {
            XCTAssertThrowsError(try Multiaddr(bytes: Array(bytes[..<cut])), "prefix of \(cut) bytes")
        }
        XCTAssertEqual(try Multiaddr(bytes: Array(bytes[..<20])).description, "/ip6/2001:db8::1/tcp/4001")
    }

    func testHelpers() throws {
        let peer = try seededKey(1).peerID
        let other = try seededKey(2).peerID
        let base = try Multiaddr("/ip4/127.0.0.1/tcp/4001")
        XCTAssertNil(base.peerID)
        let full = try base.withPeerID(peer)
        XCTAssertEqual(full.description, "/ip4/127.0.0.1/tcp/4001/p2p/\(peer)")
        XCTAssertEqual(full.peerID, peer)
        XCTAssertEqual(try full.withPeerID(peer), full)
        XCTAssertThrowsError(try full.withPeerID(other))
        XCTAssertEqual(full.withoutTrailingPeerID, base)

        let endpoint = try XCTUnwrap(full.endpoint)
        XCTAssertEqual(endpoint.host.string, "127.0.0.1")
        XCTAssertEqual(endpoint.port, 4001)
        XCTAssertEqual(endpoint.transport, .tcp)

        let v6 = try XCTUnwrap(try Multiaddr("/ip6/::1/udp/9/quic-v1").endpoint)
        XCTAssertEqual(v6.host, .ip6(MultiaddrComponent.IPv6("::1")!))
        XCTAssertEqual(v6.transport, .udp)
        let dns = try XCTUnwrap(try Multiaddr("/dns6/example.com/tcp/443").endpoint)
        XCTAssertEqual(dns.host, .dns("example.com", family: 6))
        XCTAssertNil(try Multiaddr("/p2p-circuit").endpoint)
        XCTAssertNil(try Multiaddr("/ip4/1.2.3.4").endpoint)

        let relayed = full.appending(.p2pCircuit).appending(.p2p(other))
        XCTAssertTrue(relayed.isRelayed)
        XCTAssertEqual(relayed.peerID, other)
        XCTAssertEqual(try Multiaddr.tcp(ipAddress: "::1", port: 80).description, "/ip6/::1/tcp/80")
        XCTAssertEqual(try Multiaddr.tcp(ipAddress: "10.0.0.1", port: 80).description, "/ip4/10.0.0.1/tcp/80")
        XCTAssertThrowsError(try Multiaddr.tcp(ipAddress: "localhost", port: 80))
    }

    func testCodableAsString() throws {
        let ma = try Multiaddr("/dns4/example.com/tcp/443")
        let json = try JSONEncoder().encode([ma])
        XCTAssertEqual(String(decoding: json, as: UTF8.self), #"["\/dns4\/example.com\/tcp\/443"]"#)
        XCTAssertEqual(try JSONDecoder().decode([Multiaddr].self, from: json), [ma])
    }
}
