// The Noise transport as a NIO duplex handler: ciphertext frames below, plaintext above.

import Logging
import NIOCore
import P2PNoise

/// Decrypts inbound Noise frames and encrypts outbound plaintext, without copies besides
/// the cipher's own pass:
/// - inbound, every whole frame of a read is decrypted out of place into one plaintext
///   buffer that goes up as one read (the read buffer itself is never written, so NIO's
///   reference to it costs no copy, and Yamux sees its payloads as long contiguous slices);
/// - outbound, writes are gathered until `flush` and encrypted straight from their buffers
///   into frames of the largest size (65519 plaintext bytes): a burst of Yamux headers and
///   payload slices costs few AEAD calls and one socket write.
final class NoiseTransportHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var transport: NoiseTransport
    private let logger: Logger
    /// An inbound frame cut by a read boundary (allocated for its full length).
    private var partial: ByteBuffer?
    /// Plaintext written since the last flush, and the promises to complete with it.
    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private var promises: [EventLoopPromise<Void>] = []
    private var failed = false

    init(transport: NoiseTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var input = unwrapInboundIn(data)
        var plain = context.channel.allocator.buffer(capacity: input.readableBytes + (partial?.readableBytes ?? 0))
        do {
            if partial != nil {
                guard try completePartial(&input, into: &plain) else { return }
            }
            while try transport.open(&input, appendingTo: &plain) {}
            if input.readableBytes > 0 { keepPartial(&input) }
        } catch {
            failed = true
            let reason = (error as? NoiseError)?.message ?? "\(error)"
            logger.info("closing connection", metadata: ["reason": "noise: \(reason)"])
            context.fireErrorCaught(NoiseTransportError(reason: "noise: \(reason)"))
            context.close(promise: nil)
            return
        }
        if plain.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(plain)) }
    }

    /// Tops up the carried-over frame from `input`; true once it was decrypted into `plain`.
    private func completePartial(_ input: inout ByteBuffer, into plain: inout ByteBuffer) throws -> Bool {
        if partial!.readableBytes < 2 {
            var byte = input.readSlice(length: min(2 - partial!.readableBytes, input.readableBytes))!
            partial!.writeBuffer(&byte)
            guard partial!.readableBytes == 2 else { return false }
        }
        let frameLength = 2 + Int(partial!.getInteger(at: partial!.readerIndex, as: UInt16.self)!)
        let need = frameLength - partial!.readableBytes
        var piece = input.readSlice(length: min(need, input.readableBytes))!
        partial!.writeBuffer(&piece)
        guard partial!.readableBytes == frameLength else { return false }
        var frame = partial!
        partial = nil
        _ = try transport.open(&frame, appendingTo: &plain)
        return true
    }

    private func keepPartial(_ input: inout ByteBuffer) {
        var capacity = 2 + Noise.maxMessageLength
        if let length = input.getInteger(at: input.readerIndex, as: UInt16.self) { capacity = 2 + Int(length) }
        var carried = ByteBuffer()
        carried.reserveCapacity(capacity)
        carried.writeBuffer(&input)
        partial = carried
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        pendingBytes += buffer.readableBytes
        pending.append(buffer)
        if let promise { promises.append(promise) }
    }

    func flush(context: ChannelHandlerContext) {
        guard !pending.isEmpty else { return context.flush() }
        let frames = (pendingBytes + Noise.maxPlaintextLength - 1) / Noise.maxPlaintextLength
        var out = context.channel.allocator.buffer(capacity: pendingBytes + frames * (2 + Noise.tagLength))
        let pieces = pending
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
        let done = promises
        promises.removeAll(keepingCapacity: true)
        do {
            try transport.seal(pieces: pieces, into: &out)
        } catch {
            failed = true
            done.forEach { $0.fail(error) }
            context.fireErrorCaught(NoiseTransportError(reason: "noise: \(error)"))
            context.close(promise: nil)
            return
        }
        if done.isEmpty {
            context.write(wrapOutboundOut(out), promise: nil)
        } else {
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.write(wrapOutboundOut(out), promise: promise)
            promise.futureResult.whenComplete { result in done.forEach { $0.completeWith(result) } }
        }
        context.flush()
    }
}

/// A fatal Noise transport failure (decryption, framing), passed up as `errorCaught`.
struct NoiseTransportError: Error {
    let reason: String
}
