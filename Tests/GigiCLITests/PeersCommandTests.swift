// `gigi peers` without a network: option checking and discovery switched off.
// Discovery stays off here (GIGI_LAN_DISCOVERY=off from GigiProcess.environment):
// nothing in this file sends multicast; PeersLANTests does, inside namespaces.

import Foundation
import XCTest

final class PeersCommandTests: XCTestCase {
    func testDiscoveryOffShowsRememberedPeersOnlyAndSaysSo() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        for args in [["peers", "--json"], ["peers", "--json", "--lan-discovery", "off"], ["peers"]] {
            let r = try GigiProcess.run(args, environment: GigiProcess.environment(home: home), timeout: 20)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("LAN discovery is off"), r.stderr)
            XCTAssertEqual(r.stdout, args.contains("--json") ? "" : "No peers found on the LAN.\n")
        }
        // Discovery off never creates a node identity.
        XCTAssertFalse(FileManager.default.fileExists(atPath: home.appendingPathComponent("identity.key").path))
    }

    func testBadLANOptionsAreUsageErrors() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        let bad: [[String]] = [
            ["--lan-discovery", "maybe"], ["--nickname", ""], ["--nickname", String(repeating: "x", count: 65)],
            ["--nickname", "a\u{7}b"], ["--lan-ttl", "0"], ["--timeout", "-1"], ["--find-nameplate", "0"],
            ["--find-nameplate", "12345"], ["--find-nameplate", "1", "--watch"], ["--announce-address", "10.0.0.1:80"],
            ["--lan-interfaces", ""], ["--lan-interfaces", "eth0,,eth1"], ["--lan-interfaces", "a/b"],
        ]
        for args in bad {
            let r = try GigiProcess.run(["peers"] + args, environment: GigiProcess.environment(home: home), timeout: 20)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty, "\(args)")
        }
    }
}
