// P2PHost: the libp2p host on SwiftNIO — TCP (IPv4/IPv6), the connection upgrade
// (multistream-select → Noise → multistream-select → Yamux), per-stream protocol
// negotiation, a protocol handler registry, a small peer store and connection limits.
//
// Specs: libp2p/specs connections/README.md (upgrade), noise/README.md, yamux/README.md,
// multistream-select. Interop targets: py-libp2p 0.8.1, go-libp2p, rust-libp2p over TCP.
//
// Goals: the public async API below, memory bounded by windows and limits whatever peers
// do, malformed input closes only the offending connection (with a logged reason), high
// single-stream throughput (large Yamux windows, few copies, max-size Noise frames, one
// flush per read burst).
// Non-goals: QUIC/WebSocket transports, TLS, mplex, connection gating by IP, DNS resolution
// beyond NIO's resolver, simultaneous open.
//
// Threading: each connection's pipeline and Yamux session live on its event loop;
// `P2PConnection`/`P2PStream` hop onto that loop for every operation. Host-wide state
// (registry, connections, peer store) sits behind one lock.

import GigiBase
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import P2PCore
import P2PYamux

/// Limits and timeouts of a `P2PHost`. Every default is usable as is.
public struct P2PHostConfig: Sendable {
    /// Sent by Identify (teammate module); kept here so all host settings live together.
    public var agentVersion = "gigi/0.1.0"
    /// Established plus upgrading connections, both directions.
    public var maxConnections = 256
    public var maxConnectionsPerPeer = 4
    /// Open inbound streams per connection; a SYN beyond is answered with RST.
    public var maxInboundStreamsPerConnection = 256
    /// Outbound dials in progress at once.
    public var maxPendingDials = 64
    /// TCP connect timeout.
    public var dialTimeout: TimeAmount = .seconds(10)
    /// Multistream + Noise + Yamux negotiation must finish within this.
    public var upgradeTimeout: TimeAmount = .seconds(15)
    /// A connection without streams for this long is closed.
    public var idleTimeout: TimeAmount = .seconds(120)
    /// Yamux PING period (also measures the RTT for window auto-tuning).
    public var keepAliveInterval: TimeAmount = .seconds(15)
    /// A PING unanswered this long closes the connection.
    public var keepAliveTimeout: TimeAmount = .seconds(45)
    /// Addresses remembered per peer, and peers remembered, in the peer store.
    public var maxAddressesPerPeer = 16
    public var maxPeersInStore = 4096
    /// Yamux tuning (windows up to 16 MiB); `maxInboundStreams` is taken from
    /// `maxInboundStreamsPerConnection`.
    public var yamux = YamuxConfiguration()

    public init() {}
}

/// Connection lifecycle events.
public enum P2PHostEvent: Sendable {
    case connected(P2PConnection)
    case disconnected(PeerID, reason: String)
}

/// A libp2p host: listens, dials, upgrades connections and dispatches inbound streams to
/// protocol handlers.
public final class P2PHost: Sendable {
    let core: HostCore

    /// - Parameters:
    ///   - identity: our libp2p identity (Noise authenticates with it).
    ///   - group: event loops to run on; NIO's shared singleton group when nil.
    public init(identity: P2PPrivateKey, config: P2PHostConfig = .init(), group: EventLoopGroup? = nil) {
        core = HostCore(identity: identity, config: config,
                        group: group ?? MultiThreadedEventLoopGroup.singleton)
    }

    public var peerID: PeerID { core.peerID }
    public var config: P2PHostConfig { core.config }

    /// Starts listening on `/ip4|ip6/ADDR/tcp/PORT` (port 0 picks one) and returns the bound
    /// address (without /p2p).
    public func listen(_ address: Multiaddr) async throws -> Multiaddr {
        try await core.listen(address)
    }

    public func listenAddresses() async -> [Multiaddr] {
        core.state.withLockedValue { $0.listeners.map(\.address) }
    }

    /// Registers (or replaces) the handler of inbound streams negotiating `protocolID`.
    /// Each stream gets its own task; when the handler returns, the stream is closed (FIN)
    /// if it is still open.
    public func setHandler(_ protocolID: String, _ handler: @escaping @Sendable (P2PStream) async -> Void) async {
        core.state.withLockedValue { $0.handlers[protocolID] = handler }
    }

    public func removeHandler(_ protocolID: String) async {
        _ = core.state.withLockedValue { $0.handlers.removeValue(forKey: protocolID) }
    }

    public func protocols() async -> [String] {
        core.state.withLockedValue { $0.handlers.keys.sorted() }
    }

    /// Connects (or reuses a live connection) to the peer at `address`. A trailing
    /// `/p2p/ID` or `expectedPeer` is verified against the Noise-authenticated identity.
    public func connect(_ address: Multiaddr, expectedPeer: PeerID? = nil) async throws -> P2PConnection {
        try await core.connect(address, expectedPeer: expectedPeer)
    }

    /// Opens a stream to `peer` over a live connection, or dials the peer's known addresses.
    public func newStream(to peer: PeerID, protocols: [String]) async throws -> P2PStream {
        try await core.newStream(to: peer, protocols: protocols)
    }

    /// Opens a stream on `connection`, negotiating the first protocol the peer supports.
    public func newStream(on connection: P2PConnection, protocols: [String]) async throws -> P2PStream {
        try await core.newStream(on: connection, protocols: protocols)
    }

    /// Remembers addresses for `peer` (the peer store used by `newStream(to:)`).
    public func addAddresses(_ addrs: [Multiaddr], for peer: PeerID) async {
        core.addAddresses(addrs, for: peer)
    }

    public func addresses(for peer: PeerID) async -> [Multiaddr] {
        core.state.withLockedValue { $0.peerStore[peer] ?? [] }
    }

    public func connections() async -> [P2PConnection] {
        core.state.withLockedValue { Array($0.connections.values) }.sorted { $0.id < $1.id }
    }

    public func connections(to peer: PeerID) async -> [P2PConnection] {
        core.liveConnections(to: peer)
    }

    /// Connection events from now on. Each access is a new subscription; at most 256
    /// undelivered events are kept (the newest).
    public var events: AsyncStream<P2PHostEvent> { core.subscribe() }

    /// Graceful stop: closes listeners, sends GO_AWAY on every connection and closes them.
    public func shutdown() async {
        await core.shutdown()
    }
}

typealias StreamHandler = @Sendable (P2PStream) async -> Void

/// The host's shared state and logic (Sendable; state behind one lock).
final class HostCore: Sendable {
    let identity: P2PPrivateKey
    let peerID: PeerID
    let config: P2PHostConfig
    let group: EventLoopGroup
    let logger = Logger(label: "gigi.p2p.host")
    let state = NIOLockedValueBox(State())
    /// Connection ids are unique in the process, across hosts.
    private static let nextID = NIOLockedValueBox<UInt64>(1)

    struct Listener {
        let channel: Channel
        let address: Multiaddr
    }

    struct State {
        var handlers: [String: StreamHandler] = [:]
        var listeners: [Listener] = []
        var connections: [UInt64: P2PConnection] = [:]
        /// Connections being upgraded (both directions), counted against `maxConnections`.
        var upgrading = 0
        var pendingDials = 0
        var dialsInProgress: [PeerID: EventLoopFuture<P2PConnection>] = [:]
        var peerStore: [PeerID: [Multiaddr]] = [:]
        var subscribers: [UInt64: AsyncStream<P2PHostEvent>.Continuation] = [:]
        var nextSubscriber: UInt64 = 0
        var shutDown = false
    }

    init(identity: P2PPrivateKey, config: P2PHostConfig, group: EventLoopGroup) {
        self.identity = identity
        self.peerID = identity.peerID
        self.config = config
        self.group = group
    }

    func makeID() -> UInt64 {
        Self.nextID.withLockedValue { id in
            defer { id += 1 }
            return id
        }
    }

    // MARK: - Registry (called on event loops)

    func supportedProtocols() -> Set<String> {
        state.withLockedValue { Set($0.handlers.keys) }
    }

    /// Runs the handler of `stream.protocolID` in a new task; false if there is none.
    func dispatchInbound(_ stream: P2PStream) -> Bool {
        guard let handler = state.withLockedValue({ $0.handlers[stream.protocolID] }) else { return false }
        Task {
            await handler(stream)
            let connection = stream.connection
            let id = stream.id
            connection.eventLoop.execute { connection.handler.value.release(id) }
        }
        return true
    }

    // MARK: - Events

    func subscribe() -> AsyncStream<P2PHostEvent> {
        let (stream, continuation) = AsyncStream<P2PHostEvent>.makeStream(bufferingPolicy: .bufferingNewest(256))
        let key: UInt64? = state.withLockedValue { s in
            guard !s.shutDown else { return nil }
            s.nextSubscriber += 1
            s.subscribers[s.nextSubscriber] = continuation
            return s.nextSubscriber
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: key) }
        }
        return stream
    }

    private func emit(_ event: P2PHostEvent) {
        let subscribers = state.withLockedValue { Array($0.subscribers.values) }
        for s in subscribers { s.yield(event) }
    }

    // MARK: - Pipeline

    /// Installs the upgrade pipeline on a fresh channel; the future yields the connection.
    private func configure(_ channel: Channel, inbound: Bool, expectedPeer: PeerID?) throws -> EventLoopFuture<P2PConnection> {
        let promise = channel.eventLoop.makePromise(of: P2PConnection.self)
        let setup = ConnectionSetup(isInbound: inbound, identity: identity, expectedPeer: expectedPeer,
                                    logger: logger, upgraded: promise) { [self] channel, peer in
            let handler = YamuxConnectionHandler(role: inbound ? .server : .client, core: self)
            let connection = P2PConnection(
                id: makeID(), remotePeer: peer,
                remoteAddress: TCPTransport.multiaddr(channel.remoteAddress) ?? Multiaddr([]),
                localAddress: TCPTransport.multiaddr(channel.localAddress) ?? Multiaddr([]),
                isInbound: inbound, channel: channel, handler: handler)
            handler.connection = connection
            return (handler, connection)
        }
        try ConnectionSetup.install(on: channel, setup: setup, timeout: config.upgradeTimeout)
        return promise.futureResult
    }

    /// Adds an upgraded connection to the table (or refuses it over the per-peer limit).
    private func register(_ connection: P2PConnection) -> Bool {
        let accepted = state.withLockedValue { s -> Bool in
            guard !s.shutDown else { return false }
            let perPeer = s.connections.values.filter { $0.remotePeer == connection.remotePeer }.count
            guard perPeer < config.maxConnectionsPerPeer else { return false }
            s.connections[connection.id] = connection
            return true
        }
        guard accepted else {
            logger.info("refusing connection over the per-peer limit", metadata: ["peer": "\(connection.remotePeer)"])
            Task { await connection.close() }
            return false
        }
        connection.channel.closeFuture.whenComplete { [self] _ in
            let removed = state.withLockedValue { $0.connections.removeValue(forKey: connection.id) } != nil
            if removed {
                emit(.disconnected(connection.remotePeer, reason: connection.closeReason ?? "closed"))
            }
        }
        emit(.connected(connection))
        return true
    }

    // MARK: - Listening

    func listen(_ address: Multiaddr) async throws -> Multiaddr {
        guard case .socket(let socket) = try TCPTransport.target(for: address) else {
            throw P2PHostError.unsupportedAddress(address)
        }
        guard !state.withLockedValue({ $0.shutDown }) else { throw P2PHostError.shutDown }
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: TCPTransport.recvAllocator)
            .childChannelOption(.writeBufferWaterMark, value: TCPTransport.writeWaterMark)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try acceptInbound(channel) }
            }
        if TCPTransport.isIPv6(socket) {
            bootstrap = bootstrap.serverChannelOption(
                ChannelOptions.Types.SocketOption(level: .ipv6, name: .ipv6_v6only), value: 1)
        }
        let channel: Channel
        do { channel = try await bootstrap.bind(to: socket).get() } catch {
            throw P2PHostError.listenFailed(address, reason: "\(error)")
        }
        guard let bound = TCPTransport.multiaddr(channel.localAddress) else {
            try? await channel.close()
            throw P2PHostError.listenFailed(address, reason: "no local address")
        }
        let added = state.withLockedValue { s -> Bool in
            guard !s.shutDown else { return false }
            s.listeners.append(Listener(channel: channel, address: bound))
            return true
        }
        guard added else {
            try? await channel.close()
            throw P2PHostError.shutDown
        }
        logger.info("listening", metadata: ["address": "\(bound)"])
        return bound
    }

    private func acceptInbound(_ channel: Channel) throws {
        let admitted = state.withLockedValue { s -> Bool in
            guard !s.shutDown, s.connections.count + s.upgrading < config.maxConnections else { return false }
            s.upgrading += 1
            return true
        }
        guard admitted else {
            logger.info("refusing inbound connection: connection limit reached",
                        metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")"])
            channel.close(promise: nil)
            return
        }
        let upgraded = try configure(channel, inbound: true, expectedPeer: nil)
        upgraded.whenComplete { [self] result in
            state.withLockedValue { $0.upgrading -= 1 }
            if case .success(let connection) = result { _ = register(connection) }
        }
    }

    // MARK: - Dialling

    func liveConnections(to peer: PeerID) -> [P2PConnection] {
        state.withLockedValue { s in s.connections.values.filter { $0.remotePeer == peer } }
            .filter { !$0.isClosed && !$0.isGoingAway }
            .sorted { $0.id < $1.id }
    }

    func connect(_ address: Multiaddr, expectedPeer: PeerID?) async throws -> P2PConnection {
        let suffix = address.peerID
        if let expectedPeer, let suffix, expectedPeer != suffix {
            throw P2PHostError.peerIDMismatch(expected: expectedPeer, actual: suffix)
        }
        let target = expectedPeer ?? suffix
        if target == peerID { throw P2PHostError.dialFailed(address, reason: "that is this node's own peer ID") }
        let endpoint = try TCPTransport.target(for: address)
        if let target, let live = liveConnections(to: target).first { return live }

        enum Plan { case wait(EventLoopFuture<P2PConnection>), dial(EventLoopPromise<P2PConnection>?) }
        let plan: Plan = try state.withLockedValue { s in
            guard !s.shutDown else { throw P2PHostError.shutDown }
            if let target, let inFlight = s.dialsInProgress[target] { return .wait(inFlight) }
            guard s.pendingDials < config.maxPendingDials else { throw P2PHostError.limitReached("pending dials") }
            guard s.connections.count + s.upgrading < config.maxConnections else {
                throw P2PHostError.limitReached("connections")
            }
            s.pendingDials += 1
            s.upgrading += 1
            var promise: EventLoopPromise<P2PConnection>?
            if let target {
                let p = group.next().makePromise(of: P2PConnection.self)
                s.dialsInProgress[target] = p.futureResult
                promise = p
            }
            return .dial(promise)
        }
        switch plan {
        case .wait(let future):
            return try await future.get()
        case .dial(let shared):
            do {
                let connection = try await dial(address, endpoint, expectedPeer: target)
                finishDial(target: target)
                guard register(connection) else {
                    throw P2PHostError.limitReached("connections to \(connection.remotePeer)")
                }
                shared?.succeed(connection)
                return connection
            } catch {
                finishDial(target: target)
                shared?.fail(error)
                throw error
            }
        }
    }

    private func finishDial(target: PeerID?) {
        state.withLockedValue { s in
            s.pendingDials -= 1
            s.upgrading -= 1
            if let target { s.dialsInProgress[target] = nil }
        }
    }

    private func dial(_ address: Multiaddr, _ endpoint: TCPTransport.Target, expectedPeer: PeerID?) async throws -> P2PConnection {
        let upgrade = NIOLockedValueBox<EventLoopFuture<P2PConnection>?>(nil)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(config.dialTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: TCPTransport.recvAllocator)
            .channelOption(.writeBufferWaterMark, value: TCPTransport.writeWaterMark)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let future = try configure(channel, inbound: false, expectedPeer: expectedPeer)
                    upgrade.withLockedValue { $0 = future }
                }
            }
        let channel: Channel
        do {
            switch endpoint {
            case .socket(let socket): channel = try await bootstrap.connect(to: socket).get()
            case .host(let host, let port): channel = try await bootstrap.connect(host: host, port: port).get()
            }
        } catch ChannelError.connectTimeout {
            throw P2PHostError.timeout
        } catch {
            throw P2PHostError.dialFailed(address, reason: "\(error)")
        }
        guard let future = upgrade.withLockedValue({ $0 }) else {
            channel.close(promise: nil)
            throw P2PHostError.dialFailed(address, reason: "the connection pipeline was not set up")
        }
        return try await future.get()
    }

    // MARK: - Streams

    func newStream(on connection: P2PConnection, protocols: [String]) async throws -> P2PStream {
        precondition(!protocols.isEmpty, "newStream needs at least one protocol")
        let loop = connection.eventLoop
        let promise = loop.makePromise(of: (YamuxStreamID, String).self)
        let handler = connection.handler
        loop.execute { handler.value.openStream(protocols: protocols, promise: promise) }
        let (id, selected) = try await promise.futureResult.get()
        return P2PStream(protocolID: selected, id: id, connection: connection)
    }

    func newStream(to peer: PeerID, protocols: [String]) async throws -> P2PStream {
        if let live = liveConnections(to: peer).first {
            return try await newStream(on: live, protocols: protocols)
        }
        let addresses = state.withLockedValue { $0.peerStore[peer] ?? [] }
        guard !addresses.isEmpty else { throw P2PHostError.noAddresses(peer) }
        var lastError: Error = P2PHostError.noAddresses(peer)
        for address in addresses {
            do {
                let connection = try await connect(address, expectedPeer: peer)
                return try await newStream(on: connection, protocols: protocols)
            } catch let error as P2PHostError {
                if case .protocolNotSupported = error { throw error }
                lastError = error
            }
        }
        throw lastError
    }

    func addAddresses(_ addrs: [Multiaddr], for peer: PeerID) {
        let usable = addrs.map(\.withoutTrailingPeerID).filter { (try? TCPTransport.target(for: $0)) != nil }
        guard !usable.isEmpty else { return }
        state.withLockedValue { s in
            if s.peerStore[peer] == nil, s.peerStore.count >= config.maxPeersInStore,
               let victim = s.peerStore.keys.first {
                s.peerStore[victim] = nil
            }
            var known = s.peerStore[peer] ?? []
            for a in usable {
                known.removeAll { $0 == a }
                known.insert(a, at: 0)
            }
            s.peerStore[peer] = Array(known.prefix(config.maxAddressesPerPeer))
        }
    }

    // MARK: - Shutdown

    func shutdown() async {
        let (listeners, connections, subscribers) = state.withLockedValue { s in
            s.shutDown = true
            let result = (s.listeners, Array(s.connections.values), Array(s.subscribers.values))
            s.listeners.removeAll()
            return result
        }
        for l in listeners { try? await l.channel.close() }
        await withTaskGroup(of: Void.self) { group in
            for c in connections { group.addTask { await c.close() } }
        }
        // Let the close callbacks emit their `.disconnected` events before finishing.
        for c in connections { try? await c.channel.closeFuture.get() }
        state.withLockedValue { $0.subscribers.removeAll() }
        for s in subscribers { s.finish() }
        logger.info("host shut down", metadata: ["peer": "\(peerID)"])
    }
}
