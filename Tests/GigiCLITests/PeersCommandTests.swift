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
        // Discovery off creates nothing: no node identity, no store.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: home.path), [])
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

    func testConfigFileCanTurnDiscoveryOffAndBadConfigIsReported() throws {
        let home = try GigiProcess.temporaryDirectory(for: self)
        var env = GigiProcess.environment(home: home)
        env["GIGI_LAN_DISCOVERY"] = nil
        // Safety net: even if the file were ignored, a pinned nonexistent interface sends nothing.
        let args = ["peers", "--json", "--no-announce", "--timeout", "0", "--lan-interfaces", "gigi-none0"]
        let config = home.appendingPathComponent("config.toml")
        try "[lan]\ndiscovery = \"off\"\n".write(to: config, atomically: true, encoding: .utf8)
        let off = try GigiProcess.run(args, environment: env, timeout: 20)
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertTrue(off.stderr.contains("LAN discovery is off"), off.stderr)
        // The environment wins over the file.
        env["GIGI_LAN_DISCOVERY"] = "on"
        let on = try GigiProcess.run(args, environment: env, timeout: 20)
        XCTAssertEqual(on.status, 0, on.stderr)
        XCTAssertFalse(on.stderr.contains("LAN discovery is off"), on.stderr)
        XCTAssertTrue(on.stderr.contains("none of the interfaces gigi-none0 is up"), on.stderr)

        env["GIGI_LAN_DISCOVERY"] = nil
        try "[lan]\ndiscovery = maybe\n".write(to: config, atomically: true, encoding: .utf8)
        let bad = try GigiProcess.run(args, environment: env, timeout: 20)
        XCTAssertEqual(bad.status, 65, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("config.toml line 2"), bad.stderr)
        try "[lan]\ndiscovery = 3\n".write(to: config, atomically: true, encoding: .utf8)
        let wrongType = try GigiProcess.run(args, environment: env, timeout: 20)
        XCTAssertEqual(wrongType.status, 65, wrongType.stderr)
        XCTAssertTrue(wrongType.stderr.contains("lan.discovery"), wrongType.stderr)
    }
}
