// End to end: direct messages between two `gigi daemon` processes over
// loopback — bulk in both directions, offline delivery, restart safety.

import Foundation
import XCTest

final class MessagingDaemonTests: XCTestCase {
    func home(_ name: String) throws -> URL {
        let root = try GigiProcess.temporaryDirectory(for: self, "gigi-dm")
        let h = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: h, withIntermediateDirectories: true)
        return h
    }

    func control(_ d: DaemonProcess) throws -> RawControlClient {
        try XCTUnwrap(RawControlClient(socket: d.home.appendingPathComponent("gigi.sock").path))
    }

    /// The ids of one direction of a conversation, in the order the node stored them.
    func ids(_ c: RawControlClient, peer: String, direction: String) -> [String] {
        c.send(#"{"id":"list","method":"messages","params":{"peer":"\#(peer)","limit":100000}}"#)
        guard let reply = c.readLine(), let result = reply["result"] as? [String: Any],
              let list = result["messages"] as? [[String: Any]] else { return [] }
        return list.filter { $0["direction"] as? String == direction }.compactMap { $0["id"] as? String }
    }

    func testTenThousandMessagesEachWayConcurrently() throws {
        let alice = try DaemonProcess(test: self, home: try home("alice"))
        let bob = try DaemonProcess(test: self, home: try home("bob"))
        let aliceAddr = alice.loopbackAddress, bobAddr = bob.loopbackAddress
        let aliceID = String(aliceAddr.split(separator: "/").last!), bobID = String(bobAddr.split(separator: "/").last!)
        let n = 10_000
        // Each side pipelines n send requests on its control socket, concurrently with the other;
        // "wait": a transient failure under load is retried by the outbox within the call.
        let blast: @Sendable (DaemonProcess, String, String) -> (ok: Int, failed: [String]) = { from, addr, tag in
            let c = RawControlClient(socket: from.home.appendingPathComponent("gigi.sock").path)!
            var ok = 0
            var failed: [String] = []
            var sent = 0, answered = 0
            while answered < n {
                // Keep at most 256 requests outstanding (the daemon serves 64 at a time per connection).
                while sent < n && sent - answered < 256 {
                    c.send(#"{"id":\#(sent),"method":"send","params":{"peer":"\#(addr)","text":"\#(tag)-\#(sent)","timeout":120,"wait":true}}"#)
                    sent += 1
                }
                guard let r = c.readLine() else { failed.append("connection ended"); break }
                answered += 1
                if let res = r["result"] as? [String: Any], res["state"] as? String == "delivered" { ok += 1 }
                else if failed.count < 5 { failed.append("\(r)") }
            }
            return (ok, failed)
        }
        nonisolated(unsafe) var results: [String: (ok: Int, failed: [String])] = [:]
        let lock = NSLock()
        let group = DispatchGroup()
        let started = Date()
        for (from, to, tag) in [(alice, bobAddr, "a"), (bob, aliceAddr, "b")] {
            group.enter()
            DispatchQueue.global().async {
                let r = blast(from, to, tag)
                lock.lock(); results[tag] = r; lock.unlock()
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 600), .success, "the exchange did not finish in 10 minutes")
        let seconds = Date().timeIntervalSince(started)
        print("messaging: \(2 * n) messages acknowledged in \(String(format: "%.1f", seconds)) s (\(Int(Double(2 * n) / seconds)) msgs/s, debug build)")
        XCTAssertEqual(results["a"]?.ok, n, "alice→bob: \(results["a"]?.failed ?? [])")
        XCTAssertEqual(results["b"]?.ok, n, "bob→alice: \(results["b"]?.failed ?? [])")

        let ca = try control(alice), cb = try control(bob)
        let aliceSent = ids(ca, peer: bobID, direction: "outgoing")
        let bobGot = ids(cb, peer: aliceID, direction: "incoming")
        let bobSent = ids(cb, peer: aliceID, direction: "outgoing")
        let aliceGot = ids(ca, peer: bobID, direction: "incoming")
        XCTAssertEqual(aliceSent.count, n)
        XCTAssertEqual(Set(bobGot).count, bobGot.count, "no duplicates")
        XCTAssertEqual(bobGot, aliceSent, "bob stored alice's messages once each, in alice's order")
        XCTAssertEqual(aliceGot, bobSent, "alice stored bob's messages once each, in bob's order")
    }

    func testOfflinePeerGetsItsMessagesWhenItComesBackAndAfterTheSenderWasKilled() throws {
        let bobHome = try home("bob")
        var bob = try DaemonProcess(test: self, home: bobHome)
        let bobAddr = bob.loopbackAddress
        let port = bobAddr.split(separator: "/")[3]
        XCTAssertEqual(try bob.run(["daemon", "stop"]).status, 0)
        XCTAssertEqual(bob.waitForExit(), 0)

        var alice = try DaemonProcess(test: self, home: try home("alice"))
        XCTAssertEqual(try alice.run(["contacts", "add", "bob", String(bobAddr.split(separator: "/").last!),
                                      "--addr", "/ip4/127.0.0.1/tcp/\(port)"]).status, 0)
        for i in 0..<20 {
            let r = try alice.run(["send", "--timeout", "0.5", "bob", "while you were out \(i)"])
            XCTAssertEqual(r.status, 3, "queued, exit 3: \(r.stderr) \(r.stdout)")
        }
        // The sender dies with a full outbox; it comes back; then the peer does.
        kill(alice.process.processIdentifier, SIGKILL)
        alice.process.waitUntilExit()
        alice = try DaemonProcess(test: self, home: alice.home)
        let queued = try alice.run(["messages", "--json", "bob"])
        XCTAssertEqual(queued.stdout.components(separatedBy: "\"status\":\"queued\"").count - 1, 20, queued.stdout)

        bob = try DaemonProcess(test: self, home: bobHome, listen: "/ip4/127.0.0.1/tcp/\(port)")
        let deadline = Date().addingTimeInterval(60)
        var inbox: [String] = []
        while Date() < deadline {
            let r = try bob.run(["inbox", "--json"])
            inbox = r.stdout.split(separator: "\n").map(String.init)
            if inbox.count >= 20 { break }
            usleep(200_000)
        }
        XCTAssertEqual(inbox.count, 20, "delivered exactly once each")
        let texts = Set(inbox.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .compactMap { $0["text"] as? String })
        XCTAssertEqual(texts, Set((0..<20).map { "while you were out \($0)" }))
        // And the sender's history says so.
        let history = try alice.run(["messages", "--json", "bob"])
        XCTAssertEqual(history.stdout.components(separatedBy: "\"status\":\"delivered\"").count - 1, 20, history.stdout)
    }

    func testBadSendsAreRefusedClearly() throws {
        let d = try DaemonProcess(test: self, home: try home("a"))
        let big = String(repeating: "x", count: 70 * 1024)
        let tooLong = try d.run(["send", "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X", big])
        XCTAssertEqual(tooLong.status, 64, tooLong.stderr)
        XCTAssertTrue(tooLong.stderr.contains("65536"), tooLong.stderr)
        let unknown = try d.run(["send", "nobody-by-that-name", "hi"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertEqual(unknown.stderr.split(separator: "\n").count, 1, unknown.stderr)
    }
}
