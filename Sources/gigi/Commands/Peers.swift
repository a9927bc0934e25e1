// `gigi peers`: peers discovered on the LAN (GigiDNS).
//
// No daemon exists yet, so the command runs discovery in-process: it announces
// this node (peer ID from GIGI_HOME, nickname from --nickname / the account /
// the host name) while it runs, listens for a few seconds and prints the table;
// `--watch` keeps listening and prints each change. SIGINT/SIGTERM stop it
// cleanly, with a goodbye so the others drop us at once.

import ArgumentParser
import Foundation
import GigiAuth
import GigiBase
import GigiDNS
import GigiFiles
import NIOCore
import NIOPosix

struct Peers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "List peers discovered on the local network.",
        discussion: """
            Discovery uses GigiDNS (UDP multicast 224.0.0.251 and ff02::fb, port 7173), \
            compatible with the original Gigi. While it runs, this node is announced under \
            its nickname (--no-announce only listens). Entries expire when a peer's TTL runs \
            out and vanish at once when it says goodbye.

            Turn discovery off with --lan-discovery off or GIGI_LAN_DISCOVERY=off (then the \
            peers remembered from earlier runs are shown); limit it to some interfaces with \
            --lan-interfaces or GIGI_LAN_INTERFACES=if1,if2.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var lan: LANOptions

    @Flag(name: .long, help: "Keep listening and print each change (discovered, updated, expired) until interrupted.")
    var watch = false

    @Option(name: .long, help: ArgumentHelp("How long to listen (default: 3 seconds; with --watch: until interrupted).",
                                            valueName: "seconds"))
    var timeout: Double?

    @Flag(inversion: .prefixedNo, help: "Announce this node on the LAN while listening.")
    var announce = true

    @Option(name: .long, help: ArgumentHelp("Print only the peer with this nickname or peer ID; fails if none or several match.",
                                            valueName: "name"))
    var resolve: String?

    /// Addresses to announce; the default is each interface's IPv4 address (no listener runs yet).
    @Option(name: .customLong("announce-address"), help: .hidden)
    var announceAddress: [String] = []

    /// Test hook until `gigi share` exists: announce the rendezvous key of this nameplate.
    @Option(name: .customLong("rendezvous-nameplate"), help: .hidden)
    var rendezvousNameplate: [String] = []

    /// Test hook until `gigi fetch` exists: find who announces this nameplate's rendezvous key, print it, exit.
    @Option(name: .customLong("find-nameplate"), help: .hidden)
    var findNameplate: String?

    static let defaultTimeout = 3.0

    func validate() throws {
        if let t = timeout, !(t >= 0 && t <= 86_400) {
            throw ValidationError("--timeout must be between 0 and 86400 seconds.")
        }
        for a in announceAddress where !a.hasPrefix("/") {
            throw ValidationError("--announce-address takes a multiaddr such as /ip4/10.0.0.2/tcp/4001, not \"\(a)\".")
        }
        for n in rendezvousNameplate + [findNameplate].compactMap({ $0 }) where Int(n).map({ $0 < 1 || $0 > ShareCode.maxNameplate }) ?? true {
            throw ValidationError("A nameplate is a number from 1 to \(ShareCode.maxNameplate), not \"\(n)\".")
        }
        if findNameplate != nil && watch { throw ValidationError("--find-nameplate cannot be used with --watch.") }
    }

    func run() async throws {
        global.bootstrapLogging()
        let home = global.homeDirectory
        let config = try lan.serviceConfig(home: home)
        guard config.enabled else {
            // Discovery off: show what earlier runs remembered; touch no network and create nothing.
            FileHandle.standardError.write(Data("gigi: LAN discovery is off (--lan-discovery / GIGI_LAN_DISCOVERY); showing remembered peers.\n".utf8))
            let remembered = FileManager.default.fileExists(atPath: home + "/store")
                ? ((try? GigiDNSLMDBPeerStore(home: home).all()) ?? []) : []
            try output(remembered)
            return
        }
        let store = try? GigiDNSLMDBPeerStore(home: home)

        var local: GigiDNSLocalPeer?
        if announce {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let identity = try NodeIdentity.loadOrCreate(home: home)
            // With explicit addresses, start silent and hand them over as a node does once it listens.
            local = GigiDNSLocalPeer(peerID: identity.peerID.description, nickname: lan.announcedNickname(home: home),
                                     addresses: announceAddress.isEmpty ? ["/ip4/0.0.0.0"] : [])
        }
        let signals = SignalWatcher.interrupts()
        // A closed output pipe must show up as a failed write (then we stop with a goodbye), not kill us.
        signal(SIGPIPE, SIG_IGN)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let started = Date()
        let service: GigiDNSService
        do {
            service = try await GigiDNSService.start(eventLoop: group.next(), config: config, local: local,
                                                     store: store ?? GigiDNSMemoryPeerStore())
        } catch {
            try? await group.shutdownGracefully()
            throw GigiError("Could not open the LAN discovery socket (UDP port \(config.port)): \(error). "
                + "Use --lan-discovery off, or pin interfaces with --lan-interfaces.", exitCode: .unavailable)
        }
        if await service.interfaceNames().isEmpty {
            let which = config.interfaces.map { "none of the interfaces \($0.joined(separator: ",")) is up" }
                ?? "no multicast-capable network interface is up"
            FileHandle.standardError.write(Data("gigi: warning: LAN discovery is on, but \(which).\n".utf8))
        }
        if local != nil && !announceAddress.isEmpty { service.setListenAddresses(announceAddress) }
        if !rendezvousNameplate.isEmpty {
            service.setRendezvousKeys(rendezvousNameplate.map { ShareCode.rendezvousKey(nameplate: $0) })
        }

        var failure: Error?
        if let nameplate = findNameplate {
            let found = await service.findRendezvous(ShareCode.rendezvousKey(nameplate: nameplate),
                                                     timeout: .milliseconds(Int64((timeout ?? Self.defaultTimeout) * 1000)))
            let took = Date().timeIntervalSince(started)
            if found.isEmpty {
                failure = GigiError("Nobody on the LAN announces nameplate \(nameplate); check that the share is running on this network.",
                                    exitCode: .unavailable)
            }
            for p in found { emit(PeerLine(p, event: "rendezvous", tookMilliseconds: Int(took * 1000))) }
        } else if watch {
            emit(PeerLine.listening(local))
            // A closed standard output (`gigi peers --watch | head -1`) stops the watch like Ctrl-C.
            let waiting = Task { if let timeout { await signals.wait(upTo: timeout) } else { await signals.wait() } }
            let printer = Task { for await e in service.events where !emit(PeerLine(e)) { waiting.cancel() } }
            await waiting.value
            await service.stop()  // ends `events`, so the printer drains and returns
            await printer.value
            try? await group.shutdownGracefully()
            return
        } else {
            await signals.wait(upTo: timeout ?? Self.defaultTimeout)
            let peers = await service.peers()
            do { try output(peers) } catch { failure = error }
        }
        await service.stop()
        try? await group.shutdownGracefully()
        if let failure { throw failure }
    }


    private func output(_ peers: [GigiDNSPeerRecord]) throws {
        var list = peers.sorted { ($0.nickname, $0.peerID) < ($1.nickname, $1.peerID) }
        if let name = resolve { list = [try GigiDNSNickname.require(name, among: list)] }
        if global.json {
            for p in list { emit(PeerLine(p)) }
        } else if list.isEmpty {
            say("No peers found on the LAN.")
        } else {
            let now = Date().timeIntervalSince1970
            for p in list {
                let caps = p.capabilities.isEmpty ? "" : "  [\(TerminalSafe.escape(p.capabilities.joined(separator: ",")))]"
                say("\(TerminalSafe.escape(p.nickname))  \(p.peerID)  seen \(Int(max(0, now - p.lastSeen)))s ago\(caps)")
                for a in p.addresses { say("    \(TerminalSafe.escape(a))") }
            }
        }
    }

    /// Prints one line; false when standard output is gone.
    @discardableResult
    private func emit(_ line: PeerLine) -> Bool {
        guard global.json else { return say(line.text) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        guard let data = try? encoder.encode(line) else { return true }
        return (try? FileHandle.standardOutput.write(contentsOf: data + Data("\n".utf8))) != nil
    }

    /// Unbuffered, so `--watch` output reaches a pipe at once; false when standard output is gone.
    @discardableResult
    private func say(_ line: String) -> Bool {
        (try? FileHandle.standardOutput.write(contentsOf: Data((line + "\n").utf8))) != nil
    }
}

/// One line of `gigi peers` output: a peer, or an event about one.
struct PeerLine: Encodable {
    var event: String?
    var reason: String?
    var peerId: String?
    var nickname: String?
    var addresses: [String]?
    var capabilities: [String]?
    /// `meta` entries in order, each `[key, value]` (keys repeat: `rv` once per rendezvous key).
    var meta: [[String]]?
    var lastSeen: String?
    var expires: String?
    var tookMs: Int?

    init(_ p: GigiDNSPeerRecord, event: String? = nil, tookMilliseconds: Int? = nil) {
        self.event = event
        peerId = p.peerID
        nickname = p.nickname
        addresses = p.addresses
        capabilities = p.capabilities
        meta = p.meta.map { [$0.key, $0.value] }
        lastSeen = Self.time(p.lastSeen)
        expires = Self.time(p.expires)
        tookMs = tookMilliseconds
    }

    init(_ e: GigiDNSEvent) {
        let peer: GigiDNSPeer
        switch e {
        case .discovered(let p): event = "discovered"; peer = p
        case .updated(let p): event = "updated"; peer = p
        case .expired(let p, let why): event = "expired"; reason = why.rawValue; peer = p
        }
        peerId = peer.peerID
        nickname = peer.nickname
        addresses = peer.sortedAddresses
        capabilities = peer.capabilities
        meta = peer.meta.map { [$0.key, $0.value] }
        lastSeen = Self.time(Date().timeIntervalSince1970)
    }

    private init() {}

    static func listening(_ local: GigiDNSLocalPeer?) -> PeerLine {
        var l = PeerLine()
        l.event = "listening"
        l.peerId = local?.peerID
        l.nickname = local?.nickname
        return l
    }

    var text: String {
        switch event {
        case "listening"?:
            return "Listening on the LAN" + (nickname.map { " as \(TerminalSafe.escape($0))" } ?? "") + "; Ctrl-C to stop."
        default:
            let why = reason.map { " (\($0))" } ?? ""
            let took = tookMs.map { "  (\($0) ms)" } ?? ""
            return "\(event ?? "peer")\(why): \(TerminalSafe.escape(nickname ?? ""))  \(peerId ?? "")  "
                + TerminalSafe.escape((addresses ?? []).joined(separator: " ")) + took
        }
    }

    static func time(_ seconds: Double) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: seconds))
    }
}
