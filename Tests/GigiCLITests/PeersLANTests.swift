// `gigi peers` and the share-code rendezvous on LANs built from network
// namespaces (scripts/netlab): alice and carol on lan1, bob on lan2 behind a router.
//
// Multicast runs ONLY inside the namespaces each test creates: every `gigi`
// process here is started through `scripts/netlab exec NODE`. Each test builds
// its own lab under a unique NETLAB_PREFIX and deletes it on every path. Needs
// root (CAP_NET_ADMIN) and `ip netns`; without them the tests skip, saying why.

import Foundation
import XCTest

/// A lab from scripts/netlab with a unique prefix, torn down when the test ends (pass or fail).
final class NetLab: @unchecked Sendable {
    let prefix: String
    let script = GigiProcess.packageRoot.appendingPathComponent("scripts/netlab")
    private let lock = NSLock()
    private var readers: [LineReader] = []
    private var homes: [URL] = []

    init(_ test: XCTestCase) throws {
        guard getuid() == 0 else {
            throw Self.skip("needs root to create network namespaces (scripts/netlab)")
        }
        prefix = "gl\(getpid() % 10_000)\(Int.random(in: 100...999))"
        // Can this machine make a namespace at all? (iproute2 present, kernel and container allow it.)
        let probe = "\(prefix)-probe"
        guard Self.run("/bin/sh", ["-c", "ip netns add \(probe) && ip netns del \(probe)"], env: [:]) == 0 else {
            Self.run("/bin/sh", ["-c", "ip netns del \(probe)"], env: [:])
            throw Self.skip("`ip netns` is not available here (iproute2 and a kernel allowing network namespaces are needed)")
        }
        test.addTeardownBlock { self.close() }
        // From here on the lab must work: a failure is a test failure, not a skip.
        guard Self.run(script.path, ["up"], env: ["NETLAB_PREFIX": prefix]) == 0 else {
            throw NetLabError.upFailed(prefix)
        }
    }

    /// A skip that also says why on standard output, so it shows in any test log.
    private static func skip(_ why: String) -> XCTSkip {
        print("SKIPPED (LAN namespace test): \(why)")
        return XCTSkip(why)
    }

    /// Starts `gigi args` inside NODE with its own GIGI_HOME and discovery on.
    @discardableResult
    func gigi(_ node: String, _ args: [String], home given: URL? = nil, env extra: [String: String] = [:]) throws -> LineReader {
        let home = try given ?? newHome(node)
        var env = GigiProcess.environment(home: home, extra: ["GIGI_LAN_DISCOVERY": "on", "NETLAB_PREFIX": prefix])
        env["PATH"] = (env["PATH"] ?? "") + ":/usr/sbin:/sbin"
        env.merge(extra) { _, b in b }
        let p = Process()
        p.executableURL = script
        p.arguments = ["exec", node, GigiProcess.binary.path] + args
        p.environment = env
        let reader = LineReader(process: p, label: "\(node): gigi \(args.joined(separator: " "))")
        p.standardInput = FileHandle.nullDevice
        try p.run()
        lock.withLock { readers.append(reader) }
        return reader
    }

    /// Runs a command (not gigi) inside NODE to its end; its exit status.
    @discardableResult
    func exec(_ node: String, _ command: [String]) -> Int32 {
        Self.run(script.path, ["exec", node] + command, env: ["NETLAB_PREFIX": prefix])
    }

    /// A fresh GIGI_HOME, deleted with the lab.
    func newHome(_ node: String) throws -> URL {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("gigi-lan-\(prefix)-\(node)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        lock.withLock { homes.append(home) }
        return home
    }

    /// Runs a one-shot `gigi args` in NODE to its end (killed after `timeout`).
    func gigiToEnd(_ node: String, _ args: [String], home: URL? = nil, env: [String: String] = [:],
                   timeout: TimeInterval = 15) throws -> LineReader {
        let r = try gigi(node, args, home: home, env: env)
        let end = Date().addingTimeInterval(timeout)
        while r.process.isRunning && Date() < end { usleep(20_000) }
        if r.process.isRunning { r.signal(SIGKILL) }
        r.process.waitUntilExit()
        r.drain()
        return r
    }

    /// Kills every process it started (by PID), deletes the namespaces and the homes.
    func close() {
        let (rs, hs) = lock.withLock { (readers, homes) }
        for r in rs where r.process.isRunning { kill(r.process.processIdentifier, SIGKILL) }
        for r in rs { r.process.waitUntilExit() }
        Self.run(script.path, ["down"], env: ["NETLAB_PREFIX": prefix])
        for h in hs { try? FileManager.default.removeItem(at: h) }
    }

    @discardableResult
    static func run(_ path: String, _ args: [String], env: [String: String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        e["PATH"] = (e["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        e.merge(env) { _, b in b }
        p.environment = e
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}

enum NetLabError: Error {
    case upFailed(String)
}

/// Collects a process's stdout as JSON lines (with arrival times) and its stderr as text.
final class LineReader: @unchecked Sendable {
    let process: Process
    let label: String
    private let lock = NSLock()
    private var lines: [(Date, [String: Any])] = []
    private var buffer = Data()
    private var errText = Data()
    private let out = Pipe(), err = Pipe()

    init(process: Process, label: String) {
        self.process = process
        self.label = label
        process.standardOutput = out
        process.standardError = err
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            if d.isEmpty { h.readabilityHandler = nil } else { self?.append(d) }
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            if d.isEmpty { h.readabilityHandler = nil } else { self?.lock.withLock { self?.errText.append(d.prefix(65_536)) } }
        }
    }

    private func append(_ d: Data) {
        lock.lock(); defer { lock.unlock() }
        buffer.append(d)
        while let nl = buffer.firstIndex(of: 0x0A) {
            let line = buffer[buffer.startIndex..<nl]
            buffer = Data(buffer[(nl + 1)...])
            if let obj = try? JSONSerialization.jsonObject(with: line) as? [String: Any] { lines.append((Date(), obj)) }
        }
    }

    /// Gives the pipe handlers a moment to deliver what a finished process wrote.
    func drain() {
        let end = Date().addingTimeInterval(1)
        while out.fileHandleForReading.readabilityHandler != nil && Date() < end { usleep(10_000) }
    }

    var all: [(Date, [String: Any])] { lock.withLock { lines } }
    var stderr: String { lock.withLock { String(decoding: errText, as: UTF8.self) } }
    var describe: String { "\(label)\n  stdout: \(all.map(\.1))\n  stderr: \(stderr)" }

    /// Waits up to `timeout` for a line matching `match`; returns it with its arrival time.
    func wait(_ timeout: TimeInterval, _ match: ([String: Any]) -> Bool) -> (Date, [String: Any])? {
        let end = Date().addingTimeInterval(timeout)
        repeat {
            if let hit = all.first(where: { match($0.1) }) { return hit }
            usleep(10_000)
        } while Date() < end
        return nil
    }

    func waitListening() throws -> Date {
        try XCTUnwrap(wait(30) { $0["event"] as? String == "listening" }, "never listening: \(describe)").0
    }

    static func event(_ kind: String, nickname: String) -> ([String: Any]) -> Bool {
        { $0["event"] as? String == kind && $0["nickname"] as? String == nickname }
    }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    /// Closes our end of its standard output, as `| head -1` does after one line.
    func closeOutput() {
        out.fileHandleForReading.readabilityHandler = nil
        try? out.fileHandleForReading.close()
    }
}

final class PeersLANTests: XCTestCase {
    let watch = ["peers", "--watch", "--json", "--nickname"]

    func testAliceAndCarolFindEachOtherByNicknameWithin2sAndBobNeverSeesThem() throws {
        let lab = try NetLab(self)
        let alice = try lab.gigi("alice", watch + ["alice"])
        let carol = try lab.gigi("carol", watch + ["carol"])
        let bob = try lab.gigi("bob", watch + ["bob"])
        // Timed from the moment both are listening (process start-up excluded).
        let start = max(try alice.waitListening(), try carol.waitListening())
        _ = try bob.waitListening()
        let aSeesC = try XCTUnwrap(alice.wait(5, LineReader.event("discovered", nickname: "carol")), alice.describe)
        let cSeesA = try XCTUnwrap(carol.wait(5, LineReader.event("discovered", nickname: "alice")), carol.describe)
        let took = max(aSeesC.0, cSeesA.0).timeIntervalSince(start)
        print("alice<->carol discovery took \(String(format: "%.3f", took)) s")
        XCTAssertLessThan(took, 2.0)
        XCTAssertEqual(cSeesA.1["addresses"] as? [String], ["/ip4/10.1.0.2"])
        XCTAssertEqual(aSeesC.1["addresses"] as? [String], ["/ip4/10.1.0.3"])

        // Nickname resolution in a one-shot `gigi peers` on carol's host.
        let carolHome = try lab.newHome("carol")
        let one = try lab.gigiToEnd("carol", ["peers", "--json", "--no-announce", "--timeout", "1.5", "--resolve", "alice"],
                                    home: carolHome)
        XCTAssertEqual(one.process.terminationStatus, 0, one.describe)
        XCTAssertEqual(one.all.count, 1, one.describe)
        XCTAssertEqual(one.all.first?.1["peer_id"] as? String, cSeesA.1["peer_id"] as? String)
        // What it discovered was kept in LMDB: with discovery off, the same home still lists alice and carol.
        let remembered = try lab.gigiToEnd("carol", ["peers", "--json", "--lan-discovery", "off"], home: carolHome)
        XCTAssertEqual(remembered.process.terminationStatus, 0, remembered.describe)
        XCTAssertEqual(Set(remembered.all.compactMap { $0.1["nickname"] as? String }), ["alice", "carol"], remembered.describe)
        let none = try lab.gigiToEnd("carol", ["peers", "--json", "--no-announce", "--timeout", "1", "--resolve", "bob"])
        XCTAssertEqual(none.process.terminationStatus, 69, none.describe)

        // Bob, on the other LAN, hears nothing, and nobody hears him.
        usleep(500_000)
        XCTAssertTrue(bob.all.filter { $0.1["event"] as? String == "discovered" }.isEmpty, bob.describe)
        XCTAssertNil(alice.all.first { $0.1["nickname"] as? String == "bob" }, alice.describe)
        XCTAssertNil(carol.all.first { $0.1["nickname"] as? String == "bob" }, carol.describe)
    }

    func testInterfacePinningFromOptionEnvironmentAndConfigFile() throws {
        let lab = try NetLab(self)
        let alice = try lab.gigi("alice", watch + ["alice"])
        _ = try alice.waitListening()
        func carolSees(_ extraArgs: [String], env: [String: String] = [:], config: String? = nil) throws -> (Bool, LineReader) {
            let home = try lab.newHome("carol")
            if let config { try config.write(to: home.appendingPathComponent("config.toml"), atomically: true, encoding: .utf8) }
            let r = try lab.gigiToEnd("carol", ["peers", "--json", "--no-announce", "--timeout", "1.2"] + extraArgs,
                                      home: home, env: env)
            XCTAssertEqual(r.process.terminationStatus, 0, r.describe)
            return (r.all.contains { $0.1["nickname"] as? String == "alice" }, r)
        }
        let pinnedAway = "[lan]\ninterfaces = [\"nope0\"]\n"
        let (viaEnv, r1) = try carolSees([], env: ["GIGI_LAN_INTERFACES": "nope0"])
        XCTAssertFalse(viaEnv, r1.describe)
        XCTAssertTrue(r1.stderr.contains("none of the interfaces nope0 is up"), r1.describe)
        let (viaFile, r2) = try carolSees([], config: pinnedAway)
        XCTAssertFalse(viaFile, r2.describe)
        let (optionWins, r3) = try carolSees(["--lan-interfaces", "eth0"], config: pinnedAway)
        XCTAssertTrue(optionWins, r3.describe)
        let (envWins, r4) = try carolSees([], env: ["GIGI_LAN_INTERFACES": "eth0"], config: pinnedAway)
        XCTAssertTrue(envWins, r4.describe)
        let (off, r5) = try carolSees(["--lan-discovery", "off"], config: "[lan]\ndiscovery = true\n")
        XCTAssertFalse(off, r5.describe)
    }

    func testTwoPeersWithOneNicknameAreReportedNotGuessed() throws {
        let lab = try NetLab(self)
        let a = try lab.gigi("alice", watch + ["twin"])
        let b = try lab.gigi("carol", watch + ["twin"])
        let ids = [try XCTUnwrap(a.wait(30) { $0["event"] as? String == "listening" }?.1["peer_id"] as? String, a.describe),
                   try XCTUnwrap(b.wait(30) { $0["event"] as? String == "listening" }?.1["peer_id"] as? String, b.describe)]
        let r = try lab.gigiToEnd("carol", ["peers", "--json", "--no-announce", "--timeout", "1.2", "--resolve", "twin"])
        XCTAssertEqual(r.process.terminationStatus, 64, r.describe)
        XCTAssertTrue(r.all.isEmpty, r.describe)
        for id in ids { XCTAssertTrue(r.stderr.contains(id), r.describe) }
        // The peer ID always resolves.
        let one = try lab.gigiToEnd("carol", ["peers", "--json", "--no-announce", "--timeout", "1.2", "--resolve", ids[0]])
        XCTAssertEqual(one.process.terminationStatus, 0, one.describe)
        XCTAssertEqual(one.all.map { $0.1["peer_id"] as? String }, [ids[0]])
    }

    func testEntryExpiresAfterTTLWhenAliceIsKilledWithoutGoodbye() throws {
        let lab = try NetLab(self)
        let carol = try lab.gigi("carol", watch + ["carol"])
        _ = try carol.waitListening()
        let ttl = 2.0
        let alice = try lab.gigi("alice", watch + ["alice", "--lan-ttl", "2"])
        _ = try alice.waitListening()
        XCTAssertNotNil(carol.wait(5, LineReader.event("discovered", nickname: "alice")), carol.describe)
        // Crash-like stop: no goodbye. Carol drops alice once the TTL has run out, not before.
        alice.signal(SIGKILL)
        let killed = Date()
        let exp = try XCTUnwrap(carol.wait(ttl + 3, LineReader.event("expired", nickname: "alice")), carol.describe)
        XCTAssertEqual(exp.1["reason"] as? String, "ttl")
        let after = exp.0.timeIntervalSince(killed)
        print("expiry after SIGKILL: \(String(format: "%.3f", after)) s (TTL \(ttl) s)")
        // The last announcement went out at most TTL/3 before the kill.
        XCTAssertGreaterThanOrEqual(after, ttl * 2 / 3 - 0.1)
        XCTAssertLessThanOrEqual(after, ttl + 1.0)  // sweep every 250 ms, plus scheduling slack
    }

    func testGoodbyeOnSIGTERMAndSIGINTRemovesTheEntryAtOnce() throws {
        let lab = try NetLab(self)
        let carol = try lab.gigi("carol", watch + ["carol"])
        _ = try carol.waitListening()
        for (nick, sig) in [("alice-term", SIGTERM), ("alice-int", SIGINT)] {
            // A long TTL: only the goodbye can remove the entry within the test's bounds.
            let alice = try lab.gigi("alice", watch + [nick, "--lan-ttl", "600"])
            _ = try alice.waitListening()
            XCTAssertNotNil(carol.wait(5, LineReader.event("discovered", nickname: nick)), carol.describe)
            let stopped = Date()
            alice.signal(sig)
            let bye = try XCTUnwrap(carol.wait(3, LineReader.event("expired", nickname: nick)), "no goodbye: \(carol.describe)")
            XCTAssertEqual(bye.1["reason"] as? String, "goodbye")
            let gone = bye.0.timeIntervalSince(stopped)
            print("removal after goodbye (signal \(sig)): \(String(format: "%.3f", gone)) s")
            XCTAssertLessThan(gone, 1.0)
            alice.process.waitUntilExit()
            XCTAssertEqual(alice.process.terminationStatus, 0, alice.describe)
        }
    }

    func testClosedOutputStopsTheWatchWithAGoodbye() throws {
        let lab = try NetLab(self)
        let carol = try lab.gigi("carol", watch + ["carol"])
        _ = try carol.waitListening()
        let alice = try lab.gigi("alice", watch + ["alice", "--lan-ttl", "600"])
        _ = try alice.waitListening()
        XCTAssertNotNil(carol.wait(5, LineReader.event("discovered", nickname: "alice")), carol.describe)
        XCTAssertNotNil(alice.wait(5, LineReader.event("discovered", nickname: "carol")), alice.describe)
        alice.closeOutput()
        // The next line alice prints (a new peer appears) finds the pipe closed: alice stops, saying goodbye.
        _ = try lab.gigi("carol", watch + ["carol2"])
        let bye = try XCTUnwrap(carol.wait(5, LineReader.event("expired", nickname: "alice")), carol.describe)
        XCTAssertEqual(bye.1["reason"] as? String, "goodbye")
        let end = Date().addingTimeInterval(5)
        while alice.process.isRunning && Date() < end { usleep(20_000) }
        XCTAssertFalse(alice.process.isRunning, "alice kept running with its output closed")
    }

    func testRendezvousLookupFindsTheSharerOfANameplate() throws {
        let lab = try NetLab(self)
        // Alice announces a node's TCP listen address (with /p2p/, which the record drops).
        let alice = try lab.gigi("alice", watch + ["alice", "--rendezvous-nameplate", "4821", "--announce-address",
                                                   "/ip4/10.1.0.2/tcp/4321/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"])
        let aliceID = try XCTUnwrap(alice.wait(30) { $0["event"] as? String == "listening" }?.1["peer_id"] as? String,
                                    alice.describe)

        let found = try lab.gigiToEnd("carol", ["peers", "--json", "--no-announce", "--find-nameplate", "4821", "--timeout", "3"])
        XCTAssertEqual(found.process.terminationStatus, 0, found.describe)
        let hit = try XCTUnwrap(found.all.first?.1, found.describe)
        XCTAssertEqual(hit["event"] as? String, "rendezvous")
        XCTAssertEqual(hit["peer_id"] as? String, aliceID)
        XCTAssertEqual(hit["addresses"] as? [String], ["/ip4/10.1.0.2/tcp/4321"])
        let took = try XCTUnwrap(hit["took_ms"] as? Int)
        print("rendezvous lookup took \(took) ms (including socket start-up)")
        XCTAssertLessThan(took, 1000)
        // The announcement carries only the key, never the nameplate itself.
        let meta = (hit["meta"] as? [[String]]) ?? []
        XCTAssertEqual(meta.filter { $0.first == "rv" }.map { $0.last?.count }, [64])
        XCTAssertFalse(meta.joined().joined().contains("4821"))

        // Another nameplate: nobody answers. Bob, on the other LAN, cannot find alice's.
        let other = try lab.gigiToEnd("carol", ["peers", "--json", "--no-announce", "--find-nameplate", "4822", "--timeout", "1"])
        XCTAssertEqual(other.process.terminationStatus, 69, other.describe)
        let bob = try lab.gigiToEnd("bob", ["peers", "--json", "--no-announce", "--find-nameplate", "4821", "--timeout", "1"])
        XCTAssertEqual(bob.process.terminationStatus, 69, bob.describe)
    }

    func testNicknameComesFromTheAccountAndSurvivesSpacesAndEquals() throws {
        let lab = try NetLab(self)
        let aliceHome = try lab.newHome("alice")
        let restore = try GigiProcess.run(["account", "restore", "--nickname", "Alice Smith=1"],
                                          environment: GigiProcess.environment(home: aliceHome, extra: [
                                              "GIGI_KDF": "fast", "GIGI_PASSWORD": "correct horse battery"]),
                                          input: "test test test test test test test test test test test junk\n")
        XCTAssertEqual(restore.status, 0, restore.stderr)
        let carol = try lab.gigi("carol", watch + ["carol"])
        _ = try carol.waitListening()
        // No --nickname: the account's nickname and the account's peer ID are announced.
        let alice = try lab.gigi("alice", ["peers", "--watch", "--json"], home: aliceHome)
        _ = try alice.waitListening()
        let seen = try XCTUnwrap(carol.wait(5, LineReader.event("discovered", nickname: "Alice Smith=1")), carol.describe)
        XCTAssertEqual(seen.1["peer_id"] as? String, "12D3KooWBL11SBwFyJGefwUdpR4xEMDZ6DuiidCBwgmDdLsoQ9mg")
    }

    func testAnnouncedAddressesFollowInterfaceAddressChanges() throws {
        let lab = try NetLab(self)
        let carol = try lab.gigi("carol", watch + ["carol"])
        _ = try carol.waitListening()
        let alice = try lab.gigi("alice", watch + ["alice"])
        _ = try alice.waitListening()
        XCTAssertNotNil(carol.wait(5, LineReader.event("discovered", nickname: "alice")), carol.describe)
        func aliceAddresses(_ want: [String]) -> ([String: Any]) -> Bool {
            { $0["event"] as? String == "updated" && $0["nickname"] as? String == "alice" && $0["addresses"] as? [String] == want }
        }
        // A second address appears on alice's interface: announced after the next interface poll (3 s).
        XCTAssertEqual(lab.exec("alice", ["ip", "addr", "add", "10.1.0.12/24", "dev", "eth0"]), 0)
        let added = Date()
        let up = try XCTUnwrap(carol.wait(8, aliceAddresses(["/ip4/10.1.0.12", "/ip4/10.1.0.2"])), carol.describe)
        print("new address seen after \(String(format: "%.3f", up.0.timeIntervalSince(added))) s")
        // It goes away: a goodbye for that address alone, alice stays.
        XCTAssertEqual(lab.exec("alice", ["ip", "addr", "del", "10.1.0.12/24", "dev", "eth0"]), 0)
        XCTAssertNotNil(carol.wait(8, aliceAddresses(["/ip4/10.1.0.2"])), carol.describe)
        XCTAssertNil(carol.all.first { $0.1["event"] as? String == "expired" }, carol.describe)
    }

    /// The whole point of LAN rendezvous: `gigi fetch CODE` with no --peer. Skips until `gigi share`
    /// runs LAN discovery (its help lists the LANOptions, --lan-discovery).
    func testCarolFetchesAlicesShareByCodeWithoutPeer() throws {
        let help = try GigiProcess.run(["share", "--help"], environment: GigiProcess.environment(home: GigiProcess.temporaryDirectory(for: self)))
        // Exit 0 alone is not enough: `gigi NOSUCH --help` prints the root help and exits 0.
        guard help.status == 0, help.stdout.contains("USAGE: gigi share"), help.stdout.contains("--lan-discovery") else {
            print("SKIPPED (LAN namespace test): `gigi share` does not run LAN discovery yet (no --lan-discovery)")
            throw XCTSkip("`gigi share` does not run LAN discovery yet (no --lan-discovery)")
        }
        let lab = try NetLab(self)
        let files = try GigiProcess.temporaryDirectory(for: self, "gigi-lan-share")
        let payload = Data((0..<(3 * 262_144 + 1000)).map { _ in UInt8.random(in: 0...255) })  // four chunks, the last short
        let source = files.appendingPathComponent("photo.bin")
        try payload.write(to: source)
        let output = files.appendingPathComponent("received", isDirectory: true)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)

        let alice = try lab.gigi("alice", ["share", source.path, "--json"])
        let code = try XCTUnwrap(alice.wait(30) { $0["code"] is String }?.1["code"] as? String, alice.describe)
        let start = Date()
        let carol = try lab.gigiToEnd("carol", ["fetch", "--output", output.path], env: ["GIGI_CODE": code], timeout: 60)
        print("fetch by code over the LAN took \(String(format: "%.3f", Date().timeIntervalSince(start))) s")
        XCTAssertEqual(carol.process.terminationStatus, 0, "\(carol.describe)\n\(alice.describe)")
        XCTAssertEqual(try? Data(contentsOf: output.appendingPathComponent("photo.bin")), payload)
    }
}

