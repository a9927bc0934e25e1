// GigiNode: one running Gigi node — the libp2p host with Gigi's protocols on
// it, the LMDB store, the share server — behind one API that the CLI (and,
// later, the daemon's control socket) uses. The CLI never reaches past it.
//
// Goals: start a node for one command's duration (`gigi share`, `gigi fetch`)
// or for a daemon; serve shares (`/gigi/share/1.0.0`, `/gigi/chunks/1.0.0`);
// fetch by share code or ticket from a known address; shut down cleanly
// (in-flight writes end, LMDB closes). Non-goals here: protocol logic (it lives
// in GigiFiles and the P2P* modules), printing (the CLI presents results).

import Foundation
import GigiAuth
import GigiBase
import GigiCrypto
import GigiDNS
import GigiFiles
import GigiMessaging
import GigiStore
import Logging
import P2PCore
import NIOPosix
import P2PHost

/// How to run a node.
public struct GigiNodeOptions: Sendable {
    /// GIGI_HOME: the store, the identity key, the keystore.
    public var home: String
    /// Addresses to listen on (multiaddr text). Empty: listen nowhere (a pure fetcher).
    public var listen: [String]
    /// The libp2p identity; nil: `home/identity.key` (created on first use).
    public var identityFile: String?
    /// LAN discovery (GigiDNS); nil or disabled: none. Never on in tests outside namespaces.
    public var lan: GigiDNSServiceConfig?
    /// The nickname announced on the LAN.
    public var nickname: String
    /// Keep discovered LAN peers in the store (the daemon does; one-shot commands do not).
    public var rememberLANPeers: Bool
    /// Direct-message limits, timeouts and the outbox expiry.
    public var messaging = MessagingConfig()
    public var logger: Logger

    public init(home: String, listen: [String] = ["/ip4/0.0.0.0/tcp/0"], identityFile: String? = nil,
                lan: GigiDNSServiceConfig? = nil, nickname: String = "gigi", rememberLANPeers: Bool = false,
                logger: Logger = Logger(label: "gigi.node")) {
        self.home = home
        self.listen = listen
        self.identityFile = identityFile
        self.lan = lan
        self.nickname = nickname
        self.rememberLANPeers = rememberLANPeers
        self.logger = logger
    }
}

/// Errors a node reports to its user.
public enum GigiNodeError: UserFacingError, Equatable {
    case badAddress(String, reason: String)
    case listenFailed(String, reason: String)
    case unreachable(String, reason: String)
    case noRoute
    case notOnLAN
    case notFound(String)

    public var message: String {
        switch self {
        case .badAddress(let a, let r):
            return "'\(TerminalSafe.escape(a))' is not a usable address (\(r)); give a multiaddr like /ip4/192.0.2.1/tcp/4001/p2p/12D3KooW…."
        case .listenFailed(let a, let r):
            return "Could not listen on \(TerminalSafe.escape(a)): \(r)."
        case .unreachable(let a, let r):
            return "Could not reach the sender at \(TerminalSafe.escape(a)): \(r). Check that its `gigi share` is still running."
        case .noRoute:
            return "No way to find the sender: give its address with --peer MULTIADDR (printed by `gigi share`), or use a ticket."
        case .notOnLAN:
            return "No sharer of that code answered on this LAN: check the code, or give the sharer's address with --peer MULTIADDR."
        case .notFound(let p):
            return "\(TerminalSafe.escape(p)) does not exist."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .badAddress: return .usage
        case .listenFailed: return .unavailable
        case .unreachable, .noRoute, .notOnLAN: return .unavailable
        case .notFound: return .noInput
        }
    }
}

/// A running node.
public final class GigiNode: Sendable {
    public static let shareProtocol = "/gigi/share/1.0.0"
    public static let chunksProtocol = "/gigi/chunks/1.0.0"

    public let options: GigiNodeOptions
    let host: P2PHost
    let index: FileIndex
    let shares: ShareServer
    let logger: Logger
    let identity: P2PPrivateKey
    /// LAN discovery, when enabled.
    let lan: GigiDNSService?
    /// Direct messages (`/gigi/dm/2.0.0` sessions, `/gigi/dm/1.0.0`) and the outbox.
    let messaging: MessagingService
    /// LAN changes, after the node has used them (addresses, outbox); for the daemon's events.
    let lanFeed = Locked<AsyncStream<LANPeerEvent>?>(nil)
    /// Rendezvous keys of the shares being served, by share id (announced on the LAN).
    let rendezvous = Locked<[[UInt8]: [UInt8]]>([:])
    /// Recent resolutions of `send`'s peer argument (NodeMessaging.swift).
    let sendTargets = Locked<[String: (target: ResolvedPeer, at: ContinuousClock.Instant)]>([:])

    /// Shares' chunk-index commits still running (NodeShare.swift).
    let indexWrites = DispatchGroup()

    /// The node's peer ID.
    public var peerID: String { host.peerID.description }

    private init(options: GigiNodeOptions, identity: P2PPrivateKey, host: P2PHost, index: FileIndex,
                 lan: GigiDNSService?, messaging: MessagingService) {
        self.options = options
        self.messaging = messaging
        self.identity = identity
        self.host = host
        self.index = index
        self.lan = lan
        self.logger = options.logger
        self.shares = ShareServer(localPeer: identity.peerID.bytes)
    }

    /// Opens the store, loads the identity, starts the host and listens.
    public static func start(_ options: GigiNodeOptions) async throws -> GigiNode {
        try FileManager.default.createDirectory(atPath: options.home, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        // The store opens (on a new home: created, one commit) while the identity loads
        // and the host starts listening.
        async let opened = runBlocking { try FileIndex(home: options.home) }
        let identity: P2PPrivateKey
        if let file = options.identityFile {
            guard let key = try NodeIdentity.read(file: file) else { throw GigiNodeError.notFound(file) }
            identity = key
        } else {
            identity = try NodeIdentity.loadOrCreate(home: options.home)
        }
        var config = P2PHostConfig()
        config.agentVersion = "gigi/\(GigiVersion.string)"
        let host = P2PHost(identity: identity, config: config)
        var lan: GigiDNSService? = nil
        let index: FileIndex
        do {
            for text in options.listen {
                let addr = try parseAddress(text)
                do { _ = try await host.listen(addr) } catch {
                    throw GigiNodeError.listenFailed(text, reason: describe(error))
                }
            }
            index = try await opened
            if let cfg = options.lan, cfg.enabled {
                let store: GigiDNSPeerStore? = options.rememberLANPeers ? GigiDNSLMDBPeerStore(store: index.store) : nil
                // A node that listens nowhere (a fetcher) only asks; it announces nothing.
                let local = options.listen.isEmpty ? nil
                    : GigiDNSLocalPeer(peerID: identity.peerID.description, nickname: options.nickname, addresses: [])
                lan = try await GigiDNSService.start(eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                                                     config: cfg, local: local, store: store)
            }
        } catch {
            await host.shutdown()
            throw error
        }
        let messaging: MessagingService
        do {
            messaging = try MessagingService(host: host, store: index.store, nickname: options.nickname,
                                             config: options.messaging)
            try await messaging.start()
        } catch {
            await lan?.stop(goodbye: false)
            await host.shutdown()
            throw error
        }
        let node = GigiNode(options: options, identity: identity, host: host, index: index, lan: lan,
                            messaging: messaging)
        await node.registerHandlers()
        if let lan { lan.setListenAddresses(await node.dialableAddresses()) }
        let feed = node.startLANFeed()
        node.lanFeed.withLock { $0 = feed }
        return node
    }

    private func registerHandlers() async {
        let shares = self.shares
        await host.setHandler(Self.shareProtocol) { stream in
            let peer = stream.remotePeer
            await shares.handleShareStream(HostTransferStream(stream), remotePeer: peer.bytes, remoteName: peer.description)
        }
        await host.setHandler(Self.chunksProtocol) { stream in
            await shares.handleChunkStream(HostTransferStream(stream), remoteName: stream.remotePeer.description)
        }
    }

    /// The addresses others can dial, each ending in /p2p/<peer ID>. Wildcard
    /// listen addresses are expanded to this machine's interface addresses.
    public func dialableAddresses() async -> [String] {
        let id = host.peerID.description
        var out: [String] = []
        for addr in await host.listenAddresses() {
            for a in LocalAddresses.expand(addr) { out.append(a.description + "/p2p/" + id) }
        }
        return out
    }

    /// Stops serving, closes connections, and closes the store.
    public func shutdown() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            indexWrites.notify(queue: .global()) { c.resume() }
        }
        await messaging.stop()
        await lan?.stop(goodbye: true)
        await shares.finish()
        await host.shutdown()
    }

    /// Announces (or stops announcing) the rendezvous key of a share on the LAN.
    func setRendezvous(_ key: [UInt8]?, forShare id: [UInt8]) {
        guard let lan else { return }
        let keys = rendezvous.withLock { r -> [[UInt8]] in
            r[id] = key
            return Array(r.values)
        }
        lan.setRendezvousKeys(keys)
    }
}

/// The version string shown by `gigi --version` and in the libp2p agent.
public enum GigiVersion {
    public static let string = "0.1.0"
}

func parseAddress(_ text: String) throws -> Multiaddr {
    do { return try Multiaddr(text) } catch {
        throw GigiNodeError.badAddress(text, reason: describe(error))
    }
}

/// An error as one short phrase for logs and wrapped messages.
func describe(_ error: Error) -> String {
    if let u = error as? UserFacingError {
        var m = u.message
        while m.hasSuffix(".") { m.removeLast() }
        return m
    }
    return String(describing: error)
}
