// The Noise transport as a NIO duplex handler: ciphertext frames below, plaintext above.

import Logging
import NIOCore
import P2PNoise

/// Decrypts inbound Noise frames (in place, handing plaintext up as slices) and encrypts
/// outbound plaintext. Outbound writes are gathered until `flush` and then cut into frames
/// of the largest size (65519 plaintext bytes), so a burst of small Yamux frames costs
/// few AEAD operations and one socket write.
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
    /// Small plaintext pieces are gathered here until a full frame's worth.
    private var staging = ByteBuffer()
    private var failed = false
    /// Plaintext positions in the current read buffer (reused).
    private var frames: [(start: Int, length: Int)] = []

    init(transport: NoiseTransport, logger: Logger) {
        self.transport = transport
        self.logger = logger
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var input = unwrapInboundIn(data)
        do {
            if partial != nil {
                guard try completePartial(context, &input) else { return }
            }
            // Decrypt every whole frame in place first and only then hand out slices: a live
            // slice would make the next in-place decryption copy the rest of the buffer.
            frames.removeAll(keepingCapacity: true)
            let origin = input.readerIndex
            while true {
                let start = input.readerIndex + 2
                guard let length = try transport.open(&input)?.readableBytes else { break }
                frames.append((start, length))
            }
            if input.readableBytes > 0 { keepPartial(&input) }
            input.moveReaderIndex(to: origin)
            for (start, length) in frames where length > 0 {
                context.fireChannelRead(wrapInboundOut(input.getSlice(at: start, length: length)!))
            }
        } catch {
            failed = true
            let reason = (error as? NoiseError)?.message ?? "\(error)"
            logger.info("closing connection", metadata: ["reason": "noise: \(reason)"])
            context.fireErrorCaught(NoiseTransportError(reason: "noise: \(reason)"))
            context.close(promise: nil)
        }
    }

    /// Tops up the carried-over frame from `input`; true once it was decrypted and delivered.
    private func completePartial(_ context: ChannelHandlerContext, _ input: inout ByteBuffer) throws -> Bool {
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
        if let plain = try transport.open(&frame) {
            context.fireChannelRead(wrapInboundOut(plain))
        }
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
        let frames = (pendingBytes + Noise.maxPlaintextLength - 1) / Noise.maxPlaintextLength + pending.count
        var out = context.channel.allocator.buffer(capacity: pendingBytes + frames * (2 + Noise.tagLength))
        let pieces = pending
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
        do {
            for var piece in pieces {
                while piece.readableBytes > 0 {
                    if staging.readableBytes == 0, piece.readableBytes >= Noise.maxPlaintextLength {
                        try transport.seal(piece.readSlice(length: Noise.maxPlaintextLength)!, into: &out)
                        continue
                    }
                    if staging.capacity < Noise.maxPlaintextLength { staging.reserveCapacity(Noise.maxPlaintextLength) }
                    let n = min(Noise.maxPlaintextLength - staging.readableBytes, piece.readableBytes)
                    var slice = piece.readSlice(length: n)!
                    staging.writeBuffer(&slice)
                    if staging.readableBytes == Noise.maxPlaintextLength { try sealStaging(into: &out) }
                }
            }
            if staging.readableBytes > 0 { try sealStaging(into: &out) }
        } catch {
            failed = true
            promises.forEach { $0.fail(error) }
            promises.removeAll()
            context.fireErrorCaught(NoiseTransportError(reason: "noise: \(error)"))
            context.close(promise: nil)
            return
        }
        let done = promises
        promises.removeAll(keepingCapacity: true)
        if done.isEmpty {
            context.write(wrapOutboundOut(out), promise: nil)
        } else {
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.write(wrapOutboundOut(out), promise: promise)
            promise.futureResult.whenComplete { result in done.forEach { $0.completeWith(result) } }
        }
        context.flush()
    }

    private func sealStaging(into out: inout ByteBuffer) throws {
        try transport.seal(staging, into: &out)
        staging.clear()
    }
}

/// A fatal Noise transport failure (decryption, framing), passed up as `errorCaught`.
struct NoiseTransportError: Error {
    let reason: String
}
