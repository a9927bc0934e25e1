// The Yamux NIO handler: one `YamuxSession` per connection, driven on the connection's
// event loop, plus everything the pure machine leaves to its host — per-stream inbound
// buffers for readers, suspended writers, per-stream multistream negotiation, keep-alive
// pings, the idle timer and GO_AWAY on close.
//
// Flow control: data the peer sends is buffered per stream and reported `consumed` to the
// session only when the application reads it, so a reader that never reads holds the peer
// to one receive window. Writers suspend while the session's send queue is above its high
// watermark or the channel is not writable, and resume on `.writable` / writability changes.

import Logging
import NIOCore
import P2PCore
import P2PMultistream
import P2PYamux

/// What a reader asked for (one outstanding read per stream).
enum StreamReadRequest {
    case upTo(Int)
    case exactly(Int)
    case lengthPrefixed(max: Int)
}

/// One stream's host-side state (event loop only).
final class StreamSlot {
    enum Phase {
        case outbound(MultistreamDialer, protocols: [String], EventLoopPromise<String>)
        case inbound(MultistreamListener)
        case open
    }

    let id: YamuxStreamID
    var phase: Phase
    /// Negotiation input not yet consumed by the multistream machine.
    var negotiation: ByteBuffer?
    /// Delivered payload not yet read by the application.
    var inbound = CircularBuffer<ByteBuffer>(initialCapacity: 8)
    var inboundBytes = 0
    var remoteFinished = false
    var localFinished = false
    var failure: P2PStreamError?
    var read: (request: StreamReadRequest, accumulated: ByteBuffer?, promise: EventLoopPromise<ByteBuffer?>)?
    var write: (remaining: ByteBuffer, promise: EventLoopPromise<Void>)?
    /// The application let go of the stream: inbound data is dropped (and its window returned).
    var released = false

    init(id: YamuxStreamID, phase: Phase) {
        self.id = id
        self.phase = phase
    }
}

final class YamuxConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let protocolID = "/yamux/1.0.0"
    /// Largest piece of one application write handed to the session at a time.
    static let writeChunk = 1024 * 1024
    /// Most bytes of multistream negotiation buffered per stream.
    static let maxNegotiationBytes = 8 * 1024

    private var session: YamuxSession
    private var slots: [YamuxStreamID: StreamSlot] = [:]
    private var context: ChannelHandlerContext?
    private let core: HostCore
    private let logger: Logger
    /// Set once the connection object exists (right after construction); cleared on removal.
    var connection: P2PConnection?
    private var inReadBurst = false
    private var needsFlush = false
    private var closing = false
    private var closedReason: String?
    private var idleTask: Scheduled<Void>?
    private var keepAliveTask: Scheduled<Void>?
    private var pingSentAt: NIODeadline?
    private var lastRTT: TimeAmount?

    init(role: YamuxRole, core: HostCore) {
        var yamux = core.config.yamux
        yamux.maxInboundStreams = core.config.maxInboundStreamsPerConnection
        session = YamuxSession(role: role, configuration: yamux)
        self.core = core
        logger = core.logger
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        keepAlive()
        updateIdleTimer()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        teardown(reason: closedReason ?? "connection closed")
        self.context = nil
        connection = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        teardown(reason: closedReason ?? "connection closed by the peer")
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inReadBurst = true
        perform(session.receive(unwrapInboundIn(data), now: .now()))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBurst = false
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            for slot in slots.values where slot.write != nil { serviceWrite(slot) }
            flushIfNeeded()
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let noise = error as? NoiseTransportError {
            close(reason: noise.reason, goAway: nil)
        } else {
            close(reason: "\(error)", goAway: nil)
        }
    }

    // MARK: - Session actions

    private func perform(_ actions: [YamuxAction]) {
        // Every frame the session produced goes to the wire before any other action is
        // handled: those (`.writable`, `.data`, `.inboundStream`) may write again, re-entering
        // here, and their frames must follow these — or a stream's bytes are reordered.
        if let context {
            for case .send(let bytes) in actions {
                context.write(wrapOutboundOut(bytes), promise: nil)
                needsFlush = true
            }
        }
        for action in actions {
            switch action {
            case .send:
                continue
            case .inboundStream(let id):
                let slot = StreamSlot(id: id, phase: .inbound(MultistreamListener(protocols: core.supportedProtocols())))
                slots[id] = slot
                if case .inbound(var listener) = slot.phase {
                    let header = listener.start()
                    slot.phase = .inbound(listener)
                    sendOnStream(slot, header)
                }
            case .data(let id, let bytes):
                guard let slot = slots[id] else {
                    perform(session.consumed(bytes.readableBytes, on: id, now: .now()))
                    continue
                }
                deliver(bytes, to: slot)
            case .remoteFin(let id):
                guard let slot = slots[id] else { continue }
                slot.remoteFinished = true
                if case .open = slot.phase { serviceRead(slot) } else { failNegotiation(slot, "the peer closed the stream") }
                collect(slot)
            case .reset(let id):
                guard let slot = slots[id] else { continue }
                if case .open = slot.phase {} else { failNegotiation(slot, "the peer reset the stream") }
                fail(slot, .reset)
            case .writable(let id):
                if let slot = slots[id] { serviceWrite(slot) }
            case .pong(let rtt):
                lastRTT = rtt
                pingSentAt = nil
            case .remoteGoAway(let code):
                connection?.markGoingAway()
                logger.debug("peer sent GO_AWAY", metadata: ["code": "\(code)"])
            case .closeConnection(let error):
                logger.info("closing connection", metadata: [
                    "peer": "\(connection?.remotePeer.description ?? "?")", "reason": "\(error)"])
                closedReason = error.description
                flushIfNeeded(force: true)
                closeChannel()
            }
        }
        updateIdleTimer()
        if !inReadBurst { flushIfNeeded() }
    }

    private func flushIfNeeded(force: Bool = false) {
        guard needsFlush, let context else { return }
        if inReadBurst && !force { return }
        needsFlush = false
        context.flush()
    }

    private func deliver(_ bytes: ByteBuffer, to slot: StreamSlot) {
        let n = bytes.readableBytes
        if slot.released || slot.failure != nil {
            perform(session.consumed(n, on: slot.id, now: .now()))
            return
        }
        switch slot.phase {
        case .open:
            slot.inbound.append(bytes)
            slot.inboundBytes += n
            serviceRead(slot)
        case .outbound, .inbound:
            var input = bytes
            if slot.negotiation == nil { slot.negotiation = input } else { slot.negotiation!.writeBuffer(&input) }
            negotiate(slot)
        }
    }

    // MARK: - Per-stream negotiation

    private func negotiate(_ slot: StreamSlot) {
        guard var buffer = slot.negotiation else { return }
        slot.negotiation = nil
        let before = buffer.readableBytes
        do {
            let actions: [MultistreamAction]
            switch slot.phase {
            case .outbound(var dialer, let protocols, let promise):
                actions = try dialer.process(&buffer)
                slot.phase = .outbound(dialer, protocols: protocols, promise)
            case .inbound(var listener):
                actions = try listener.process(&buffer)
                slot.phase = .inbound(listener)
            case .open:
                return
            }
            let used = before - buffer.readableBytes
            if used > 0 { perform(session.consumed(used, on: slot.id, now: .now())) }
            for action in actions {
                switch action {
                case .send(let bytes): sendOnStream(slot, bytes)
                case .selected(let id): selected(slot, id, rest: buffer)
                case .listed: break
                }
            }
            if case .open = slot.phase { return }
            if buffer.readableBytes > Self.maxNegotiationBytes {
                throw MultistreamError.messageTooLong(maxLength: Self.maxNegotiationBytes)
            }
            if buffer.readableBytes > 0 { slot.negotiation = buffer }
        } catch {
            let reason = (error as? MultistreamError)?.message ?? "\(error)"
            if case .outbound(_, let protocols, let promise) = slot.phase {
                if case .noProtocolAgreed = error as? MultistreamError {
                    promise.fail(P2PHostError.protocolNotSupported(protocols))
                } else {
                    promise.fail(P2PHostError.negotiationFailed(reason))
                }
                slot.phase = .open
            }
            logger.debug("stream negotiation failed", metadata: ["stream": "\(slot.id)", "reason": "\(reason)"])
            slot.released = true
            resetStream(slot)
        }
    }

    private func selected(_ slot: StreamSlot, _ protocolID: String, rest: ByteBuffer) {
        let phase = slot.phase
        slot.phase = .open
        if rest.readableBytes > 0 {
            slot.inbound.append(rest)
            slot.inboundBytes += rest.readableBytes
        }
        switch phase {
        case .outbound(_, _, let promise):
            promise.succeed(protocolID)
        case .inbound:
            guard let connection else {
                slot.released = true
                return resetStream(slot)
            }
            // If no handler takes it, dropping `stream` releases (FIN) the slot.
            let stream = P2PStream(protocolID: protocolID, id: slot.id, connection: connection)
            if !core.dispatchInbound(stream) { resetStream(slot) }
        case .open:
            break
        }
    }

    private func failNegotiation(_ slot: StreamSlot, _ reason: String, connectionGone: Bool = false) {
        switch slot.phase {
        case .outbound(_, _, let promise):
            slot.phase = .open
            slot.released = true
            promise.fail(connectionGone ? P2PHostError.connectionClosed(reason) : P2PHostError.negotiationFailed(reason))
            resetStream(slot)
        case .inbound:
            slot.phase = .open
            slot.released = true
            resetStream(slot)
        case .open:
            break
        }
    }

    private func sendOnStream(_ slot: StreamSlot, _ bytes: ByteBuffer) {
        do { perform(try session.write(bytes, on: slot.id)) } catch {
            resetStream(slot)
        }
    }

    // MARK: - Reads

    private func serviceRead(_ slot: StreamSlot) {
        guard var read = slot.read else { return }
        let promise = read.promise
        func finish(_ result: Result<ByteBuffer?, Error>) {
            slot.read = nil
            promise.completeWith(result)
        }
        if slot.failure == .reset { return finish(.failure(P2PStreamError.reset)) }
        // Once nothing more can arrive, a short read is EOF (peer FIN) or the failure.
        let ended = slot.remoteFinished || slot.failure != nil
        let endError: P2PStreamError = slot.remoteFinished ? .unexpectedEOF : slot.failure ?? .unexpectedEOF
        switch read.request {
        case .upTo(let max):
            if slot.inboundBytes > 0 {
                finish(.success(take(slot, upTo: max)))
            } else if ended {
                finish(slot.remoteFinished ? .success(nil) : .failure(endError))
            }
        case .exactly(let n):
            let have = read.accumulated?.readableBytes ?? 0
            if read.accumulated == nil, slot.inboundBytes >= n {
                finish(.success(take(slot, upTo: n)))
            } else if slot.inboundBytes > 0 {
                // Gather what came into the reader's buffer (it asked for it: return its window).
                var acc = read.accumulated ?? context?.channel.allocator.buffer(capacity: n) ?? ByteBuffer()
                let moved = min(n - have, slot.inboundBytes)
                moveBuffered(of: slot, into: &acc, upTo: have + moved)
                account(slot, moved)
                if acc.readableBytes == n {
                    finish(.success(acc))
                } else {
                    read.accumulated = acc
                    slot.read = read
                    if ended { finish(.failure(endError)) }
                }
            } else if n == 0 {
                finish(.success(ByteBuffer()))
            } else if ended {
                finish(.failure(endError))
            }
        case .lengthPrefixed(let max):
            var prefix: [UInt8] = []
            for buffer in slot.inbound {
                prefix += buffer.readableBytesView.prefix(Varint.maxBytes - prefix.count)
                if prefix.count >= Varint.maxBytes { break }
            }
            let decoded: (value: UInt64, length: Int)?
            do { decoded = try Varint.decode(prefix) } catch {
                finish(.failure(P2PStreamError.malformedLengthPrefix))
                return resetStream(slot)
            }
            guard let (length, prefixLength) = decoded else {
                if ended {
                    finish(prefix.isEmpty && slot.remoteFinished ? .success(nil) : .failure(endError))
                }
                return
            }
            guard length <= UInt64(max) else {
                finish(.failure(P2PStreamError.messageTooLarge(Int(clamping: length))))
                return resetStream(slot)
            }
            _ = take(slot, upTo: prefixLength)
            slot.read = (.exactly(Int(length)), nil, promise)
            serviceRead(slot)
        }
    }

    /// Takes up to `max` buffered bytes as one buffer (a slice when one delivered piece
    /// covers it, else the pieces copied together: one read then returns a whole read burst
    /// instead of one Noise frame's worth) and returns their window to the peer.
    private func take(_ slot: StreamSlot, upTo max: Int) -> ByteBuffer {
        let total = min(max, slot.inboundBytes)
        guard total > 0, var first = slot.inbound.popFirst() else { return ByteBuffer() }
        var result: ByteBuffer
        if first.readableBytes >= total {
            result = first.readSlice(length: total)!
            if first.readableBytes > 0 { slot.inbound.prepend(first) }
        } else {
            result = context?.channel.allocator.buffer(capacity: total) ?? ByteBuffer()
            result.reserveCapacity(total)
            result.writeBuffer(&first)
            moveBuffered(of: slot, into: &result, upTo: total)
        }
        account(slot, total)
        return result
    }

    /// `count` buffered bytes went to the reader: return their window to the peer.
    private func account(_ slot: StreamSlot, _ count: Int) {
        slot.inboundBytes -= count
        if slot.failure == nil { perform(session.consumed(count, on: slot.id, now: .now())) }
    }

    /// Appends buffered pieces to `out` until it holds `limit` bytes (no accounting).
    private func moveBuffered(of slot: StreamSlot, into out: inout ByteBuffer, upTo limit: Int) {
        while out.readableBytes < limit, var next = slot.inbound.popFirst() {
            var piece = next.readSlice(length: min(next.readableBytes, limit - out.readableBytes))!
            out.writeBuffer(&piece)
            if next.readableBytes > 0 { slot.inbound.prepend(next) }
        }
    }

    // MARK: - Writes

    private func serviceWrite(_ slot: StreamSlot) {
        guard var write = slot.write else { return }
        // Taken out of the slot while we work: `perform` may flush, the flush may fire
        // writability, and that re-enters here — it must not see (and resend) this write.
        slot.write = nil
        if let failure = slot.failure {
            return write.promise.fail(failure)
        }
        while write.remaining.readableBytes > 0 {
            guard session.isWritable(slot.id), context?.channel.isWritable ?? false else {
                slot.write = write
                return
            }
            let chunk = write.remaining.readSlice(length: min(write.remaining.readableBytes, Self.writeChunk))!
            do {
                perform(try session.write(chunk, on: slot.id))
            } catch {
                return write.promise.fail(P2PStreamError.closed)
            }
        }
        write.promise.succeed(())
    }

    // MARK: - Stream lifecycle

    private func fail(_ slot: StreamSlot, _ error: P2PStreamError) {
        if slot.failure == nil { slot.failure = error }
        if error == .reset {
            slot.inbound.removeAll()
            slot.inboundBytes = 0
        }
        serviceRead(slot)
        serviceWrite(slot)
        collect(slot)
    }

    private func resetStream(_ slot: StreamSlot) {
        perform(session.reset(on: slot.id))
        fail(slot, .reset)
    }

    /// Drops the slot once the application let go and the session forgot the stream.
    private func collect(_ slot: StreamSlot) {
        guard slot.released else { return }
        switch session.state(of: slot.id) {
        case .closed, .reset, .idle:
            slots[slot.id] = nil
        default:
            break
        }
    }

    private func localMaySend(_ id: YamuxStreamID) -> Bool {
        switch session.state(of: id) {
        case .synSent, .synReceived, .open, .halfClosedRemote: return true
        default: return false
        }
    }

    // MARK: - Timers

    private func keepAlive() {
        guard !closing else { return }
        let now = NIODeadline.now()
        if let sent = pingSentAt, now - sent > core.config.keepAliveTimeout {
            return close(reason: "keep-alive ping unanswered for \(core.config.keepAliveTimeout)", goAway: .normal)
        }
        if pingSentAt == nil { pingSentAt = now }
        perform(session.ping(now: now))
        keepAliveTask = context?.eventLoop.assumeIsolated().scheduleTask(in: core.config.keepAliveInterval) {
            [weak self] in self?.keepAlive()
        }
    }

    private func updateIdleTimer() {
        let idle = slots.isEmpty && session.streamCount == 0
        if idle, idleTask == nil, !closing, let context {
            let timeout = core.config.idleTimeout
            idleTask = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
                self?.idleTask = nil
                self?.close(reason: "idle for \(timeout)", goAway: .normal)
            }
        } else if !idle, let task = idleTask {
            task.cancel()
            idleTask = nil
        }
    }

    // MARK: - Closing

    /// GO_AWAY (if given), flush, close the channel.
    func close(reason: String, goAway: YamuxGoAwayCode?) {
        guard !closing else { return }
        if closedReason == nil { closedReason = reason }
        if let goAway { perform(session.goAway(goAway)) }
        flushIfNeeded(force: true)
        closeChannel()
    }

    private func closeChannel() {
        guard !closing else { return }
        closing = true
        connection?.setCloseReason(closedReason ?? "closed")
        context?.close(promise: nil)
    }

    private func teardown(reason: String) {
        closing = true
        idleTask?.cancel()
        idleTask = nil
        keepAliveTask?.cancel()
        keepAliveTask = nil
        connection?.setCloseReason(closedReason ?? reason)
        for slot in slots.values {
            failNegotiation(slot, closedReason ?? reason, connectionGone: true)
            if slot.failure == nil { slot.failure = .connectionClosed(closedReason ?? reason) }
            serviceRead(slot)
            serviceWrite(slot)
        }
    }

    // MARK: - Operations from P2PConnection / P2PStream (on the event loop)

    func openStream(protocols: [String], promise: EventLoopPromise<(YamuxStreamID, String)>) {
        guard !closing, context != nil else {
            return promise.fail(P2PHostError.connectionClosed(closedReason ?? "closed"))
        }
        let id: YamuxStreamID
        do {
            let (newID, actions) = try session.openStream()
            id = newID
            var dialer = MultistreamDialer(protocols: Array(protocols.prefix(Multistream.maxProposals)))
            let first = dialer.start()
            let negotiated = context!.eventLoop.makePromise(of: String.self)
            slots[id] = StreamSlot(id: id, phase: .outbound(dialer, protocols: protocols, negotiated))
            perform(actions)
            sendOnStream(slots[id]!, first)
            negotiated.futureResult.whenComplete { result in
                switch result {
                case .success(let selected): promise.succeed((id, selected))
                case .failure(let error): promise.fail(error)
                }
            }
        } catch YamuxError.goingAway {
            promise.fail(P2PHostError.connectionClosed("the connection is going away"))
        } catch YamuxError.ackBacklogFull(let limit) {
            promise.fail(P2PHostError.limitReached("unacknowledged streams (\(limit))"))
        } catch {
            promise.fail(P2PHostError.connectionClosed("\(error)"))
        }
        flushIfNeeded()
    }

    func read(_ id: YamuxStreamID, _ request: StreamReadRequest, promise: EventLoopPromise<ByteBuffer?>) {
        guard let slot = slots[id], !slot.released else { return promise.fail(P2PStreamError.closed) }
        guard slot.read == nil else { return promise.fail(P2PStreamError.closed) }
        slot.read = (request, nil, promise)
        serviceRead(slot)
        flushIfNeeded()
    }

    func write(_ id: YamuxStreamID, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>) {
        guard let slot = slots[id], !slot.released else { return promise.fail(P2PStreamError.closed) }
        if let failure = slot.failure { return promise.fail(failure) }
        guard !slot.localFinished, slot.write == nil else { return promise.fail(P2PStreamError.closed) }
        guard buffer.readableBytes > 0 else { return promise.succeed(()) }
        slot.write = (buffer, promise)
        serviceWrite(slot)
        flushIfNeeded()
    }

    func closeWrite(_ id: YamuxStreamID, promise: EventLoopPromise<Void>) {
        guard let slot = slots[id] else { return promise.succeed(()) }
        if let failure = slot.failure, failure != .closed {
            return promise.fail(failure)
        }
        if !slot.localFinished {
            slot.localFinished = true
            if localMaySend(id) {
                do { perform(try session.closeWrite(on: id)) } catch {}
            }
        }
        collect(slot)
        flushIfNeeded()
        promise.succeed(())
    }

    func reset(_ id: YamuxStreamID) {
        guard let slot = slots[id] else { return }
        resetStream(slot)
        flushIfNeeded()
    }

    /// The application is done with the stream (handler returned, or the object was dropped):
    /// FIN if still open, drop buffered and future inbound data.
    func release(_ id: YamuxStreamID) {
        guard let slot = slots[id], !slot.released else { return }
        slot.released = true
        if slot.failure == nil, !slot.localFinished {
            slot.localFinished = true
            if localMaySend(id) {
                do { perform(try session.closeWrite(on: id)) } catch {}
            }
        }
        if slot.inboundBytes > 0 {
            let n = slot.inboundBytes
            slot.inbound.removeAll()
            slot.inboundBytes = 0
            if slot.failure == nil { perform(session.consumed(n, on: id, now: .now())) }
        }
        if let read = slot.read {
            slot.read = nil
            read.promise.fail(P2PStreamError.closed)
        }
        collect(slot)
        updateIdleTimer()
        flushIfNeeded()
    }

    var streamCount: Int { slots.count }
    var rtt: TimeAmount? { lastRTT }
}
