// The connection upgrade pipeline, as NIO handlers around the pure machines:
//
//   raw TCP ─ multistream-select (/noise) ─ Noise XX handshake ─ [NoiseTransportHandler]
//           ─ multistream-select (/yamux/1.0.0) ─ [YamuxConnectionHandler]
//
// Each negotiation handler removes itself when done and hands the bytes the peer pipelined
// behind the negotiation to the next stage. The dialer is the Noise initiator and the Yamux
// client; the listener sends its multistream header at once (py-libp2p dialers wait for it).
// Any failure closes the connection with a logged reason and fails the upgrade promise.

import Logging
import NIOCore
import P2PCore
import P2PMultistream
import P2PNoise
import P2PYamux

/// Facts about one connection shared by its pipeline's handlers (event loop only).
final class ConnectionSetup {
    let isInbound: Bool
    let identity: P2PPrivateKey
    let expectedPeer: PeerID?
    let logger: Logger
    let upgraded: EventLoopPromise<P2PConnection>
    /// Builds the Yamux handler and the public connection once the peer is known.
    let makeMuxer: (Channel, PeerID) -> (YamuxConnectionHandler, P2PConnection)
    private(set) var finished = false
    var remotePeer: PeerID?
    var timeoutTask: Scheduled<Void>?

    init(isInbound: Bool, identity: P2PPrivateKey, expectedPeer: PeerID?, logger: Logger,
         upgraded: EventLoopPromise<P2PConnection>,
         makeMuxer: @escaping (Channel, PeerID) -> (YamuxConnectionHandler, P2PConnection)) {
        self.isInbound = isInbound
        self.identity = identity
        self.expectedPeer = expectedPeer
        self.logger = logger
        self.upgraded = upgraded
        self.makeMuxer = makeMuxer
    }

    /// The upgrade failed: log, fail the promise, close the connection.
    func fail(_ error: P2PHostError, reason: String, channel: Channel) {
        guard !finished else { return }
        finished = true
        timeoutTask?.cancel()
        logger.info("connection upgrade failed", metadata: [
            "remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason)"])
        upgraded.fail(error)
        channel.close(promise: nil)
    }

    func succeed(_ connection: P2PConnection) {
        guard !finished else { return }
        finished = true
        timeoutTask?.cancel()
        upgraded.succeed(connection)
    }

    /// Installs the first stage and arms the upgrade timeout.
    static func install(on channel: Channel, setup: ConnectionSetup, timeout: TimeAmount) throws {
        let first = MultistreamNegotiationHandler(setup: setup, protocols: [Noise.protocolID]) { context, _, setup in
            try context.pipeline.syncOperations.addHandler(NoiseHandshakeHandler(setup: setup),
                                                           position: .after(context.handler))
        }
        try channel.pipeline.syncOperations.addHandler(first)
        setup.timeoutTask = channel.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            setup.fail(.timeout, reason: "upgrade timed out", channel: channel)
        }
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            setup.fail(.connectionClosed("closed during the upgrade"), reason: "closed during the upgrade",
                       channel: channel)
        }
    }
}

/// Runs one multistream-select negotiation on the connection (dialer or listener side),
/// then installs the next stage, forwards pipelined bytes to it and leaves the pipeline.
final class MultistreamNegotiationHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bytes buffered before a protocol is selected (messages are ≤ 1024 bytes each; this
    /// only bounds a peer that pipelines a lot behind an unanswered proposal).
    static let maxBuffered = 1024 * 1024

    private enum Machine {
        case dialer(MultistreamDialer)
        case listener(MultistreamListener)
    }

    private let setup: ConnectionSetup
    private let protocols: [String]
    private var machine: Machine
    private var buffer: ByteBuffer?
    private var started = false
    private var done = false
    private let next: (ChannelHandlerContext, String, ConnectionSetup) throws -> Void

    init(setup: ConnectionSetup, protocols: [String],
         next: @escaping (ChannelHandlerContext, String, ConnectionSetup) throws -> Void) {
        self.setup = setup
        self.protocols = protocols
        self.next = next
        machine = setup.isInbound ? .listener(MultistreamListener(protocols: Set(protocols)))
                                  : .dialer(MultistreamDialer(protocols: protocols))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        let first: ByteBuffer
        switch machine {
        case .dialer(var m): first = m.start(); machine = .dialer(m)
        case .listener(var m): first = m.start(); machine = .listener(m)
        }
        context.writeAndFlush(wrapOutboundOut(first), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return context.fireChannelRead(data) }
        var input = unwrapInboundIn(data)
        if buffer == nil { buffer = input } else { buffer!.writeBuffer(&input) }
        guard buffer!.readableBytes <= Self.maxBuffered else {
            return fail(context, "too many bytes before the multistream negotiation finished")
        }
        do {
            let actions: [MultistreamAction]
            switch machine {
            case .dialer(var m): actions = try m.process(&buffer!); machine = .dialer(m)
            case .listener(var m): actions = try m.process(&buffer!); machine = .listener(m)
            }
            var wrote = false
            for action in actions {
                switch action {
                case .send(let bytes):
                    context.write(wrapOutboundOut(bytes), promise: nil)
                    wrote = true
                case .selected(let id):
                    if wrote { context.flush() }
                    return try selected(context, id)
                case .listed:
                    break
                }
            }
            if wrote { context.flush() }
        } catch let error as MultistreamError {
            if case .noProtocolAgreed = error {
                setup.fail(.protocolNotSupported(protocols), reason: error.message, channel: context.channel)
            } else {
                fail(context, "multistream: \(error.message)")
            }
        } catch {
            fail(context, "\(error)")
        }
    }

    private func selected(_ context: ChannelHandlerContext, _ id: String) throws {
        done = true
        try next(context, id, setup)
        let rest = buffer
        buffer = nil
        if let rest, rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ reason: String) {
        done = true
        buffer = nil
        setup.fail(.dialFailed(TCPTransport.multiaddr(context.channel.remoteAddress) ?? Multiaddr([]), reason: reason),
                   reason: reason, channel: context.channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(context, (error as? NoiseTransportError)?.reason ?? "\(error)")
    }
}

/// The Noise XX handshake; on success installs the transport handler and the second
/// multistream negotiation (for Yamux) behind it.
final class NoiseHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Three handshake messages of at most 65537 framed bytes each.
    static let maxBuffered = 3 * (2 + Noise.maxMessageLength)

    private let setup: ConnectionSetup
    private var handshake: NoiseHandshake
    private var buffer: ByteBuffer?
    private var done = false

    init(setup: ConnectionSetup) {
        self.setup = setup
        // No stream muxers in the extensions: go-libp2p would then skip the multistream
        // negotiation of the muxer, which py-libp2p and this host expect.
        handshake = NoiseHandshake(role: setup.isInbound ? .responder : .initiator,
                                   identity: setup.identity, expectedPeer: setup.expectedPeer)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        do {
            if let first = try handshake.start() { context.writeAndFlush(wrapOutboundOut(first), promise: nil) }
        } catch {
            fail(context, error)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return context.fireChannelRead(data) }
        var input = unwrapInboundIn(data)
        if buffer == nil { buffer = input } else { buffer!.writeBuffer(&input) }
        guard buffer!.readableBytes <= Self.maxBuffered else {
            return fail(context, NoiseError.badMessageLength(message: 0, length: buffer!.readableBytes))
        }
        do {
            for action in try handshake.process(&buffer!) {
                switch action {
                case .send(let bytes):
                    context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
                case .established(let result):
                    try established(context, result)
                    return
                }
            }
        } catch {
            fail(context, error)
        }
    }

    private func established(_ context: ChannelHandlerContext, _ result: NoiseHandshakeResult) throws {
        done = true
        setup.remotePeer = result.remotePeer
        let transport = NoiseTransportHandler(transport: result.transport, logger: setup.logger)
        let negotiation = MultistreamNegotiationHandler(setup: setup, protocols: [YamuxConnectionHandler.protocolID]) {
            context, _, setup in
            let (muxer, connection) = setup.makeMuxer(context.channel, result.remotePeer)
            try context.pipeline.syncOperations.addHandler(muxer, position: .after(context.handler))
            setup.succeed(connection)
        }
        let ops = context.pipeline.syncOperations
        try ops.addHandler(transport, position: .after(context.handler))
        try ops.addHandler(negotiation, position: .after(transport))
        let rest = buffer
        buffer = nil
        if let rest, rest.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(rest)) }
        ops.removeHandler(context: context, promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: Error) {
        done = true
        buffer = nil
        let remote = TCPTransport.multiaddr(context.channel.remoteAddress) ?? Multiaddr([])
        if let noise = error as? NoiseError {
            if case .peerIDMismatch(let expected, let actual) = noise {
                setup.fail(.peerIDMismatch(expected: expected, actual: actual), reason: noise.message,
                           channel: context.channel)
            } else {
                setup.fail(.dialFailed(remote, reason: noise.message), reason: "noise: \(noise.message)",
                           channel: context.channel)
            }
        } else {
            setup.fail(.dialFailed(remote, reason: "\(error)"), reason: "noise: \(error)", channel: context.channel)
        }
    }
}
