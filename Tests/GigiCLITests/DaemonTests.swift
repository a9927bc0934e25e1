// End to end: `gigi daemon` as a real process, its control socket, and
// commands routed through it.

import Foundation
import XCTest

final class DaemonProcess: @unchecked Sendable {
    let process: Process
    let home: URL
    private let errPipe = Pipe()

    init(test: XCTestCase, home: URL, listen: String = "/ip4/127.0.0.1/tcp/0") throws {
        self.home = home
        process = try GigiProcess.start(["daemon", "--listen", listen],
                                        environment: GigiProcess.environment(home: home), stderr: errPipe)
        let p = process
        test.addTeardownBlock { if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() } }
        // Connectable, not merely present: a killed daemon leaves its socket file behind.
        let socket = home.appendingPathComponent("gigi.sock").path
        let deadline = Date().addingTimeInterval(30)
        while RawControlClient(socket: socket) == nil {
            guard Date() < deadline, process.isRunning else { throw GigiTestError.timeout(args: ["daemon"], stderr: "") }
            usleep(20_000)
        }
    }

    func run(_ args: [String], timeout: TimeInterval = 60) throws -> GigiResult {
        try GigiProcess.run(args, environment: GigiProcess.environment(home: home), timeout: timeout)
    }

    func status() throws -> [String: Any] {
        let r = try run(["daemon", "status", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    }

    var loopbackAddress: String {
        ((try? status())?["addrs"] as? [String] ?? []).first { $0.hasPrefix("/ip4/127.") } ?? ""
    }

    func waitForExit(timeout: TimeInterval = 20) -> Int32? {
        GigiProcess.waitForExit(process, timeout: timeout)
    }
}

/// A raw client of a daemon's control socket: send lines, read lines.
final class RawControlClient {
    let fd: Int32
    private var buffer = Data()

    init?(socket path: String) {
        fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { Glibc.close(fd); return nil }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// The next line, or nil at EOF / timeout.
    func readLine() -> [String: Any]? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0a) {
                let line = buffer[buffer.startIndex..<nl]
                buffer.removeSubrange(buffer.startIndex...nl)
                return (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] ?? ["unparsed": String(decoding: line, as: UTF8.self)]
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}

final class DaemonTests: XCTestCase {
    func home(_ name: String) throws -> URL {
        let root = try GigiProcess.temporaryDirectory(for: self, "gigi-daemon")
        let h = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: h, withIntermediateDirectories: true)
        return h
    }

    func testStatusSecondDaemonRefusedAndStop() throws {
        let h = try home("a")
        let d = try DaemonProcess(test: self, home: h)
        let s = try d.status()
        XCTAssertEqual(s["pid"] as? Int, Int(d.process.processIdentifier))
        XCTAssertTrue((s["peer"] as? String ?? "").hasPrefix("12D3KooW"))
        let second = try GigiProcess.run(["daemon", "--listen", "/ip4/127.0.0.1/tcp/0"],
                                         environment: GigiProcess.environment(home: h), timeout: 30)
        XCTAssertEqual(second.status, 75, second.stderr)
        XCTAssertTrue(second.stderr.contains("already running"), second.stderr)
        // The socket is the owner's only.
        var st = stat()
        XCTAssertEqual(stat(h.appendingPathComponent("gigi.sock").path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let stop = try d.run(["daemon", "stop"])
        XCTAssertEqual(stop.status, 0, stop.stderr)
        XCTAssertEqual(d.waitForExit(), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.appendingPathComponent("gigi.sock").path))
        let none = try GigiProcess.run(["daemon", "status"], environment: GigiProcess.environment(home: h))
        XCTAssertEqual(none.status, 69, none.stderr)
    }

    func testRestartAfterKill9() throws {
        let h = try home("a")
        let d = try DaemonProcess(test: self, home: h)
        kill(d.process.processIdentifier, SIGKILL)
        d.process.waitUntilExit()
        // The stale socket file is left behind; the lock died with the process.
        let again = try DaemonProcess(test: self, home: h)
        XCTAssertEqual(try again.status()["pid"] as? Int, Int(again.process.processIdentifier))
        kill(again.process.processIdentifier, SIGTERM)
        XCTAssertEqual(again.waitForExit(), 0)
    }

    func testShareAndFetchThroughDaemonsWithEvents() throws {
        let alice = try DaemonProcess(test: self, home: try home("alice"))
        let bob = try DaemonProcess(test: self, home: try home("bob"))
        let src = alice.home.deletingLastPathComponent().appendingPathComponent("src.bin")
        try Data((0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: src)
        let share = try alice.run(["share", "--json", src.path])
        XCTAssertEqual(share.status, 0, share.stderr)
        let shared = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(share.stdout.utf8)) as? [String: Any])
        let code = try XCTUnwrap(shared["code"] as? String)
        let list = try alice.run(["shares", "--json"])
        XCTAssertTrue(list.stdout.contains(code), list.stdout)

        let events = RawControlClient(socket: bob.home.appendingPathComponent("gigi.sock").path)!
        events.send(#"{"id":1,"method":"subscribe"}"#)
        XCTAssertEqual(events.readLine()?["id"] as? Int, 1)

        let dst = bob.home.deletingLastPathComponent().appendingPathComponent("dst")
        let fetch = try bob.run(["fetch", "--json", "--peer", alice.loopbackAddress, "-o", dst.path, code])
        XCTAssertEqual(fetch.status, 0, fetch.stderr)
        XCTAssertEqual(try Data(contentsOf: dst.appendingPathComponent("src.bin")), try Data(contentsOf: src))
        var seen: [String] = []
        while let e = events.readLine(), let name = e["event"] as? String {
            seen.append(name)
            if name == "download_completed" { break }
        }
        XCTAssertEqual(seen.first, "download_started")
        XCTAssertTrue(seen.contains("download_progress"))
        XCTAssertEqual(seen.last, "download_completed")

        // The daemon keeps serving: a second fetch elsewhere works too, then unshare ends it.
        let dst2 = dst.appendingPathComponent("again")
        XCTAssertEqual(try bob.run(["fetch", "--peer", alice.loopbackAddress, "-o", dst2.path, code]).status, 0)
        let unshare = try alice.run(["unshare", code])
        XCTAssertEqual(unshare.status, 0, unshare.stderr)
        let gone = try bob.run(["fetch", "--peer", alice.loopbackAddress, "-o", dst.appendingPathComponent("3").path, code])
        XCTAssertEqual(gone.status, 66, gone.stderr)
    }

    /// `share` with "early" answers with the code before the paths are indexed (a GUI shows
    /// it at once); `share_indexed` follows with the counts, and the code fetches the data.
    /// A bad path still fails at once.
    func testEarlyShareAnswersBeforeIndexing() throws {
        let alice = try DaemonProcess(test: self, home: try home("alice"))
        let bob = try DaemonProcess(test: self, home: try home("bob"))
        let src = alice.home.deletingLastPathComponent().appendingPathComponent("early.bin")
        try Data((0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 11) }).write(to: src)
        let socket = alice.home.appendingPathComponent("gigi.sock").path
        let events = RawControlClient(socket: socket)!
        events.send(#"{"id":1,"method":"subscribe"}"#)
        XCTAssertEqual(events.readLine()?["id"] as? Int, 1)
        let control = RawControlClient(socket: socket)!
        control.send(#"{"id":2,"method":"share","params":{"early":true,"paths":["\#(src.path)"]}}"#)
        let reply = try XCTUnwrap(control.readLine()?["result"] as? [String: Any])
        let code = try XCTUnwrap(reply["code"] as? String)
        XCTAssertEqual(reply["indexing"] as? Bool, true)
        XCTAssertNil(reply["manifest"])
        var indexed: [String: Any]? = nil
        while indexed == nil, let e = events.readLine() {
            if e["event"] as? String == "share_indexed" { indexed = e }
        }
        let counts = try XCTUnwrap(indexed, "no share_indexed event")
        XCTAssertEqual(counts["share"] as? String, reply["share"] as? String)
        XCTAssertEqual(counts["bytes"] as? Int, 12 << 20)
        XCTAssertEqual(counts["chunks"] as? Int, 48)
        let dst = bob.home.deletingLastPathComponent().appendingPathComponent("dst")
        let fetch = try bob.run(["fetch", "--json", "--peer", alice.loopbackAddress, "-o", dst.path, code])
        XCTAssertEqual(fetch.status, 0, fetch.stderr)
        XCTAssertEqual(try Data(contentsOf: dst.appendingPathComponent("early.bin")), try Data(contentsOf: src))
        XCTAssertTrue(fetch.stdout.contains(try XCTUnwrap(counts["manifest"] as? String)), fetch.stdout)

        control.send(#"{"id":3,"method":"share","params":{"early":true,"paths":["/nonexistent/gigi-early"]}}"#)
        let bad = try XCTUnwrap(control.readLine()?["error"] as? [String: Any])
        XCTAssertEqual(bad["exit_code"] as? Int, 66)
    }

    func testSharesSurviveADaemonRestartUntilUnshared() throws {
        let aliceHome = try home("alice")
        var alice = try DaemonProcess(test: self, home: aliceHome)
        let bob = try DaemonProcess(test: self, home: try home("bob"))
        let src = aliceHome.deletingLastPathComponent().appendingPathComponent("kept.bin")
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: src)
        let share = try alice.run(["share", "--json", "--ticket", src.path])
        XCTAssertEqual(share.status, 0, share.stderr)
        let shared = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(share.stdout.utf8)) as? [String: Any])
        let code = try XCTUnwrap(shared["code"] as? String)

        // The daemon dies without a word and comes back: the same code still works.
        kill(alice.process.processIdentifier, SIGKILL)
        alice.process.waitUntilExit()
        alice = try DaemonProcess(test: self, home: aliceHome)
        let list = try alice.run(["shares", "--json"])
        XCTAssertTrue(list.stdout.contains(code), list.stdout)
        let dst = bob.home.deletingLastPathComponent().appendingPathComponent("dst")
        let fetch = try bob.run(["fetch", "--peer", alice.loopbackAddress, "-o", dst.path, code])
        XCTAssertEqual(fetch.status, 0, fetch.stderr)
        XCTAssertEqual(try Data(contentsOf: dst.appendingPathComponent("kept.bin")), try Data(contentsOf: src))

        // Unshared, it stays gone after the next restart.
        XCTAssertEqual(try alice.run(["unshare", code]).status, 0)
        XCTAssertEqual(try alice.run(["daemon", "stop"]).status, 0)
        XCTAssertEqual(alice.waitForExit(), 0)
        alice = try DaemonProcess(test: self, home: aliceHome)
        XCTAssertFalse(try alice.run(["shares", "--json"]).stdout.contains(code))
    }

    /// A fetch with "confirm" pauses after the PAKE: the offer is an event, and `accept`
    /// answers it; declined, nothing is written; accepted, the fetch completes.
    func testConfirmedFetchWaitsForAccept() throws {
        let alice = try DaemonProcess(test: self, home: try home("alice"))
        let bob = try DaemonProcess(test: self, home: try home("bob"))
        let src = alice.home.deletingLastPathComponent().appendingPathComponent("offered.bin")
        try Data((0..<400_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }).write(to: src)
        let share = try alice.run(["share", "--json", src.path])
        let code = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(share.stdout.utf8)) as? [String: Any])?["code"] as? String)
        let socket = bob.home.appendingPathComponent("gigi.sock").path
        let events = RawControlClient(socket: socket)!
        events.send(#"{"id":1,"method":"subscribe"}"#)
        XCTAssertEqual(events.readLine()?["id"] as? Int, 1)
        let dst = bob.home.deletingLastPathComponent().appendingPathComponent("dst")
        let answerer = RawControlClient(socket: socket)!
        answerer.send(#"{"id":5,"method":"accept","params":{"download":"nobody","accept":true}}"#)
        XCTAssertEqual((answerer.readLine()?["error"] as? [String: Any])?["exit_code"] as? Int, 66)

        for (n, accept) in [(1, false), (2, true)] {
            let fetcher = RawControlClient(socket: socket)!
            fetcher.send(#"{"id":2,"method":"fetch","params":{"code":"\#(code)","peers":["\#(alice.loopbackAddress)"],"#
                         + #""output":"\#(dst.path)","confirm":true,"download":"offer-\#(n)"}}"#)
            var offer: [String: Any]? = nil
            while let e = events.readLine() {
                if e["event"] as? String == "download_offer" { offer = e; break }
            }
            XCTAssertEqual(offer?["download"] as? String, "offer-\(n)")
            XCTAssertEqual(offer?["names"] as? [String], ["offered.bin"])
            XCTAssertEqual(offer?["bytes"] as? Int, 400_000)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dst.appendingPathComponent("offered.bin").path))
            answerer.send(#"{"id":3,"method":"accept","params":{"download":"offer-\#(n)","accept":\#(accept)}}"#)
            XCTAssertEqual(answerer.readLine()?["id"] as? Int, 3)
            let reply = try XCTUnwrap(fetcher.readLine())
            if accept {
                XCTAssertNil(reply["error"], "\(reply)")
                XCTAssertEqual(try Data(contentsOf: dst.appendingPathComponent("offered.bin")), try Data(contentsOf: src))
            } else {
                XCTAssertEqual((reply["error"] as? [String: Any])?["message"] as? String, "Declined: nothing was received.")
                XCTAssertFalse(FileManager.default.fileExists(atPath: dst.appendingPathComponent("offered.bin").path))
            }
        }
    }

    /// A daemon share with --expire is listed with its deadline, then gone (and not
    /// restored by a restart); a bad duration is a usage error.
    func testDaemonShareExpires() throws {
        let aliceHome = try home("alice")
        var alice = try DaemonProcess(test: self, home: aliceHome)
        let src = aliceHome.deletingLastPathComponent().appendingPathComponent("brief.bin")
        try Data((0..<1000).map { UInt8(truncatingIfNeeded: $0) }).write(to: src)
        XCTAssertEqual(try alice.run(["share", "--expire", "soon", src.path]).status, 64)
        let share = try alice.run(["share", "--json", "--expire", "2s", src.path])
        XCTAssertEqual(share.status, 0, share.stderr)
        let code = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(share.stdout.utf8)) as? [String: Any])?["code"] as? String)
        let listed = try alice.run(["shares", "--json"])
        XCTAssertTrue(listed.stdout.contains(code) && listed.stdout.contains("\"expires\""), listed.stdout)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, try alice.run(["shares", "--json"]).stdout.contains(code) { usleep(200_000) }
        XCTAssertFalse(try alice.run(["shares", "--json"]).stdout.contains(code), "still shared after its expiry")
        XCTAssertEqual(try alice.run(["daemon", "stop"]).status, 0)
        XCTAssertEqual(alice.waitForExit(), 0)
        alice = try DaemonProcess(test: self, home: aliceHome)
        XCTAssertFalse(try alice.run(["shares", "--json"]).stdout.contains(code))
    }

    func testMalformedRequestsAreAnsweredAndTheDaemonKeepsServing() throws {
        let d = try DaemonProcess(test: self, home: try home("a"))
        let c = try XCTUnwrap(RawControlClient(socket: d.home.appendingPathComponent("gigi.sock").path))
        c.send("this is not json")
        XCTAssertEqual((c.readLine()?["error"] as? [String: Any])?["exit_code"] as? Int, 65)
        c.send(#"{"id":7}"#)
        XCTAssertEqual((c.readLine()?["error"] as? [String: Any])?["exit_code"] as? Int, 65)
        c.send(#"{"id":8,"method":"no.such.method"}"#)
        let unknown = c.readLine()
        XCTAssertEqual(unknown?["id"] as? Int, 8)
        XCTAssertEqual((unknown?["error"] as? [String: Any])?["exit_code"] as? Int, 64)
        c.send(#"{"id":9,"method":"status"}"#)
        XCTAssertNotNil((c.readLine()?["result"] as? [String: Any])?["peer"])
        // A line over the limit closes that connection only.
        let big = RawControlClient(socket: d.home.appendingPathComponent("gigi.sock").path)!
        big.send(String(repeating: "x", count: 2 << 20))
        XCTAssertNil(big.readLine())
        c.send(#"{"id":10,"method":"status"}"#)
        XCTAssertEqual(c.readLine()?["id"] as? Int, 10)
    }

    func testAnotherUserIsRefused() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to run a client as another uid") }
        let setpriv = "/usr/bin/setpriv"
        guard FileManager.default.isExecutableFile(atPath: setpriv) else { throw XCTSkip("setpriv (util-linux) is missing") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("/usr/bin/python3 is missing") }
        let d = try DaemonProcess(test: self, home: try home("a"))
        let socket = d.home.appendingPathComponent("gigi.sock").path
        // Even with the directory and the socket opened up, the peer-credential check refuses uid 65534.
        chmod(d.home.path, 0o755)
        chmod(d.home.deletingLastPathComponent().path, 0o755)
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(sys.argv[1])
            except OSError as e:
                print("refused", e.errno); sys.exit(0)
            s.settimeout(5)
            try:
                s.sendall(b'{"id":1,"method":"status"}\\n')
                data = s.recv(65536)
            except OSError:
                data = b""
            print("answered" if data else "closed")
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: setpriv)
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, socket]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("refused") || text.hasPrefix("closed"), text)
        // With the socket itself opened up, only the credential check stands in the way.
        chmod(socket, 0o666)
        let p2 = Process()
        p2.executableURL = URL(fileURLWithPath: setpriv)
        p2.arguments = p.arguments
        let out2 = Pipe()
        p2.standardOutput = out2
        try p2.run()
        p2.waitUntilExit()
        let text2 = String(decoding: out2.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(text2.hasPrefix("closed"), text2)
        XCTAssertNotNil(try d.status()["peer"], "the daemon still serves its owner")
    }
}
