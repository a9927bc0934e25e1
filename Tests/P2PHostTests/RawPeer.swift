// A hand-driven TCP client for feeding a host malformed input: it speaks as much of the
// upgrade as a test needs (multistream, Noise, multistream, Yamux frames) using the pure
// machines directly, then sends whatever bytes the test wants.

import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import P2PCore
import P2PHost
import P2PMultistream
import P2PNoise
import P2PYamux
import XCTest

final class RawPeer: @unchecked Sendable {
    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received = NIOLockedValueBox(ByteBuffer())
        let closed = NIOLockedValueBox(false)

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.withLockedValue { _ = $0.writeBuffer(&bytes) }
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.withLockedValue { $0 = true }
        }
    }

    let channel: Channel
    private let collector: Collector
    private var transport: NoiseTransport?
    /// Bytes at the current layer: raw before `secure()`, decrypted after.
    private var inbox = ByteBuffer()
    private var ciphertext = ByteBuffer()
    let identity = P2PPrivateKey()

    private init(channel: Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(to address: Multiaddr) async throws -> RawPeer {
        guard case .tcp(let port) = address.components[1], case .ip4(let ip) = address.components[0] else {
            throw P2PHostError.unsupportedAddress(address)
        }
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: ip.description, port: Int(port)).get()
        return RawPeer(channel: channel, collector: collector)
    }

    var isClosed: Bool { collector.closed.withLockedValue { $0 } }

    func sendRaw(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func sendRaw(_ buffer: ByteBuffer) async throws {
        try await channel.writeAndFlush(buffer)
    }

    /// Sends at the current layer (encrypted once secured).
    func send(_ plain: ByteBuffer) async throws {
        guard transport != nil else { return try await sendRaw(plain) }
        var out = ByteBuffer()
        try transport!.seal(plain, into: &out)
        try await channel.writeAndFlush(out)
    }

    /// Waits until the host closes the connection.
    func waitClosed(timeout: Duration = .seconds(10)) async -> Bool {
        await eventually(timeout) { self.isClosed }
    }

    /// Moves what arrived into `inbox` (decrypting once secured).
    private func pump() throws {
        var fresh = collector.received.withLockedValue { buffer -> ByteBuffer in
            defer { buffer.clear() }
            return buffer
        }
        guard transport != nil else {
            inbox.writeBuffer(&fresh)
            return
        }
        ciphertext.writeBuffer(&fresh)
        while var plain = try transport!.open(&ciphertext) { inbox.writeBuffer(&plain) }
        ciphertext.discardReadBytes()
    }

    /// Runs a multistream dialer for `protocolID` (over Noise once secured).
    func negotiate(_ protocolID: String) async throws {
        var dialer = MultistreamDialer(protocols: [protocolID])
        try await send(dialer.start())
        for _ in 0..<2000 {
            try pump()
            for action in try dialer.process(&inbox) {
                if case .selected = action { return }
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTFail("negotiation of \(protocolID) did not finish")
    }

    /// multistream /noise and the Noise XX handshake as initiator.
    func secure() async throws {
        try await negotiate(Noise.protocolID)
        var handshake = NoiseHandshake(role: .initiator, identity: identity)
        try await sendRaw(try handshake.start()!)
        for _ in 0..<2000 {
            try pump()
            for action in try handshake.process(&inbox) {
                switch action {
                case .send(let bytes): try await sendRaw(bytes)
                case .established(let result):
                    transport = result.transport
                    ciphertext = inbox
                    inbox = ByteBuffer()
                    try pump()
                    return
                }
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTFail("Noise handshake did not finish")
    }

    /// Secure channel plus the Yamux negotiation: afterwards send raw Yamux frames.
    func upgradeToYamux() async throws {
        try await secure()
        try await negotiate("/yamux/1.0.0")
    }

    static func yamuxFrame(type: UInt8, flags: UInt16, stream: UInt32, length: UInt32, payload: [UInt8] = []) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(UInt8(0), type, flags, stream, length)
        buffer.writeBytes(payload)
        return buffer
    }

    func close() async {
        try? await channel.close()
    }
}
