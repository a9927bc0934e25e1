import GigiBase
import XCTest
@testable import GigiDNS

final class GigiDNSNicknameTests: XCTestCase {
    func peer(_ id: String, _ nick: String) -> GigiDNSPeerRecord {
        GigiDNSPeerRecord(peerID: id, nickname: nick, addresses: ["/ip4/10.1.0.9/tcp/1"], capabilities: [], meta: [],
                          lastSeen: 0, expires: 0)
    }

    func testPeerIDThenExactThenCaseInsensitive() {
        let peers = [peer("12D3KooWA", "Bob"), peer("12D3KooWB", "bob"), peer("12D3KooWC", "carol")]
        XCTAssertEqual(GigiDNSNickname.resolve("12D3KooWA", among: peers), .found(peers[0]))
        XCTAssertEqual(GigiDNSNickname.resolve("bob", among: peers), .found(peers[1]))   // exact beats case-folded
        XCTAssertEqual(GigiDNSNickname.resolve("CAROL", among: peers), .found(peers[2]))
        XCTAssertEqual(GigiDNSNickname.resolve("BOB", among: peers), .ambiguous([peers[0], peers[1]]))
        XCTAssertEqual(GigiDNSNickname.resolve("dave", among: peers), .notFound)
    }

    func testAmbiguousIsReportedNeverGuessed() {
        let twins = [peer("12D3KooWZ", "twin"), peer("12D3KooWY", "twin")]
        XCTAssertThrowsError(try GigiDNSNickname.require("twin", among: twins)) { e in
            let u = e as? GigiError
            XCTAssertEqual(u?.exitCode, .usage)
            XCTAssertTrue(u?.message.contains("12D3KooWY") == true && u?.message.contains("12D3KooWZ") == true,
                          String(describing: u?.message))
        }
        XCTAssertThrowsError(try GigiDNSNickname.require("nobody", among: twins)) { e in
            XCTAssertEqual((e as? GigiError)?.exitCode, .unavailable)
        }
        XCTAssertEqual(try GigiDNSNickname.require("12D3KooWY", among: twins).peerID, "12D3KooWY")
    }
}
