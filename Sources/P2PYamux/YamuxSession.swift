// P2PYamux — the Yamux stream multiplexer (`/yamux/1.0.0`) as a pure state machine.
//
// Spec: libp2p/specs yamux/README.md (a copy of hashicorp/yamux spec.md), plus the
// "Implementation considerations" there (ACK backlog of 256). Interoperates with go-yamux,
// rust-yamux and py-libp2p 0.8.1 (which opens streams with WINDOW_UPDATE(SYN, 0), sends DATA
// frames of at most 64 KiB, grows windows up to 16 MiB and pings 0.5 s after connecting).
//
// Goals: complete Yamux (SYN/ACK/FIN/RST, per-stream flow control with receive-window
// auto-tuning up to 16 MiB, PING with RTT, GO_AWAY, stream limits, send-side backpressure);
// memory bounded by windows and limits whatever the peer does; few allocations and no payload
// copies on the receive path (DATA is handed out as slices of the input).
// Non-goals: I/O, timers, keep-alive scheduling, buffering for readers — those belong to the
// NIO handler in P2PHost that wraps this machine.
//
// How the host drives it (one `YamuxSession` per connection, on the connection's event loop):
//
//     var session = YamuxSession(role: .client)          // dialer = client (odd ids)
//     // channelRead(decrypted bytes):
//     for action in session.receive(bytes, now: .now()) { perform(action) }
//     // application:
//     let (id, actions) = try session.openStream()         // WINDOW_UPDATE(SYN)
//     actions = try session.write(buffer, on: id)          // frames what the window allows, queues the rest
//     if !session.isWritable(id) { suspend the writer until `.writable(id)` }
//     actions = session.consumed(n, on: id, now: .now())   // the reader took n bytes: maybe WINDOW_UPDATE
//     actions = try session.closeWrite(on: id)             // FIN after the queue drains
//     actions = session.reset(on: id)                      // RST, drops the queue
//     actions = session.ping(now: .now())                  // PING(SYN); `.pong(rtt)` later
//     actions = session.goAway(.normal)                    // no new streams either way
//
// Actions (perform them in order):
//   .send(ByteBuffer)         frames to write to the connection — at most one per call, holding
//                             every frame the call produced
//   .inboundStream(id)        the peer opened a stream (already acknowledged)
//   .data(id, ByteBuffer)     payload for the stream's reader; buffer it and call `consumed`
//                             once the application has taken it — only that re-opens the window,
//                             so a reader that never reads holds the peer to one window
//   .remoteFin(id)            the peer will send no more on this stream (EOF after buffered data)
//   .reset(id)                the peer reset (or refused) the stream; fail its reader and writer
//   .writable(id)             the send queue fell below the high watermark; resume the writer
//   .pong(TimeAmount)         answer to our PING: the round-trip time
//   .remoteGoAway(code)       the peer accepts no new streams; existing ones continue
//   .closeConnection(error)   the peer broke the protocol; GO_AWAY(protocol error) is in the
//                             preceding `.send`. Write it, then close. The session is dead.

import NIOCore

/// What the host must do after a call into `YamuxSession`.
public enum YamuxAction: Sendable, Equatable {
    case send(ByteBuffer)
    case inboundStream(YamuxStreamID)
    case data(YamuxStreamID, ByteBuffer)
    case remoteFin(YamuxStreamID)
    case reset(YamuxStreamID)
    case writable(YamuxStreamID)
    case pong(TimeAmount)
    case remoteGoAway(YamuxGoAwayCode)
    case closeConnection(YamuxError)
}

/// One Yamux connection: a pure value-type state machine (no event loop, no clock; time is
/// passed in). See the top of this file for how to drive it.
public struct YamuxSession: Sendable {
    public let role: YamuxRole
    public let configuration: YamuxConfiguration

    private var parser: YamuxFrameParser
    private var streams: [YamuxStreamID: YamuxStreamRecord] = [:]
    private var nextOutboundID: UInt32
    private var highestInboundID: UInt32 = 0
    private var inboundCount = 0
    private var unackedOutbound = 0
    /// The DATA frame whose payload is arriving: its stream, whether to deliver it, its flags.
    private var currentData: (id: YamuxStreamID, deliver: Bool, flags: YamuxFlags)?
    private var outstandingPing: (opaque: UInt32, sentAt: NIODeadline)?
    private var nextPingOpaque: UInt32 = 0
    private var smoothedRTT: TimeAmount?
    private var localGoAway: YamuxGoAwayCode?
    private var remoteGoAway: YamuxGoAwayCode?
    private var failure: YamuxError?
    private let allocator: ByteBufferAllocator
    private var out: ByteBuffer?

    public init(role: YamuxRole, configuration: YamuxConfiguration = .init(),
                allocator: ByteBufferAllocator = .init()) {
        self.role = role
        self.configuration = configuration
        self.allocator = allocator
        self.parser = YamuxFrameParser(maxDataLength: configuration.maxReceiveWindow)
        self.nextOutboundID = role == .client ? 1 : 2
    }

    // MARK: - Inspection

    /// Smoothed RTT from our PINGs, if any was answered.
    public var rtt: TimeAmount? { smoothedRTT }
    /// Streams with a live record (not yet closed in both directions, not reset).
    public var streamCount: Int { streams.count }
    public var inboundStreamCount: Int { inboundCount }
    /// Ids of the streams with a live record.
    public var streamIDs: [YamuxStreamID] { streams.keys.sorted() }
    /// The error that ended the session, if one did.
    public var error: YamuxError? { failure }
    /// True once GO_AWAY was sent or received: no new streams.
    public var isGoingAway: Bool { localGoAway != nil || remoteGoAway != nil }
    /// The code of the GO_AWAY the peer sent, if it sent one.
    public var remoteGoAwayCode: YamuxGoAwayCode? { remoteGoAway }

    public func state(of id: YamuxStreamID) -> YamuxStreamState {
        if let record = streams[id] { return record.state }
        return isPast(id) ? .closed : .idle
    }

    /// True while the stream accepts writes without its queue passing the high watermark.
    public func isWritable(_ id: YamuxStreamID) -> Bool {
        guard let r = streams[id], r.state.localMaySend, !r.finQueued else { return false }
        return r.queuedBytes < configuration.sendQueueHighWatermark
    }

    /// Bytes written but not yet framed (waiting for window).
    public func queuedBytes(on id: YamuxStreamID) -> Int { streams[id]?.queuedBytes ?? 0 }
    /// Bytes delivered in `.data` and not yet reported `consumed`.
    public func bufferedBytes(on id: YamuxStreamID) -> Int { streams[id]?.buffered ?? 0 }
    /// What the peer currently lets us send.
    public func sendWindow(on id: YamuxStreamID) -> UInt32 { streams[id]?.sendWindow ?? 0 }
    /// The receive window we grant on this stream (grows with auto-tuning).
    public func receiveWindow(on id: YamuxStreamID) -> UInt32 { streams[id]?.recvWindow ?? 0 }

    // MARK: - Inbound bytes

    /// Feeds bytes read from the connection (after decryption), in any split.
    public mutating func receive(_ bytes: ByteBuffer, now: NIODeadline) -> [YamuxAction] {
        guard failure == nil else { return [] }
        var input = bytes
        var actions: [YamuxAction] = []
        do {
            while let item = try parser.next(&input) {
                switch item {
                case .header(let header):
                    try handle(header, now: now, into: &actions)
                case .payload(let chunk, let remaining):
                    handlePayload(chunk, remaining: remaining, into: &actions)
                }
            }
        } catch {
            fail(error, into: &actions)
            return actions
        }
        flushOut(into: &actions)
        return actions
    }

    // MARK: - Local operations

    /// Opens a stream: sends WINDOW_UPDATE(SYN, 0) like go-yamux and py-libp2p. Data may be
    /// written at once; the peer's ACK (or RST) arrives later.
    public mutating func openStream() throws(YamuxError) -> (YamuxStreamID, [YamuxAction]) {
        guard failure == nil else { throw .sessionClosed }
        guard !isGoingAway else { throw .goingAway }
        guard unackedOutbound < configuration.maxAckBacklog else {
            throw .ackBacklogFull(limit: configuration.maxAckBacklog)
        }
        guard nextOutboundID < UInt32.max - 1 else { throw .streamIDsExhausted }
        let id = YamuxStreamID(nextOutboundID)
        nextOutboundID += 2
        streams[id] = YamuxStreamRecord(state: .synSent, awaitingAck: true,
                                        sendWindow: YamuxConfiguration.initialWindow)
        unackedOutbound += 1
        writeFrame(YamuxFrameHeader(type: .windowUpdate, flags: .syn, streamID: id, length: 0))
        var actions: [YamuxAction] = []
        flushOut(into: &actions)
        return (id, actions)
    }

    /// Sends `data` on the stream: frames what the send window allows now, queues the rest
    /// until WINDOW_UPDATEs arrive. Check `isWritable` afterwards.
    public mutating func write(_ data: ByteBuffer, on id: YamuxStreamID) throws(YamuxError) -> [YamuxAction] {
        guard failure == nil else { throw .sessionClosed }
        guard var record = streams.removeValue(forKey: id) else { throw .streamNotFound(id) }
        defer { streams[id] = record }
        guard record.state.localMaySend, !record.finQueued else { throw .writeAfterClose(id) }
        let n = data.readableBytes
        guard n > 0 else { return [] }
        guard record.queuedBytes == 0 || record.queuedBytes + n <= configuration.maxSendQueue else {
            throw .sendQueueFull(id, queued: record.queuedBytes, limit: configuration.maxSendQueue)
        }
        record.sendQueue.append(data)
        record.queuedBytes += n
        flushSendQueue(of: &record, id: id)
        if record.queuedBytes >= configuration.sendQueueHighWatermark { record.reportedWritable = false }
        var actions: [YamuxAction] = []
        flushOut(into: &actions)
        return actions
    }

    /// The application consumed `count` bytes of what `.data` delivered on the stream. Once half
    /// the window is consumed, the window (maybe grown) is returned with a WINDOW_UPDATE.
    public mutating func consumed(_ count: Int, on id: YamuxStreamID, now: NIODeadline) -> [YamuxAction] {
        guard failure == nil, count > 0, var record = streams.removeValue(forKey: id) else { return [] }
        let n = min(count, record.buffered)
        record.buffered -= n
        record.consumedPending += UInt32(n)
        maybeSendWindowUpdate(&record, id: id, now: now)
        streams[id] = record
        var actions: [YamuxAction] = []
        flushOut(into: &actions)
        return actions
    }

    /// Half-closes our direction: FIN goes out after everything queued. Idempotent.
    public mutating func closeWrite(on id: YamuxStreamID) throws(YamuxError) -> [YamuxAction] {
        guard failure == nil else { throw .sessionClosed }
        guard var record = streams.removeValue(forKey: id) else { throw .streamNotFound(id) }
        if record.state.localMaySend && !record.finQueued {
            record.finQueued = true
            flushSendQueue(of: &record, id: id)
        }
        keepOrDrop(record, id: id)
        var actions: [YamuxAction] = []
        flushOut(into: &actions)
        return actions
    }

    /// Resets the stream: RST now, queued data dropped, the record forgotten.
    public mutating func reset(on id: YamuxStreamID) -> [YamuxAction] {
        guard failure == nil, let record = streams.removeValue(forKey: id) else { return [] }
        forget(record, id: id)
        writeFrame(YamuxFrameHeader(type: .windowUpdate, flags: .rst, streamID: id, length: 0))
        var actions: [YamuxAction] = []
        flushOut(into: &actions)
        return actions
    }

    /// Sends PING(SYN). Its ACK yields `.pong(rtt)`. A new ping supersedes an unanswered one.
    public mutating func ping(now: NIODeadline) -> [YamuxAction] {
        guard failure == nil else { return [] }
        nextPingOpaque &+= 1
        outstandingPing = (nextPingOpaque, now)
        writeFrame(YamuxFrameHeader(type: .ping, flags: .syn, streamID: .session, length: nextPingOpaque))
        var actions: [YamuxAction] = []
        flushOut(into: &actions)
        return actions
    }

    /// Sends GO_AWAY once: afterwards we open no streams and refuse the peer's with RST.
    /// Existing streams continue; the host closes the connection when it sees fit.
    public mutating func goAway(_ code: YamuxGoAwayCode = .normal) -> [YamuxAction] {
        guard failure == nil, localGoAway == nil else { return [] }
        localGoAway = code
        writeFrame(YamuxFrameHeader(type: .goAway, streamID: .session, length: code.rawValue))
        var actions: [YamuxAction] = []
        flushOut(into: &actions)
        return actions
    }

    // MARK: - Frame handling

    private mutating func handle(_ header: YamuxFrameHeader, now: NIODeadline,
                                 into actions: inout [YamuxAction]) throws(YamuxError) {
        switch header.type {
        case .ping:
            guard header.streamID == .session else { throw .invalidStreamID(header.streamID, .ping) }
            if header.flags == .syn {
                writeFrame(YamuxFrameHeader(type: .ping, flags: .ack, streamID: .session, length: header.length))
            } else if header.flags == .ack {
                if let ping = outstandingPing, ping.opaque == header.length {
                    outstandingPing = nil
                    let sample = now - ping.sentAt
                    smoothedRTT = smoothedRTT.map { .nanoseconds(($0.nanoseconds + sample.nanoseconds) / 2) } ?? sample
                    actions.append(.pong(sample))
                }
            } else {
                throw .invalidFlags(.ping, header.flags)
            }
        case .goAway:
            guard header.streamID == .session else { throw .invalidStreamID(header.streamID, .goAway) }
            guard header.flags.isEmpty else { throw .invalidFlags(.goAway, header.flags) }
            if remoteGoAway == nil {
                remoteGoAway = YamuxGoAwayCode(rawValue: header.length)
                actions.append(.remoteGoAway(YamuxGoAwayCode(rawValue: header.length)))
            }
        case .data, .windowUpdate:
            try handleStreamFrame(header, now: now, into: &actions)
        }
    }

    private mutating func handleStreamFrame(_ header: YamuxFrameHeader, now: NIODeadline,
                                            into actions: inout [YamuxAction]) throws(YamuxError) {
        let id = header.streamID
        let flags = header.flags
        guard id != .session else { throw .invalidStreamID(id, header.type) }
        guard !flags.isSuperset(of: [.syn, .ack]) else { throw .invalidFlags(header.type, flags) }

        if flags.contains(.syn) {
            try acceptSyn(header, into: &actions)
        }
        guard var record = streams.removeValue(forKey: id) else {
            // A stream that ended (or that we just refused): its late frames are expected.
            guard isPast(id) else { throw .unknownStream(id) }
            if header.type == .data, header.length > 0 { currentData = (id, false, flags) }
            return
        }
        if flags.contains(.ack), record.awaitingAck {
            record.awaitingAck = false
            unackedOutbound -= 1
            if record.state == .synSent { record.state = .open }
        }
        if header.type == .windowUpdate {
            let grown = UInt64(record.sendWindow) + UInt64(header.length)
            guard grown <= UInt64(UInt32.max) else {
                streams[id] = record
                throw .sendWindowOverflow(id)
            }
            record.sendWindow = UInt32(grown)
            flushSendQueue(of: &record, id: id)
            if !record.reportedWritable, record.queuedBytes < configuration.sendQueueHighWatermark {
                record.reportedWritable = true
                if record.state.localMaySend { actions.append(.writable(id)) }
            }
            keepOrDrop(record, id: id)  // a queued FIN may just have gone out
            finishFrame(on: id, flags: flags, into: &actions)
            return
        }
        // DATA
        if header.length > 0 {
            guard record.state.remoteMaySend else {
                streams[id] = record
                throw .dataAfterFin(id)
            }
            guard header.length <= record.recvCredit else {
                streams[id] = record
                throw .receiveWindowExceeded(id, length: header.length, window: record.recvCredit)
            }
            record.recvCredit -= header.length
            if record.epochStart == nil { record.epochStart = now }
            streams[id] = record
            currentData = (id, true, flags)
        } else {
            streams[id] = record
            finishFrame(on: id, flags: flags, into: &actions)
        }
    }

    /// A SYN from the peer: a new inbound stream, acknowledged at once, or refused with RST
    /// when we are going away or at `maxInboundStreams`.
    private mutating func acceptSyn(_ header: YamuxFrameHeader,
                                    into actions: inout [YamuxAction]) throws(YamuxError) {
        let id = header.streamID
        guard !isLocal(id) else { throw .invalidStreamID(id, header.type) }
        guard streams[id] == nil else { throw .duplicateStream(id) }
        guard id.rawValue > highestInboundID else { throw .invalidStreamID(id, header.type) }
        highestInboundID = id.rawValue
        if header.flags.contains(.rst) { return }  // opened and reset at once: nothing to accept
        guard localGoAway == nil, inboundCount < configuration.maxInboundStreams else {
            writeFrame(YamuxFrameHeader(type: .windowUpdate, flags: .rst, streamID: id, length: 0))
            return
        }
        // A WINDOW_UPDATE SYN's delta (more than the initial window) is added by the caller.
        var record = YamuxStreamRecord(state: .synReceived, awaitingAck: false,
                                       sendWindow: YamuxConfiguration.initialWindow)
        // py-libp2p reads flags of an ACK frame only as ACK: send it alone, never merged with FIN/data.
        writeFrame(YamuxFrameHeader(type: .windowUpdate, flags: .ack, streamID: id, length: 0))
        record.state = .open
        streams[id] = record
        inboundCount += 1
        actions.append(.inboundStream(id))
    }

    private mutating func handlePayload(_ chunk: ByteBuffer, remaining: UInt32,
                                        into actions: inout [YamuxAction]) {
        guard let current = currentData else { return }
        if current.deliver, streams[current.id] != nil {
            streams[current.id]!.buffered += chunk.readableBytes
            actions.append(.data(current.id, unpinned(chunk)))
        }
        if remaining == 0 {
            currentData = nil
            if current.deliver { finishFrame(on: current.id, flags: current.flags, into: &actions) }
        }
    }

    /// A small slice of a large buffer would keep the whole buffer alive while the reader holds
    /// it; copy such slices so buffered memory stays within 8× the window even for tiny frames.
    private func unpinned(_ chunk: ByteBuffer) -> ByteBuffer {
        guard chunk.readableBytes * 8 < chunk.storageCapacity else { return chunk }
        var copy = allocator.buffer(capacity: chunk.readableBytes)
        copy.writeImmutableBuffer(chunk)
        return copy
    }

    /// FIN / RST carried by a frame, applied after its payload.
    private mutating func finishFrame(on id: YamuxStreamID, flags: YamuxFlags, into actions: inout [YamuxAction]) {
        guard flags.contains(.fin) || flags.contains(.rst),
              var record = streams.removeValue(forKey: id) else { return }
        if flags.contains(.rst) {
            record.state = .reset
            forget(record, id: id)
            actions.append(.reset(id))
            return
        }
        if record.state.remoteMaySend {
            record.state = record.state.afterRemoteFin
            record.consumedPending = 0  // the peer sends nothing more: no window to return
            actions.append(.remoteFin(id))
        }
        keepOrDrop(record, id: id)
    }

    // MARK: - Send side

    /// Frames queued data while the window allows, then FIN if it is due.
    private mutating func flushSendQueue(of record: inout YamuxStreamRecord, id: YamuxStreamID) {
        let maxPayload = configuration.maxFramePayload
        while record.sendWindow > 0, !record.sendQueue.isEmpty {
            let n = min(record.sendQueue.first!.readableBytes, Int(record.sendWindow), maxPayload)
            let header = YamuxFrameHeader(type: .data, streamID: id, length: UInt32(n))
            reserveOut(YamuxFrameHeader.size + n)
            header.write(to: &out!)
            let first = record.sendQueue.startIndex
            var slice = record.sendQueue[first].readSlice(length: n)!
            out!.writeBuffer(&slice)
            if record.sendQueue[first].readableBytes == 0 { record.sendQueue.removeFirst() }
            record.sendWindow -= UInt32(n)
            record.queuedBytes -= n
        }
        if record.finQueued, record.sendQueue.isEmpty, record.state.localMaySend {
            writeFrame(YamuxFrameHeader(type: .windowUpdate, flags: .fin, streamID: id, length: 0))
            record.state = record.state.afterLocalFin
        }
    }

    // MARK: - Receive window

    private mutating func maybeSendWindowUpdate(_ record: inout YamuxStreamRecord, id: YamuxStreamID,
                                                now: NIODeadline) {
        guard record.state.remoteMaySend else {
            record.consumedPending = 0
            return
        }
        guard record.consumedPending >= record.recvWindow / 2 else { return }
        var delta = record.consumedPending
        if configuration.autoTuneReceiveWindow, record.recvWindow < configuration.maxReceiveWindow,
           let epochStart = record.epochStart {
            // go-yamux: half the window went within 4 RTTs, so the window limits throughput.
            let rtt = smoothedRTT ?? configuration.assumedRTT
            if now - epochStart < .nanoseconds(rtt.nanoseconds * 4) {
                let grown = min(UInt64(record.recvWindow) * 2, UInt64(configuration.maxReceiveWindow))
                delta += UInt32(grown) - record.recvWindow
                record.recvWindow = UInt32(grown)
            }
        }
        record.epochStart = now
        record.consumedPending = 0
        record.recvCredit += delta
        writeFrame(YamuxFrameHeader(type: .windowUpdate, streamID: id, length: delta))
    }

    // MARK: - Bookkeeping

    private func isLocal(_ id: YamuxStreamID) -> Bool {
        (id.rawValue & 1 == 1) == (role == .client)
    }

    /// The id was opened on this session before (by either side).
    private func isPast(_ id: YamuxStreamID) -> Bool {
        guard id != .session else { return false }
        return isLocal(id) ? id.rawValue < nextOutboundID : id.rawValue <= highestInboundID
    }

    /// Puts the record back unless both directions are finished.
    private mutating func keepOrDrop(_ record: YamuxStreamRecord, id: YamuxStreamID) {
        if record.state == .closed { forget(record, id: id) } else { streams[id] = record }
    }

    /// Updates the counters for a record that was removed for good.
    private mutating func forget(_ record: YamuxStreamRecord, id: YamuxStreamID) {
        if record.awaitingAck { unackedOutbound -= 1 }
        if !isLocal(id) { inboundCount -= 1 }
    }

    private mutating func fail(_ error: YamuxError, into actions: inout [YamuxAction]) {
        failure = error
        if error.isProtocolViolation {
            writeFrame(YamuxFrameHeader(type: .goAway, streamID: .session,
                                        length: YamuxGoAwayCode.protocolError.rawValue))
        }
        flushOut(into: &actions)
        actions.append(.closeConnection(error))
    }

    // MARK: - Output buffer

    private mutating func reserveOut(_ bytes: Int) {
        if out == nil {
            out = allocator.buffer(capacity: max(bytes, 256))
        } else {
            out!.reserveCapacity(minimumWritableBytes: bytes)
        }
    }

    private mutating func writeFrame(_ header: YamuxFrameHeader) {
        reserveOut(YamuxFrameHeader.size)
        header.write(to: &out!)
    }

    private mutating func flushOut(into actions: inout [YamuxAction]) {
        if let buffer = out, buffer.readableBytes > 0 {
            actions.append(.send(buffer))
        }
        out = nil
    }
}
