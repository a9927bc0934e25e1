// `gigi peers`: peers discovered on the LAN (GigiDNS).
//
// With no daemon running, it starts discovery in-process, listens for a few
// seconds and prints the table; `--watch` keeps listening and prints each change.
// `--announce NICKNAME` also makes this process visible under that nickname
// (with a throw-away identity) while it runs; it says goodbye on Ctrl-C/SIGTERM.

import ArgumentParser
import Foundation
import GigiBase
import GigiDNS
import GigiStore
import NIOCore
import NIOPosix
import P2PCore

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "List peers discovered on the local network.",
        discussion: """
            Discovery uses GigiDNS (UDP multicast 224.0.0.251 and ff02::fb, port 7173), \
            compatible with the original Gigi. Turn it off with --lan-discovery off or \
            GIGI_LAN_DISCOVERY=off; limit it to some interfaces with GIGI_LAN_INTERFACES=if1,if2.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(name: .long, help: "Keep listening and print each change (discovered, updated, expired) until interrupted.")
    var watch = false

    @Option(name: .long, help: ArgumentHelp("How long to listen before printing the table.", valueName: "seconds"))
    var timeout: Double = 3

    @Option(name: .customLong("lan-discovery"),
            help: ArgumentHelp("Turn LAN discovery on or off (default: $GIGI_LAN_DISCOVERY, else on).", valueName: "on|off"))
    var lanDiscovery: String?

    @Option(name: .long, help: ArgumentHelp("Also announce this process on the LAN under this nickname while it runs.",
                                            valueName: "nickname"))
    var announce: String?

    @Option(name: .long, help: ArgumentHelp("Address to announce with --announce (repeatable; default: each interface's IPv4 address).",
                                            valueName: "multiaddr"))
    var address: [String] = []

    @Option(name: .long, help: ArgumentHelp("Print only the peer with this nickname or peer ID; fails if none or several match.",
                                            valueName: "name"))
    var resolve: String?

    func validate() throws {
        if let v = lanDiscovery, !["on", "off"].contains(v.lowercased()) {
            throw ValidationError("--lan-discovery takes on or off.")
        }
        guard timeout >= 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds.") }
        if let a = announce, a.isEmpty || a.utf8.count > GigiDNSRecord.Limits.maxNicknameBytes {
            throw ValidationError("--announce needs a nickname of 1 to \(GigiDNSRecord.Limits.maxNicknameBytes) bytes.")
        }
        for a in address where !a.hasPrefix("/") {
            throw ValidationError("--address takes a multiaddr such as /ip4/10.0.0.2/tcp/4001, not \"\(a)\".")
        }
    }

    func run() async throws {
        global.bootstrapLogging()
        let env = ProcessInfo.processInfo.environment
        let config = GigiDNSServiceConfig.fromEnvironment(env, flag: lanDiscovery)
        let store = try? openStore()
        guard config.enabled else {
            // Discovery off: show what an earlier run remembered, touch no network.
            let known = (try? store?.all()) ?? []
            FileHandle.standardError.write(Data("gigi: LAN discovery is off (--lan-discovery / GIGI_LAN_DISCOVERY); showing remembered peers.\n".utf8))
            try output(known)
            return
        }

        let local = announce.map { nick in
            GigiDNSLocalPeer(peerID: P2PPrivateKey().publicKey.peerID.description, nickname: nick,
                             addresses: address.isEmpty ? ["/ip4/0.0.0.0/tcp/4001"] : address)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let service: GigiDNSService
        do {
            service = try await GigiDNSService.start(eventLoop: group.next(), config: config, local: local,
                                                     store: store ?? GigiDNSMemoryPeerStore())
        } catch {
            try? await group.shutdownGracefully()
            throw GigiError("Could not open the LAN discovery socket (UDP port \(config.port)): \(error). "
                + "Run with --lan-discovery off, or pin interfaces with GIGI_LAN_INTERFACES.", exitCode: .unavailable)
        }
        let signals = SignalWatch()
        if watch {
            // First line: discovery is up (and who we announce, if anyone).
            var hello: [String: Any] = ["event": "listening"]
            if let local { hello["nickname"] = local.nickname; hello["peer_id"] = local.peerID }
            if global.json { printLine(json: hello) } else { say("Listening on the LAN; Ctrl-C to stop.") }
            let events = service.events
            let printer = Task {
                for await e in events { printEvent(e) }
            }
            await signals.wait()
            await service.stop()
            printer.cancel()
        } else {
            await signals.wait(upTo: timeout)
            let peers = await service.peers()
            await service.stop()
            try? await group.shutdownGracefully()
            try output(peers)
            return
        }
        try? await group.shutdownGracefully()
    }

    private func openStore() throws -> GigiDNSPeerStore {
        let dir = global.homeDirectory + "/db"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return GigiDNSLMDBPeerStore(store: try Store(path: dir))
    }

    private func output(_ peers: [GigiDNSPeerRecord]) throws {
        var list = peers.sorted { ($0.nickname, $0.peerID) < ($1.nickname, $1.peerID) }
        if let name = resolve { list = [try GigiDNSNickname.require(name, among: list)] }
        if global.json {
            for p in list { printLine(json: Self.json(p)) }
            return
        }
        if list.isEmpty {
            say("No peers found on the LAN.")
            return
        }
        let now = Date().timeIntervalSince1970
        for p in list {
            let caps = p.capabilities.isEmpty ? "" : "  [\(p.capabilities.joined(separator: ","))]"
            say("\(TerminalSafe.escape(p.nickname))  \(p.peerID)  seen \(Int(max(0, now - p.lastSeen)))s ago\(caps)")
            for a in p.addresses { say("    \(TerminalSafe.escape(a))") }
        }
    }

    private func printEvent(_ e: GigiDNSEvent) {
        let (kind, peer, reason): (String, GigiDNSPeer, String?) = {
            switch e {
            case .discovered(let p): return ("discovered", p, nil)
            case .updated(let p): return ("updated", p, nil)
            case .expired(let p, let r): return ("expired", p, r.rawValue)
            }
        }()
        if global.json {
            var obj: [String: Any] = ["event": kind, "peer_id": peer.peerID, "nickname": peer.nickname,
                                      "addresses": peer.sortedAddresses, "capabilities": peer.capabilities]
            if let reason { obj["reason"] = reason }
            printLine(json: obj)
        } else {
            let why = reason.map { " (\($0))" } ?? ""
            say("\(kind)\(why): \(TerminalSafe.escape(peer.nickname))  \(peer.peerID)  \(peer.sortedAddresses.joined(separator: " "))")
        }
    }

    static func json(_ p: GigiDNSPeerRecord) -> [String: Any] {
        ["peer_id": p.peerID, "nickname": p.nickname, "addresses": p.addresses, "capabilities": p.capabilities,
         "meta": Dictionary(p.meta.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }),
         "last_seen": p.lastSeen, "expires": p.expires]
    }

    /// Unbuffered, so `--watch` output reaches a pipe at once.
    private func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    private func printLine(json obj: [String: Any]) {
        if let data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]) {
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }
}

/// Waits for SIGINT or SIGTERM (or a timeout) without killing the process, so goodbyes go out.
final class SignalWatch: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let c = continuation
            s.setEventHandler { c.yield() }
            s.resume()
            sources.append(s)
        }
    }

    /// Until a signal arrives.
    func wait() async {
        for await _ in stream { return }
    }

    /// Until a signal arrives or `seconds` pass.
    func wait(upTo seconds: Double) async {
        let c = continuation
        let timer = Task {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            c.yield()
        }
        await wait()
        timer.cancel()
    }
}
