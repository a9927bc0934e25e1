import NIOCore
@testable import P2PYamux

/// One side of a pumped pair: the session plus what the "host" observed.
struct YamuxTestPeer {
    var session: YamuxSession
    var outbox: [ByteBuffer] = []
    var received: [YamuxStreamID: [UInt8]] = [:]
    var receivedCount: [YamuxStreamID: Int] = [:]
    /// Keep delivered bytes in `received` (off for bulk tests: only `receivedCount`).
    var recordData = true
    /// Every action except `.send` and `.data`, in order.
    var events: [YamuxAction] = []
    /// Consume delivered data at once (a reader that keeps up) or never (a stuck reader).
    var autoConsume = true

    init(role: YamuxRole, configuration: YamuxConfiguration = .init()) {
        session = YamuxSession(role: role, configuration: configuration)
    }

    var inbound: [YamuxStreamID] {
        events.compactMap { if case .inboundStream(let id) = $0 { id } else { nil } }
    }

    func saw(_ action: YamuxAction) -> Bool { events.contains(action) }

    mutating func perform(_ actions: [YamuxAction], now: NIODeadline) {
        for action in actions {
            switch action {
            case .send(let buffer):
                outbox.append(buffer)
            case .data(let id, let buffer):
                receivedCount[id, default: 0] += buffer.readableBytes
                if recordData { received[id, default: []].append(contentsOf: buffer.readableBytesView) }
                if autoConsume {
                    perform(session.consumed(buffer.readableBytes, on: id, now: now), now: now)
                }
            default:
                events.append(action)
            }
        }
    }

    /// Everything in the outbox as one buffer, emptying it.
    mutating func takeOutbox() -> ByteBuffer {
        var all = ByteBuffer()
        for var b in outbox { all.writeBuffer(&b) }
        outbox.removeAll()
        return all
    }
}

/// A client and a server session wired back to back, with an injected clock.
struct YamuxPair {
    var client: YamuxTestPeer
    var server: YamuxTestPeer
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// Sizes of the pieces bytes are delivered in, cycled (empty: whole buffers; [1]: one byte at a time).
    var pieceSizes: [Int]
    private var nextPiece = 0

    init(configuration: YamuxConfiguration = .init(), dripFeed: Bool = false, pieceSizes: [Int] = []) {
        client = YamuxTestPeer(role: .client, configuration: configuration)
        server = YamuxTestPeer(role: .server, configuration: configuration)
        self.pieceSizes = dripFeed ? [1] : pieceSizes
    }

    /// Moves bytes both ways until neither side has anything to send.
    mutating func pump(maxRounds: Int = 100_000) {
        for _ in 0..<maxRounds {
            if client.outbox.isEmpty && server.outbox.isEmpty { return }
            let toServer = client.takeOutbox()
            Self.deliver(toServer, to: &server, pieceSizes: pieceSizes, nextPiece: &nextPiece, now: now)
            let toClient = server.takeOutbox()
            Self.deliver(toClient, to: &client, pieceSizes: pieceSizes, nextPiece: &nextPiece, now: now)
        }
        fatalError("pump did not settle")
    }

    private static func deliver(_ bytes: ByteBuffer, to peer: inout YamuxTestPeer, pieceSizes: [Int],
                                nextPiece: inout Int, now: NIODeadline) {
        guard bytes.readableBytes > 0 else { return }
        if !pieceSizes.isEmpty {
            var rest = bytes
            while rest.readableBytes > 0 {
                let size = pieceSizes[nextPiece % pieceSizes.count]
                nextPiece += 1
                let piece = rest.readSlice(length: min(size, rest.readableBytes))!
                peer.perform(peer.session.receive(piece, now: now), now: now)
            }
        } else {
            peer.perform(peer.session.receive(bytes, now: now), now: now)
        }
    }

    mutating func advance(_ amount: TimeAmount) { now = now + amount }

    /// Writes `bytes` on the stream the way the host would: 64 KiB at a time while the stream
    /// is writable, pumping when it is not. Throws if the stream stays unwritable.
    mutating func send(_ bytes: [UInt8], on id: YamuxStreamID,
                       from side: WritableKeyPath<YamuxPair, YamuxTestPeer>, chunk: Int = 64 * 1024) throws {
        var offset = 0
        while offset < bytes.count {
            if !self[keyPath: side].session.isWritable(id) {
                pump()
                guard self[keyPath: side].session.isWritable(id) else { throw YamuxError.sendQueueFull(id, queued: -1, limit: -1) }
            }
            let end = min(offset + chunk, bytes.count)
            let actions = try self[keyPath: side].session.write(ByteBuffer(bytes: bytes[offset..<end]), on: id)
            self[keyPath: side].perform(actions, now: now)
            offset = end
        }
    }

    mutating func open(from side: WritableKeyPath<YamuxPair, YamuxTestPeer>) throws -> YamuxStreamID {
        let (id, actions) = try self[keyPath: side].session.openStream()
        self[keyPath: side].perform(actions, now: now)
        return id
    }

    mutating func closeWrite(_ id: YamuxStreamID, from side: WritableKeyPath<YamuxPair, YamuxTestPeer>) throws {
        let actions = try self[keyPath: side].session.closeWrite(on: id)
        self[keyPath: side].perform(actions, now: now)
    }
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
func testBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var x = seed | 1
    var bytes = [UInt8]()
    bytes.reserveCapacity(count)
    for _ in 0..<count {
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        bytes.append(UInt8(truncatingIfNeeded: x))
    }
    return bytes
}

/// Raw frames, for playing a misbehaving peer.
func frame(_ type: UInt8, _ flags: UInt16, _ id: UInt32, _ length: UInt32, payload: [UInt8] = [],
           version: UInt8 = 0) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeMultipleIntegers(version, type, flags, id, length)
    b.writeBytes(payload)
    return b
}

/// Splits a buffer of frames back into headers (payloads skipped), for asserting what a session sent.
func headers(in buffer: ByteBuffer) -> [YamuxFrameHeader] {
    var parser = YamuxFrameParser()
    var input = buffer
    var result: [YamuxFrameHeader] = []
    while let item = try? parser.next(&input) {
        if case .header(let h) = item { result.append(h) }
    }
    return result
}

func sentHeaders(_ actions: [YamuxAction]) -> [YamuxFrameHeader] {
    actions.flatMap { action -> [YamuxFrameHeader] in
        if case .send(let b) = action { return headers(in: b) }
        return []
    }
}

func closeReason(_ actions: [YamuxAction]) -> YamuxError? {
    for case .closeConnection(let e) in actions { return e }
    return nil
}
