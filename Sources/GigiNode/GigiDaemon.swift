// `gigi daemon`: a long-running node with a control API on a Unix socket.
//
// The control API (docs/control-api.md) is JSON lines: a request
// `{"id": 1, "method": "status", "params": {…}}` gets one reply
// `{"id": 1, "result": {…}}` or `{"id": 1, "error": {"message": …, "exit_code": …}}`;
// `subscribe` turns the connection into an event stream as well. Requests on
// one connection are answered as they finish (long ones, like `fetch`, do not
// hold up the others); ids tie replies to requests.
//
// One daemon per GIGI_HOME: an exclusive flock on GIGI_HOME/daemon.lock, held
// for the daemon's lifetime (the kernel drops it if the process dies, so a
// crash never leaves a stale lock). The socket is GIGI_HOME/gigi.sock, 0600.

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GigiBase
import Logging
import P2PHost

/// Where the daemon of a GIGI_HOME keeps its socket and lock.
public enum DaemonPaths {
    public static func socket(home: String) -> String { home + "/gigi.sock" }
    public static func lock(home: String) -> String { home + "/daemon.lock" }
}

/// Holds GIGI_HOME/daemon.lock (flock) while the daemon runs.
final class DaemonLock: @unchecked Sendable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// The lock, or nil if another process holds it.
    static func acquire(home: String) throws -> DaemonLock? {
        let path = DaemonPaths.lock(home: home)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw GigiError("Cannot open \(path) (\(String(cString: strerror(errno)))); check GIGI_HOME's permissions.",
                            exitCode: .ioError)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return DaemonLock(fd: fd)
    }

    /// The pid recorded by the holder of the lock, if readable.
    static func holder(home: String) -> Int32? {
        guard let text = try? String(contentsOfFile: DaemonPaths.lock(home: home), encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// A running daemon.
public final class GigiDaemon: Sendable {
    public let node: GigiNode
    public let bus = EventBus()
    let logger: Logger
    let started = Date()
    let lock: DaemonLock
    let stopRequested: Locked<[CheckedContinuation<Void, Never>]?> = Locked([])
    let shares = Locked<[String: DaemonShare]>([:])
    /// Fetches waiting for a client's `accept` (fetch with "confirm"), by download id.
    let offers = Locked<[String: PendingOffer]>([:])
    /// How long a confirmed fetch waits for its `accept` before it counts as declined.
    static let offerTimeout: Double = 600
    private let server: Locked<LineSocketServer?> = Locked(nil)

    /// A confirmed fetch's answer to come, and the timer that declines it.
    struct PendingOffer: Sendable {
        let answer: CheckedContinuation<Bool, Never>
        let timeout: Task<Void, Never>
    }

    struct DaemonShare: Sendable {
        let share: ActiveShare
        let paths: [String]
        let created: Date
        /// When it stops taking new fetches (`gigi share --expire`), if ever.
        var expires: Date? = nil
    }

    /// Shares asked for with "early": their code works while their paths are indexed.
    let indexing = Locked<[String: IndexingShare]>([:])

    struct IndexingShare: Sendable {
        let share: AnnouncedShare
        let paths: [String]
        let created: Date
        let expires: Date?
    }

    private init(node: GigiNode, lock: DaemonLock, logger: Logger) {
        self.node = node
        self.lock = lock
        self.logger = logger
    }

    /// Takes the lock, starts the node and the control socket. Throws if a daemon
    /// already runs for this GIGI_HOME.
    public static func start(_ options: GigiNodeOptions) async throws -> GigiDaemon {
        try FileManager.default.createDirectory(atPath: options.home, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        guard let lock = try DaemonLock.acquire(home: options.home) else {
            let pid = DaemonLock.holder(home: options.home).map { " (pid \($0))" } ?? ""
            throw GigiError("A gigi daemon is already running for \(options.home)\(pid); stop it with `gigi daemon stop`.",
                            exitCode: .tempFailure)
        }
        let node = try await GigiNode.start(options)
        let daemon = GigiDaemon(node: node, lock: lock, logger: options.logger)
        let restored = await daemon.restoreShares()
        if restored > 0 { options.logger.notice("serving \(restored) share(s) recorded by an earlier run") }
        do {
            let server = try await LineSocketServer.start(path: DaemonPaths.socket(home: options.home)) { connection in
                await daemon.serve(connection)
            }
            daemon.server.withLock { $0 = server }
        } catch {
            await node.shutdown()
            throw GigiError("Cannot create the control socket \(DaemonPaths.socket(home: options.home)): \(error).",
                            exitCode: .ioError)
        }
        daemon.forwardShareEvents()
        daemon.forwardLANEvents()
        daemon.forwardMessageEvents()
        return daemon
    }

    /// Returns once a `stop` request arrives (or `requestStop` is called).
    public func waitUntilStopped() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now: Bool = stopRequested.withLock { waiters in
                guard waiters != nil else { return true }
                waiters!.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Asks the daemon to stop (signal handlers, the `stop` method).
    public func requestStop() {
        let waiters = stopRequested.withLock { w -> [CheckedContinuation<Void, Never>] in
            let all = w ?? []
            w = nil
            return all
        }
        for c in waiters { c.resume() }
    }

    /// Closes the socket, ends subscriptions, stops the node (in-flight writes end, LMDB closes).
    public func shutdown() async {
        let server = self.server.withLock { s -> LineSocketServer? in let x = s; s = nil; return x }
        await server?.close()
        bus.publish("daemon_stopping")
        bus.finish()
        await node.shutdown()
    }

    private func forwardLANEvents() {
        guard let events = node.lanFeed.withLock({ f -> AsyncStream<LANPeerEvent>? in let e = f; f = nil; return e }) else { return }
        let bus = self.bus
        Task {
            for await e in events {
                switch e {
                case .discovered(let p): bus.publish("peer_discovered", p.json.object!)
                case .updated(let p): bus.publish("peer_updated", p.json.object!)
                case .expired(let p, let reason):
                    var o = p.json.object!
                    o["reason"] = .string(reason)
                    bus.publish("peer_expired", o)
                }
            }
        }
    }

    private func forwardMessageEvents() {
        let events = node.messageEvents
        let bus = self.bus
        Task {
            for await (name, value) in events { bus.publish(name, value.object ?? [:]) }
        }
    }

    private func forwardShareEvents() {
        let events = node.shareEvents
        let bus = self.bus
        let node = self.node
        Task {
            for await e in events {
                switch e {
                case .fetchStarted(let p): bus.publish("share_fetch_started", ["peer": .string(p)])
                case .fetchCompleted(let p):
                    let served = await node.chunksServed(to: p)
                    bus.publish("share_fetched", ["peer": .string(p), "chunks_served": .int(served)])
                case .fetchStopped(let p):
                    let served = await node.chunksServed(to: p)
                    bus.publish("share_fetch_stopped", ["peer": .string(p), "chunks_served": .int(served)])
                case .wrongCode(let p, let n):
                    bus.publish("share_wrong_code", ["peer": .string(p), "failed_attempts": .int(n)])
                case .closed(let r):
                    bus.publish("share_closed", ["reason": .string(r)])
                    // A share closed for good (wrong codes) must not come back after a restart.
                    for d in self.shares.withLock({ Array($0.values) }) where await node.isClosed(d.share) {
                        self.shares.withLock { _ = $0.removeValue(forKey: d.share.shareID) }
                        self.forget(shareID: d.share.shareID)
                    }
                case .fileChanged(let path): bus.publish("share_file_changed", ["path": .string(path)])
                }
            }
        }
    }

    // MARK: - Connections

    /// One control connection: requests are handled concurrently, replies written as they finish.
    func serve(_ connection: LineConnection) async {
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            do {
                for try await line in connection.lines {
                    guard !line.isEmpty else { continue }
                    // Bound concurrent requests per connection: wait for one to finish.
                    if inFlight >= ControlAPI.maxConcurrentRequests {
                        await group.next()
                        inFlight -= 1
                    }
                    inFlight += 1
                    group.addTask { await self.handle(line: line, on: connection) }
                }
            } catch {
                logger.info("control connection closed: \(error)")
            }
            group.cancelAll()
        }
        await connection.close()
    }

    private func handle(line: String, on connection: LineConnection) async {
        guard let request = JSONValue.parse(line), let object = request.object else {
            try? await connection.send(ControlAPI.errorReply(id: .null, GigiError("The request is not a JSON object.", exitCode: .dataError)).text)
            return
        }
        let id = object["id"] ?? .null
        guard let method = object["method"]?.string else {
            try? await connection.send(ControlAPI.errorReply(id: id, GigiError("The request has no \"method\".", exitCode: .dataError)).text)
            return
        }
        let params = object["params"]?.object ?? [:]
        if method == "subscribe" {
            let events = bus.subscribe()
            try? await connection.send(JSONValue.object(["id": id, "result": ["subscribed": true]]).text)
            for await event in events {
                do { try await connection.send(event.text) } catch { break }
            }
            return
        }
        do {
            let result = try await dispatch(method, params)
            try? await connection.send(JSONValue.object(["id": id, "result": result]).text)
        } catch {
            try? await connection.send(ControlAPI.errorReply(id: id, error).text)
        }
    }
}

/// Shared facts of the control protocol.
public enum ControlAPI {
    public static let version = 1
    /// Requests one connection may have in flight.
    public static let maxConcurrentRequests = 64

    static func errorReply(id: JSONValue, _ error: Error) -> JSONValue {
        let message: String
        let code: GigiExitCode
        if let u = error as? UserFacingError {
            message = u.message
            code = u.exitCode
        } else {
            message = "Internal error in the daemon: \(error)."
            code = .software
        }
        return ["id": id, "error": ["message": .string(message), "exit_code": .int(Int(code.rawValue))]]
    }
}
