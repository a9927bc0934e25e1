import XCTest
@testable import GigiFiles

final class TicketTests: XCTestCase {
    let ticket = ShareTicket(peerID: Array(0..<38), addresses: [[4, 127, 0, 0, 1, 6, 0x1f, 0x90], Array(repeating: 7, count: 200)],
                             shareID: Array(repeating: 0xaa, count: 16), secret: Array(100..<116))

    func testRoundTrip() throws {
        let text = ticket.text
        XCTAssertTrue(text.hasPrefix("gigi1"))
        XCTAssertEqual(try ShareTicket(text: text), ticket)
        XCTAssertEqual(try ShareTicket(text: " " + text.uppercased() + "\n"), ticket)
    }

    func testChecksumCatchesDamage() throws {
        var raw = ticket.bytes
        raw[10] ^= 1
        XCTAssertThrowsError(try ShareTicket(bytes: raw)) { XCTAssertEqual($0 as? TicketError, .badChecksum) }
        var t = Array(ticket.text)
        t[20] = t[20] == "a" ? "b" : "a"
        XCTAssertThrowsError(try ShareTicket(text: String(t)))
    }

    func testRejectsGarbage() {
        XCTAssertThrowsError(try ShareTicket(text: "gigi1"))
        XCTAssertThrowsError(try ShareTicket(text: "hello"))
        XCTAssertThrowsError(try ShareTicket(text: "gigi1!!!!"))
        var raw = ticket.bytes
        raw[0] = 9
        raw.removeLast(4)
        raw += Array(sha256(raw)[0..<4])
        XCTAssertThrowsError(try ShareTicket(bytes: raw)) { XCTAssertEqual($0 as? TicketError, .unsupportedVersion(9)) }
    }

    func testBase32() {
        XCTAssertEqual(Base32.encode(Array("foobar".utf8)), "mzxw6ytboi")
        XCTAssertEqual(Base32.decode("mzxw6ytboi"), Array("foobar".utf8))
        XCTAssertEqual(Base32.encode([]), "")
    }
}
