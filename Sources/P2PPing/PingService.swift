// Ping on a P2PHost: the echo server and the measuring client.

import GigiBase
import NIOCore
import P2PCore
import P2PHost

/// Serves `/ipfs/ping/1.0.0` on a host and pings peers.
///
/// `C` measures round trips and times out waiting; tests inject their own clock.
public actor PingService<C: Clock> where C.Duration == Duration {
    public nonisolated let host: P2PHost
    let clock: C
    let randomBytes: @Sendable (Int) -> [UInt8]
    private var inbound = ConcurrencyLimits<PeerID>(perKey: Ping.maxInboundStreamsPerPeer)
    private var outbound = Set<PeerID>()

    /// - Parameters:
    ///   - clock: measures RTTs and runs the timeouts.
    ///   - randomBytes: the source of ping payloads (`Ping.payloadSize` bytes each).
    public init(host: P2PHost, clock: C, randomBytes: @escaping @Sendable (Int) -> [UInt8] = PingSupport.randomBytes) {
        self.host = host
        self.clock = clock
        self.randomBytes = randomBytes
    }

    /// Registers the `/ipfs/ping/1.0.0` handler on the host.
    public func start() async {
        await host.setHandler(Ping.protocolID) { stream in await self.serve(stream) }
    }

    /// Echoes 32-byte payloads until the peer half-closes, then half-closes too.
    /// A peer already holding `Ping.maxInboundStreamsPerPeer` ping streams has the new one reset.
    func serve(_ stream: P2PStream) async {
        let peer = stream.remotePeer
        guard inbound.acquire(peer) else { return await stream.reset() }
        defer { inbound.release(peer) }
        do {
            while let payload = try await PingSupport.readPayload(stream) {
                try await stream.write(payload)
            }
            try await stream.closeWrite()
        } catch {
            await stream.reset()
        }
    }

    /// Sends `count` pings to `peer` on one stream (over an existing or new connection).
    /// - Returns: the round-trip times, in order.
    /// - Throws: `PingError`, or the host's error if no stream could be opened;
    ///   `.timeout` if the pings take longer than `timeout` in all (opening the
    ///   stream is bounded by the host, not by `timeout`).
    public func ping(peer: PeerID, count: Int = 1, timeout: Duration = .seconds(20)) async throws -> [Duration] {
        try await run(peer: peer, count: count, timeout: timeout) {
            try await self.host.newStream(to: peer, protocols: [Ping.protocolID])
        }
    }

    /// Sends `count` pings on a stream of `connection`.
    public func ping(connection: P2PConnection, count: Int = 1, timeout: Duration = .seconds(20)) async throws -> [Duration] {
        try await run(peer: connection.remotePeer, count: count, timeout: timeout) {
            try await self.host.newStream(on: connection, protocols: [Ping.protocolID])
        }
    }

    private func run(peer: PeerID, count: Int, timeout: Duration,
                     open: @Sendable () async throws -> P2PStream) async throws -> [Duration] {
        guard (1...Ping.maxCount).contains(count) else { throw PingError.invalidCount(count) }
        // Spec: at most one outbound ping stream per peer.
        guard outbound.insert(peer).inserted else { throw PingError.alreadyPinging(peer) }
        defer { outbound.remove(peer) }
        let stream = try await open()
        let clock = self.clock
        let randomBytes = self.randomBytes
        do {
            return try await withDeadline(after: timeout, clock: clock, onTimeout: { await stream.reset() },
                                          timeoutError: { PingError.timeout(timeout) }) {
                var rtts: [Duration] = []
                for _ in 0..<count {
                    let payload = randomBytes(Ping.payloadSize)
                    precondition(payload.count == Ping.payloadSize, "randomBytes returned \(payload.count) bytes")
                    let start = clock.now
                    try await stream.write(payload)
                    guard let echo = try await PingSupport.readPayload(stream) else { throw PingError.closed }
                    let rtt = start.duration(to: clock.now)
                    guard echo == payload else { throw PingError.mismatch }
                    rtts.append(rtt)
                }
                try await stream.closeWrite()
                return rtts
            }
        } catch {
            await stream.reset()
            throw error
        }
    }
}

extension PingService where C == ContinuousClock {
    /// A ping service measuring with the continuous (monotonic) clock.
    public init(host: P2PHost) {
        self.init(host: host, clock: ContinuousClock())
    }
}

/// Helpers shared by the server and the client.
public enum PingSupport {
    /// Random payload bytes from the system generator (getrandom on Linux).
    @Sendable public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Reads one 32-byte payload; nil on a clean EOF before its first byte.
    /// - Throws: `PingError.closed` on EOF inside a payload.
    static func readPayload(_ stream: P2PStream) async throws -> [UInt8]? {
        var payload: [UInt8] = []
        payload.reserveCapacity(Ping.payloadSize)
        while payload.count < Ping.payloadSize {
            guard var chunk = try await stream.read(upTo: Ping.payloadSize - payload.count) else {
                if payload.isEmpty { return nil }
                throw PingError.closed
            }
            payload += chunk.readBytes(length: chunk.readableBytes) ?? []
        }
        return payload
    }
}
