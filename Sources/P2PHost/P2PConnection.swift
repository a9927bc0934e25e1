// A live, upgraded (Noise + Yamux) connection to one peer.

import NIOConcurrencyHelpers
import NIOCore
import P2PCore
import P2PYamux

/// A secured, multiplexed connection. Streams are opened with `P2PHost.newStream(on:protocols:)`.
public final class P2PConnection: Sendable, Hashable, CustomStringConvertible {
    /// Unique within the process.
    public let id: UInt64
    /// The authenticated peer (Noise).
    public let remotePeer: PeerID
    /// The peer's identity key, as proven in the Noise handshake.
    public let remotePublicKey: P2PPublicKey
    /// The peer's address as this connection sees it (no /p2p).
    public let remoteAddress: Multiaddr
    /// Our end of the connection (no /p2p).
    public let localAddress: Multiaddr
    /// The peer dialled us.
    public let isInbound: Bool

    let channel: Channel
    let handler: NIOLoopBound<YamuxConnectionHandler>
    private let state = NIOLockedValueBox(State())

    private struct State {
        var closeReason: String?
        var goingAway = false
    }

    init(id: UInt64, remoteKey: P2PPublicKey, remoteAddress: Multiaddr, localAddress: Multiaddr, isInbound: Bool,
         channel: Channel, handler: YamuxConnectionHandler) {
        self.id = id
        self.remotePeer = remoteKey.peerID
        self.remotePublicKey = remoteKey
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
        self.isInbound = isInbound
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    public var eventLoop: EventLoop { channel.eventLoop }

    /// True once the connection is closed or closing.
    public var isClosed: Bool { state.withLockedValue { $0.closeReason != nil } || !channel.isActive }

    /// True once either side sent GO_AWAY: no new streams on this connection.
    public var isGoingAway: Bool { state.withLockedValue { $0.goingAway } }

    /// Why the connection closed (nil while open).
    public var closeReason: String? { state.withLockedValue { $0.closeReason } }

    /// Closes gracefully: GO_AWAY, then the socket. Streams fail with `connectionClosed`.
    public func close() async {
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.close(reason: "closed locally", goAway: .normal)
        }
        try? await channel.closeFuture.get()
    }

    /// Waits until the connection is closed and returns the reason.
    public func waitUntilClosed() async -> String {
        try? await channel.closeFuture.get()
        return closeReason ?? "closed"
    }

    /// Streams currently tracked on this connection.
    public func streamCount() async -> Int {
        let handler = self.handler
        return (try? await channel.eventLoop.submit { handler.value.streamCount }.get()) ?? 0
    }

    /// Inbound bytes buffered for this connection's readers (bounded by the receive windows).
    public func bufferedInboundBytes() async -> Int {
        let handler = self.handler
        return (try? await channel.eventLoop.submit { handler.value.bufferedInboundBytes }.get()) ?? 0
    }

    /// The last measured round-trip time (Yamux PING), if any.
    public func roundTripTime() async -> TimeAmount? {
        let handler = self.handler
        return try? await channel.eventLoop.submit { handler.value.rtt }.get()
    }

    func setCloseReason(_ reason: String) {
        state.withLockedValue { if $0.closeReason == nil { $0.closeReason = reason } }
    }

    func markGoingAway() {
        state.withLockedValue { $0.goingAway = true }
    }

    public static func == (lhs: P2PConnection, rhs: P2PConnection) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    public var description: String {
        "connection #\(id) \(isInbound ? "from" : "to") \(remotePeer) at \(remoteAddress)"
    }
}
