// `gigi peers` on a LAN built from network namespaces (scripts/netlab).
//
// Multicast runs ONLY inside the namespaces this test creates: every `gigi`
// process here is started through `scripts/netlab exec NODE`. Needs root
// (CAP_NET_ADMIN); without it the tests skip visibly.

import Foundation
import XCTest

/// A lab from scripts/netlab with a unique prefix, torn down by `close()`.
final class NetLab: @unchecked Sendable {
    let prefix: String
    let script: URL
    private var processes: [Process] = []

    static var packageRoot: URL {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        return url
    }

    static var gigiBinary: URL? {
        if let e = ProcessInfo.processInfo.environment["GIGI_BIN"], !e.isEmpty { return URL(fileURLWithPath: e) }
        for c in ["debug", "release"] {
            let u = packageRoot.appendingPathComponent(".build/\(c)/gigi")
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        return nil
    }

    init() throws {
        script = Self.packageRoot.appendingPathComponent("scripts/netlab")
        guard getuid() == 0 else { throw XCTSkip("needs root to create network namespaces (scripts/netlab)") }
        guard Self.run(script.path, ["check"], env: [:]) == 0 else { throw XCTSkip("scripts/netlab check failed: root and iproute2 needed") }
        guard Self.gigiBinary != nil else { throw XCTSkip("the gigi binary is not built") }
        prefix = "gp\(getpid() % 100_000)\(Int.random(in: 100...999))"
        guard Self.run(script.path, ["up"], env: ["NETLAB_PREFIX": prefix]) == 0 else {
            _ = Self.run(script.path, ["down"], env: ["NETLAB_PREFIX": prefix])
            throw XCTSkip("scripts/netlab up failed")
        }
    }

    /// Starts `gigi args` inside NODE, with a private GIGI_HOME and discovery on.
    func gigi(_ node: String, _ args: [String], env extra: [String: String] = [:]) throws -> LineReader {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("gigi-lan-\(prefix)-\(node)-\(processes.count)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
                   "NETLAB_PREFIX": prefix, "GIGI_HOME": home.path, "HOME": home.path, "LANG": "C.UTF-8"]
        env.merge(extra) { _, b in b }
        let p = Process()
        p.executableURL = script
        p.arguments = ["exec", node, Self.gigiBinary!.path] + args
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        processes.append(p)
        return LineReader(process: p, pipe: out)
    }

    /// Stops every process (by PID) and deletes the namespaces.
    func close() {
        for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for p in processes { p.waitUntilExit() }
        _ = Self.run(script.path, ["down"], env: ["NETLAB_PREFIX": prefix])
    }

    @discardableResult
    static func run(_ path: String, _ args: [String], env: [String: String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        e.merge(env) { _, b in b }
        p.environment = e
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// Collects a process's stdout as JSON lines, with arrival times.
final class LineReader: @unchecked Sendable {
    let process: Process
    private let lock = NSLock()
    private var lines: [(Date, [String: Any])] = []
    private var buffer = Data()

    init(process: Process, pipe: Pipe) {
        self.process = process
        pipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            if d.isEmpty { h.readabilityHandler = nil; return }
            self?.append(d)
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

    var all: [(Date, [String: Any])] { lock.lock(); defer { lock.unlock() }; return lines }

    /// Waits up to `timeout` for a line matching `match`; returns it with its arrival time.
    func wait(_ timeout: TimeInterval, _ match: ([String: Any]) -> Bool) -> (Date, [String: Any])? {
        let end = Date().addingTimeInterval(timeout)
        repeat {
            if let hit = all.first(where: { match($0.1) }) { return hit }
            usleep(20_000)
        } while Date() < end
        return nil
    }

    func event(_ kind: String, nickname: String) -> ([String: Any]) -> Bool {
        { $0["event"] as? String == kind && $0["nickname"] as? String == nickname }
    }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }
}

final class PeersLANTests: XCTestCase {
    func testAliceAndCarolFindEachOtherByNicknameWithin2sAndBobNeverSeesThem() throws {
        let lab = try NetLab()
        defer { lab.close() }
        let watch = ["peers", "--watch", "--json", "--announce"]
        let alice = try lab.gigi("alice", watch + ["alice"])
        let carol = try lab.gigi("carol", watch + ["carol"])
        let bob = try lab.gigi("bob", watch + ["bob"])
        // Time from the moment both are listening (process start-up excluded).
        let a0 = try XCTUnwrap(alice.wait(30) { $0["event"] as? String == "listening" }).0
        let c0 = try XCTUnwrap(carol.wait(30) { $0["event"] as? String == "listening" }).0
        XCTAssertNotNil(bob.wait(30) { $0["event"] as? String == "listening" })
        let start = max(a0, c0)
        let aSeesC = try XCTUnwrap(alice.wait(5, alice.event("discovered", nickname: "carol")), "alice never saw carol")
        let cSeesA = try XCTUnwrap(carol.wait(5, carol.event("discovered", nickname: "alice")), "carol never saw alice")
        let took = max(aSeesC.0, cSeesA.0).timeIntervalSince(start)
        print("alice<->carol discovery took \(String(format: "%.3f", took)) s")
        XCTAssertLessThan(took, 2.0)
        XCTAssertEqual((cSeesA.1["addresses"] as? [String])?.first, "/ip4/10.1.0.2/tcp/4001")

        // Nickname resolution in a one-shot `gigi peers` on carol.
        let one = try lab.gigi("carol", ["peers", "--json", "--timeout", "1.5", "--resolve", "alice"])
        one.process.waitUntilExit()
        XCTAssertEqual(one.process.terminationStatus, 0)
        XCTAssertEqual(one.wait(1) { _ in true }?.1["peer_id"] as? String, cSeesA.1["peer_id"] as? String)

        // Bob, on the other LAN, hears nothing, and nobody hears him.
        usleep(1_000_000)
        XCTAssertTrue(bob.all.filter { $0.1["event"] as? String == "discovered" }.isEmpty, "bob saw \(bob.all.map(\.1))")
        XCTAssertNil(alice.all.first { $0.1["nickname"] as? String == "bob" })
        XCTAssertNil(carol.all.first { $0.1["nickname"] as? String == "bob" })
    }

    func testEntryExpiresAfterTTLWithoutGoodbyeAndGoodbyeRemovesAtOnce() throws {
        let lab = try NetLab()
        defer { lab.close() }
        let carol = try lab.gigi("carol", ["peers", "--watch", "--json"])
        XCTAssertNotNil(carol.wait(30) { $0["event"] as? String == "listening" })
        let ttl = 2.0
        let alice1 = try lab.gigi("alice", ["peers", "--watch", "--json", "--announce", "alice1"], env: ["GIGI_LAN_TTL": "2"])
        XCTAssertNotNil(carol.wait(30, carol.event("discovered", nickname: "alice1")))
        // Crash-like stop: no goodbye. Carol drops alice1 once the TTL has run out.
        alice1.signal(SIGKILL)
        let killed = Date()
        let exp = try XCTUnwrap(carol.wait(ttl + 3, carol.event("expired", nickname: "alice1")), "alice1 never expired")
        XCTAssertEqual(exp.1["reason"] as? String, "ttl")
        let after = exp.0.timeIntervalSince(killed)
        print("expiry after SIGKILL: \(String(format: "%.3f", after)) s (TTL \(ttl) s)")
        XCTAssertLessThanOrEqual(after, ttl + 0.6)

        // Orderly stop: the goodbye removes alice2 at once.
        let alice2 = try lab.gigi("alice", ["peers", "--watch", "--json", "--announce", "alice2"], env: ["GIGI_LAN_TTL": "60"])
        XCTAssertNotNil(carol.wait(30, carol.event("discovered", nickname: "alice2")))
        alice2.signal(SIGTERM)
        let stopped = Date()
        let bye = try XCTUnwrap(carol.wait(3, carol.event("expired", nickname: "alice2")), "no goodbye from alice2")
        XCTAssertEqual(bye.1["reason"] as? String, "goodbye")
        let gone = bye.0.timeIntervalSince(stopped)
        print("removal after goodbye: \(String(format: "%.3f", gone)) s")
        XCTAssertLessThan(gone, 1.0)
    }
}
