// Identify on a P2PHost: answering, asking, pushes, and the table of results.

import GigiBase
import NIOCore
import P2PCore
import P2PHost

/// Settings of an `IdentifyService`.
public struct IdentifyConfig: Sendable {
    /// Our `agentVersion`; nil: the host's `config.agentVersion`.
    public var agentVersion: String?
    /// Our `protocolVersion`.
    public var protocolVersion: String
    /// Peers whose identify results are kept; the least recently updated go first.
    public var maxStoredPeers: Int
    /// Longest wait for a peer's identify answer (or for a push to be read).
    public var timeout: Duration
    /// Identify every new connection (inbound and outbound) automatically.
    public var identifyOnConnect: Bool

    public init(agentVersion: String? = nil, protocolVersion: String = Identify.protocolVersion,
                maxStoredPeers: Int = 256, timeout: Duration = .seconds(15), identifyOnConnect: Bool = true) {
        self.agentVersion = agentVersion
        self.protocolVersion = protocolVersion
        self.maxStoredPeers = maxStoredPeers
        self.timeout = timeout
        self.identifyOnConnect = identifyOnConnect
    }
}

/// A change in what is known about a peer.
public struct IdentifyUpdate: Sendable {
    public enum Source: Sendable {
        /// We asked (`/ipfs/id/1.0.0`).
        case identify
        /// The peer pushed (`/ipfs/id/push/1.0.0`); `info` is the merged result.
        case push
    }

    public let peer: PeerID
    public let info: IdentifyInfo
    public let source: Source
}

/// Serves identify and identify-push on a host, identifies new connections,
/// and remembers (bounded) what each peer said.
public actor IdentifyService {
    public nonisolated let host: P2PHost
    public nonisolated let config: IdentifyConfig
    /// Every stored result, as it is stored. Slow consumers lose the oldest updates (64 are buffered).
    public nonisolated let updates: AsyncStream<IdentifyUpdate>
    private let updatesContinuation: AsyncStream<IdentifyUpdate>.Continuation
    private var table = BoundedTable<PeerID, IdentifyInfo>(capacity: 1)
    private var eventsTask: Task<Void, Never>?
    private var pushes = ConcurrencyLimits<PeerID>(perKey: Identify.maxConcurrentPushesPerPeer,
                                                   total: Identify.maxConcurrentPushes)

    public init(host: P2PHost, config: IdentifyConfig = .init()) {
        self.host = host
        self.config = config
        table = BoundedTable(capacity: max(1, config.maxStoredPeers))
        (updates, updatesContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(64))
    }

    /// Registers the identify and push handlers and, if configured, starts
    /// identifying every new connection.
    public func start() async {
        await host.setHandler(Identify.protocolID) { stream in await self.answer(stream) }
        await host.setHandler(Identify.pushProtocolID) { stream in await self.receivePush(stream) }
        if config.identifyOnConnect, eventsTask == nil {
            let events = host.events
            eventsTask = Task { [weak self] in
                await withDiscardingTaskGroup { group in
                    for await event in events {
                        guard case .connected(let connection) = event else { continue }
                        group.addTask { _ = try? await self?.identify(connection) }
                    }
                }
            }
        }
    }

    /// Stops identifying new connections and ends `updates` (for good: a later
    /// `start` serves and identifies again, but `updates` stays finished). The
    /// handlers stay registered until the host shuts down.
    public func stop() {
        eventsTask?.cancel()
        eventsTask = nil
        updatesContinuation.finish()
    }

    /// What `peer` last said about itself (identify merged with later pushes), if known.
    /// Kept after the peer disconnects, until `maxStoredPeers` newer results push it out.
    public func info(for peer: PeerID) -> IdentifyInfo? {
        table[peer]
    }

    /// Push streams from `peer` being read now.
    func pushesInProgress(from peer: PeerID) -> Int { pushes.active[peer] ?? 0 }

    /// Peers with a stored result.
    public var knownPeers: [PeerID] { table.keys }

    /// Asks the peer of `connection` who it is, stores and returns the answer.
    /// - Throws: `IdentifyError` (`.timeout` after `config.timeout`), or the host's error if no stream opens.
    @discardableResult
    public func identify(_ connection: P2PConnection) async throws -> IdentifyInfo {
        let stream = try await host.newStream(on: connection, protocols: [Identify.protocolID])
        let bytes = try await readToEnd(stream)
        let info = try IdentifyInfo(streamBytes: bytes)
        try info.validate(for: connection.remotePeer)
        store(info, for: connection.remotePeer, source: .identify)
        return info
    }

    /// Pushes our current identify message to the peer of `connection`.
    public func push(to connection: P2PConnection) async throws {
        let stream = try await host.newStream(on: connection, protocols: [Identify.pushProtocolID])
        do {
            try await stream.write(await localInfo(observed: connection.remoteAddress).framed())
            try await stream.closeWrite()
        } catch {
            await stream.reset()
            throw error
        }
    }

    /// Our identify message, as sent to a peer at `observed`.
    public func localInfo(observed: Multiaddr?) async -> IdentifyInfo {
        IdentifyInfo(protocolVersion: config.protocolVersion, agentVersion: config.agentVersion ?? host.config.agentVersion,
                     publicKey: host.peerID.inlinedPublicKey,
                     listenAddrs: await host.listenAddresses(), observedAddr: observed,
                     protocols: await host.protocols())
    }

    func answer(_ stream: P2PStream) async {
        do {
            try await stream.write(await localInfo(observed: stream.connection.remoteAddress).framed())
            try await stream.closeWrite()
        } catch {
            await stream.reset()
        }
    }

    func receivePush(_ stream: P2PStream) async {
        let peer = stream.remotePeer
        guard pushes.acquire(peer) else { return await stream.reset() }
        defer { pushes.release(peer) }
        do {
            let push = try IdentifyInfo(streamBytes: try await readToEnd(stream))
            try push.validate(for: stream.remotePeer)
            let merged = (table[stream.remotePeer] ?? IdentifyInfo()).merging(push: push)
            store(merged, for: stream.remotePeer, source: .push)
        } catch {
            await stream.reset()
        }
    }

    private func store(_ info: IdentifyInfo, for peer: PeerID, source: IdentifyUpdate.Source) {
        table[peer] = info
        updatesContinuation.yield(IdentifyUpdate(peer: peer, info: info, source: source))
    }

    /// Everything the peer writes until it closes, at most `Identify.maxMessageSize`
    /// (plus frame prefixes), within `config.timeout`.
    private func readToEnd(_ stream: P2PStream) async throws -> [UInt8] {
        let limit = Identify.maxMessageSize + Identify.maxFrames * Varint.maxBytes
        let timeout = config.timeout
        do {
            return try await withDeadline(after: timeout, clock: ContinuousClock(), onTimeout: { await stream.reset() },
                                          timeoutError: { IdentifyError.timeout(timeout) }) {
                var bytes: [UInt8] = []
                while var chunk = try await stream.read(upTo: limit + 1 - bytes.count) {
                    bytes += chunk.readBytes(length: chunk.readableBytes) ?? []
                    guard bytes.count <= limit else { throw IdentifyError.messageTooLarge(limit: Identify.maxMessageSize) }
                }
                return bytes
            }
        } catch {
            await stream.reset()
            throw error
        }
    }
}

/// A dictionary that keeps at most `capacity` entries, dropping the least recently set.
struct BoundedTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    let capacity: Int
    private var values: [Key: Value] = [:]
    private var order: [Key] = []

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    var keys: [Key] { order }
    var count: Int { values.count }

    subscript(key: Key) -> Value? {
        get { values[key] }
        set {
            if let index = order.firstIndex(of: key) { order.remove(at: index) }
            guard let newValue else { values[key] = nil; return }
            values[key] = newValue
            order.append(key)
            if order.count > capacity { values[order.removeFirst()] = nil }
        }
    }
}
