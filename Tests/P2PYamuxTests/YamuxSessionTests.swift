import NIOCore
import XCTest
@testable import P2PYamux

final class YamuxSessionTests: XCTestCase {
    private let window = Int(YamuxConfiguration.initialWindow)

    // MARK: - Pumped pairs

    private func echo(size: Int, pieceSizes: [Int] = []) throws {
        var pair = YamuxPair(pieceSizes: pieceSizes)
        let id = try pair.open(from: \.client)
        XCTAssertEqual(id, YamuxStreamID(1))
        XCTAssertEqual(pair.client.session.state(of: id), .synSent)
        let data = testBytes(size)
        try pair.send(data, on: id, from: \.client)
        try pair.closeWrite(id, from: \.client)
        pair.pump()
        XCTAssertEqual(pair.server.inbound, [id])
        XCTAssertEqual(pair.client.session.state(of: id), .halfClosedLocal)
        XCTAssertEqual(pair.server.session.state(of: id), .halfClosedRemote)
        XCTAssertEqual(pair.server.received[id], data)
        XCTAssertTrue(pair.server.saw(.remoteFin(id)))

        try pair.send(data, on: id, from: \.server)
        try pair.closeWrite(id, from: \.server)
        pair.pump()
        XCTAssertEqual(pair.client.received[id], data)
        XCTAssertTrue(pair.client.saw(.remoteFin(id)))
        XCTAssertEqual(pair.client.session.state(of: id), .closed)
        XCTAssertEqual(pair.client.session.streamIDs, [])
        XCTAssertEqual(pair.server.session.streamCount, 0)
        XCTAssertNil(pair.client.session.error)
        XCTAssertNil(pair.server.session.error)
    }

    func testEchoWhole() throws { try echo(size: 3 * 1024 * 1024 + 17) }
    /// Every split point of every frame kind a small exchange uses (SYN, ACK, DATA, FIN).
    func testEchoOneByteAtATime() throws { try echo(size: 8 * 1024 + 5, pieceSizes: [1]) }
    /// Enough bytes for window updates, in pieces that cut headers and payloads everywhere.
    func testEchoInOddPieces() throws {
        try echo(size: 1024 * 1024 + 3, pieceSizes: [1, 7, 12, 13, 100, 4096, 3, 65541, 11, 2])
    }

    func testManyConcurrentStreamsBothDirections() throws {
        var pair = YamuxPair()
        var streams: [YamuxStreamID] = []
        for i in 0..<48 {
            streams.append(try pair.open(from: i % 3 == 0 ? \.server : \.client))
        }
        XCTAssertEqual(Set(streams).count, 48)
        for (i, id) in streams.enumerated() { XCTAssertEqual(id.rawValue % 2 == 1, i % 3 != 0, "client ids are odd") }
        let payloads = Dictionary(uniqueKeysWithValues: streams.map { ($0, testBytes(70_000 + Int($0.rawValue), seed: UInt64($0.rawValue) + 1)) })
        // Interleave 8 KiB writes across all streams, pumping now and then.
        var offsets = [YamuxStreamID: Int]()
        var round = 0
        while offsets.values.reduce(0, +) < payloads.values.map(\.count).reduce(0, +) {
            for id in streams {
                let bytes = payloads[id]!
                let start = offsets[id, default: 0]
                guard start < bytes.count else { continue }
                let end = min(start + 8192, bytes.count)
                let side: WritableKeyPath<YamuxPair, YamuxTestPeer> = id.rawValue % 2 == 1 ? \.client : \.server
                try pair.send(Array(bytes[start..<end]), on: id, from: side)
                offsets[id] = end
            }
            round += 1
            if round % 3 == 0 { pair.pump() }
        }
        for id in streams {
            try pair.closeWrite(id, from: id.rawValue % 2 == 1 ? \.client : \.server)
        }
        pair.pump()
        for id in streams {
            let receiver = id.rawValue % 2 == 1 ? pair.server : pair.client
            XCTAssertEqual(receiver.received[id], payloads[id], "stream \(id)")
            XCTAssertTrue(receiver.saw(.remoteFin(id)))
        }
        XCTAssertEqual(pair.client.inbound.count, 16)
        XCTAssertEqual(pair.server.inbound.count, 32)
    }

    // MARK: - Flow control and backpressure

    /// A reader that never reads: the receiver holds exactly one window, the sender's queue
    /// stops at its bound, and everything resumes once the reader catches up.
    func testReaderThatNeverReadsKeepsMemoryWithinWindow() throws {
        var pair = YamuxPair()
        pair.server.autoConsume = false
        let id = try pair.open(from: \.client)
        let chunk = ByteBuffer(bytes: testBytes(64 * 1024))
        var accepted = 0
        var refused = false
        for _ in 0..<200 {
            do {
                pair.client.perform(try pair.client.session.write(chunk, on: id), now: pair.now)
                accepted += chunk.readableBytes
            } catch YamuxError.sendQueueFull(let sid, let queued, let limit) {
                XCTAssertEqual(sid, id)
                XCTAssertLessThanOrEqual(queued, limit)
                refused = true
                break
            }
            pair.pump()
            XCTAssertLessThanOrEqual(pair.server.session.bufferedBytes(on: id), window)
        }
        XCTAssertTrue(refused, "the send queue must be bounded")
        let config = YamuxConfiguration()
        XCTAssertLessThanOrEqual(pair.client.session.queuedBytes(on: id), config.maxSendQueue)
        XCTAssertEqual(pair.server.session.bufferedBytes(on: id), window)
        XCTAssertEqual(pair.server.receivedCount[id], window)
        XCTAssertEqual(pair.client.session.sendWindow(on: id), 0)
        XCTAssertEqual(pair.client.session.queuedBytes(on: id), accepted - window)
        XCTAssertFalse(pair.client.session.isWritable(id))
        XCTAssertFalse(pair.client.events.contains { if case .writable = $0 { true } else { false } })

        // The reader catches up: window updates drain the queue and writability comes back.
        var rounds = 0
        while pair.server.receivedCount[id, default: 0] < accepted {
            let buffered = pair.server.session.bufferedBytes(on: id)
            pair.server.perform(pair.server.session.consumed(buffered, on: id, now: pair.now), now: pair.now)
            pair.pump()
            XCTAssertLessThanOrEqual(pair.server.session.bufferedBytes(on: id),
                                     Int(pair.server.session.receiveWindow(on: id)))
            rounds += 1
            XCTAssertLessThan(rounds, 1000)
        }
        XCTAssertEqual(pair.server.received[id], Array(repeating: Array(chunk.readableBytesView), count: accepted / chunk.readableBytes).flatMap { $0 })
        XCTAssertTrue(pair.client.saw(.writable(id)))
        XCTAssertTrue(pair.client.session.isWritable(id))
        XCTAssertEqual(pair.client.session.queuedBytes(on: id), 0)
    }

    /// No WINDOW_UPDATE goes out until the application consumed half a window.
    func testWindowUpdateOnlyAfterConsumption() throws {
        var pair = YamuxPair()
        pair.server.autoConsume = false
        let id = try pair.open(from: \.client)
        try pair.send(testBytes(window), on: id, from: \.client)
        pair.pump()
        XCTAssertEqual(pair.client.session.sendWindow(on: id), 0)
        var actions = pair.server.session.consumed(window / 2 - 1, on: id, now: pair.now)
        XCTAssertTrue(actions.isEmpty)
        actions = pair.server.session.consumed(1, on: id, now: pair.now)
        let updates = sentHeaders(actions)
        XCTAssertEqual(updates.count, 1)
        XCTAssertEqual(updates.first?.type, .windowUpdate)
        XCTAssertGreaterThanOrEqual(updates.first?.length ?? 0, UInt32(window / 2))
        // Over-reporting consumption is clamped to what was delivered.
        _ = pair.server.session.consumed(10 * window, on: id, now: pair.now)
        XCTAssertEqual(pair.server.session.bufferedBytes(on: id), 0)
    }

    func testWindowGrowsToMaximumForAFastReader() throws {
        var pair = YamuxPair()
        pair.server.recordData = false
        let id = try pair.open(from: \.client)
        // The clock stands still: every update comes well within 4 RTTs, so each one doubles.
        try pair.send(testBytes(12 * 1024 * 1024), on: id, from: \.client)
        pair.pump()
        XCTAssertEqual(pair.server.receivedCount[id], 12 * 1024 * 1024)
        XCTAssertEqual(pair.server.session.receiveWindow(on: id), YamuxConfiguration.defaultMaxReceiveWindow)
    }

    func testWindowStaysSmallForASlowReader() throws {
        var pair = YamuxPair()
        pair.server.recordData = false
        let id = try pair.open(from: \.client)
        for _ in 0..<32 {
            try pair.send(testBytes(64 * 1024), on: id, from: \.client)
            pair.pump()
            pair.advance(.milliseconds(10))  // 10 ms per 64 KiB: slower than 4 × the assumed 1 ms RTT allows
        }
        XCTAssertEqual(pair.server.receivedCount[id], 2 * 1024 * 1024)
        XCTAssertEqual(pair.server.session.receiveWindow(on: id), YamuxConfiguration.initialWindow)
    }

    func testAutoTuneUsesMeasuredRTT() throws {
        var pair = YamuxPair()
        pair.server.recordData = false
        pair.server.perform(pair.server.session.ping(now: pair.now), now: pair.now)
        pair.advance(.milliseconds(50))
        pair.pump()
        XCTAssertEqual(pair.server.session.rtt, .milliseconds(50))
        let id = try pair.open(from: \.client)
        for _ in 0..<32 {
            try pair.send(testBytes(64 * 1024), on: id, from: \.client)
            pair.pump()
            pair.advance(.milliseconds(10))  // well within 4 × 50 ms
        }
        XCTAssertGreaterThan(pair.server.session.receiveWindow(on: id), YamuxConfiguration.initialWindow)
    }

    func testAutoTuneCanBeDisabled() throws {
        var config = YamuxConfiguration()
        config.autoTuneReceiveWindow = false
        var pair = YamuxPair(configuration: config)
        pair.server.recordData = false
        let id = try pair.open(from: \.client)
        try pair.send(testBytes(4 * 1024 * 1024), on: id, from: \.client)
        pair.pump()
        XCTAssertEqual(pair.server.receivedCount[id], 4 * 1024 * 1024)
        XCTAssertEqual(pair.server.session.receiveWindow(on: id), YamuxConfiguration.initialWindow)
    }

    func testFramesNeverExceedMaxPayload() throws {
        var pair = YamuxPair()
        let id = try pair.open(from: \.client)
        let actions = try pair.client.session.write(ByteBuffer(bytes: testBytes(200_000)), on: id)
        let dataFrames = sentHeaders(actions).filter { $0.type == .data }
        XCTAssertEqual(dataFrames.map(\.length), [65536, 65536, 65536, 3392])
    }

    // MARK: - Close, reset

    func testHalfCloseLetsTheOtherSideKeepSending() throws {
        var pair = YamuxPair()
        let id = try pair.open(from: \.client)
        try pair.closeWrite(id, from: \.client)
        XCTAssertThrowsError(try pair.client.session.write(ByteBuffer(bytes: [1]), on: id)) {
            XCTAssertEqual($0 as? YamuxError, .writeAfterClose(id))
        }
        XCTAssertNoThrow(try pair.client.session.closeWrite(on: id))  // idempotent
        pair.pump()
        XCTAssertTrue(pair.server.saw(.remoteFin(id)))
        XCTAssertFalse(pair.client.session.isWritable(id))
        XCTAssertTrue(pair.server.session.isWritable(id))
        try pair.send([9, 8, 7], on: id, from: \.server)
        pair.pump()
        XCTAssertEqual(pair.client.received[id], [9, 8, 7])
        XCTAssertEqual(pair.client.session.state(of: id), .halfClosedLocal)
        try pair.closeWrite(id, from: \.server)
        pair.pump()
        XCTAssertEqual(pair.client.session.streamCount, 0)
        XCTAssertEqual(pair.server.session.streamCount, 0)
    }

    func testFinWaitsForQueuedData() throws {
        var pair = YamuxPair()
        pair.server.autoConsume = false
        let id = try pair.open(from: \.client)
        let data = testBytes(window + 1000)
        pair.client.perform(try pair.client.session.write(ByteBuffer(bytes: data), on: id), now: pair.now)
        try pair.closeWrite(id, from: \.client)
        pair.pump()
        XCTAssertFalse(pair.server.saw(.remoteFin(id)), "FIN must not overtake queued data")
        XCTAssertEqual(pair.client.session.state(of: id), .open)
        pair.server.perform(pair.server.session.consumed(window, on: id, now: pair.now), now: pair.now)
        pair.pump()
        XCTAssertEqual(pair.server.received[id], data)
        XCTAssertTrue(pair.server.saw(.remoteFin(id)))
        XCTAssertEqual(pair.client.session.state(of: id), .halfClosedLocal)
    }

    func testResetReachesThePeerAndLateFramesAreIgnored() throws {
        var pair = YamuxPair()
        let id = try pair.open(from: \.client)
        try pair.send([1, 2, 3], on: id, from: \.client)
        pair.pump()
        // Both act at once: the client writes more while the server resets.
        try pair.send(testBytes(5000), on: id, from: \.client)
        pair.server.perform(pair.server.session.reset(on: id), now: pair.now)
        XCTAssertEqual(pair.server.session.state(of: id), .closed)
        pair.pump()
        XCTAssertTrue(pair.client.saw(.reset(id)))
        XCTAssertNil(pair.server.session.error, "data in flight on a reset stream is not an error")
        XCTAssertNil(pair.client.session.error)
        XCTAssertThrowsError(try pair.client.session.write(ByteBuffer(bytes: [1]), on: id)) {
            XCTAssertEqual($0 as? YamuxError, .streamNotFound(id))
        }
        XCTAssertEqual(pair.client.session.streamCount, 0)
        XCTAssertEqual(pair.server.session.streamCount, 0)
        XCTAssertEqual(pair.server.session.inboundStreamCount, 0)
    }

    func testResetDropsTheSendQueue() throws {
        var pair = YamuxPair()
        pair.server.autoConsume = false
        let id = try pair.open(from: \.client)
        pair.client.perform(try pair.client.session.write(ByteBuffer(bytes: testBytes(2 * window)), on: id), now: pair.now)
        XCTAssertEqual(pair.client.session.queuedBytes(on: id), window)
        let actions = pair.client.session.reset(on: id)
        XCTAssertEqual(sentHeaders(actions).map(\.flags), [.rst])
        pair.client.perform(actions, now: pair.now)
        pair.pump()
        XCTAssertTrue(pair.server.saw(.reset(id)))
        XCTAssertEqual(pair.client.session.queuedBytes(on: id), 0)
    }

    // MARK: - Stream limits, go-away

    func testInboundStreamLimitRefusesWithRST() throws {
        var config = YamuxConfiguration()
        config.maxInboundStreams = 2
        var pair = YamuxPair(configuration: config)
        let a = try pair.open(from: \.client)
        let b = try pair.open(from: \.client)
        let c = try pair.open(from: \.client)
        try pair.send([42], on: c, from: \.client)  // data sent before the refusal arrives
        pair.pump()
        XCTAssertEqual(pair.server.inbound, [a, b])
        XCTAssertTrue(pair.client.saw(.reset(c)))
        XCTAssertNil(pair.server.received[c])
        XCTAssertNil(pair.server.session.error)
        // Finishing one stream frees a slot.
        try pair.closeWrite(a, from: \.client)
        try pair.closeWrite(a, from: \.server)
        pair.pump()
        let d = try pair.open(from: \.client)
        pair.pump()
        XCTAssertEqual(pair.server.inbound, [a, b, d])
    }

    func testAckBacklogIsBounded() throws {
        var pair = YamuxPair()
        for _ in 0..<256 { _ = try pair.open(from: \.client) }
        XCTAssertThrowsError(try pair.client.session.openStream()) {
            XCTAssertEqual($0 as? YamuxError, .ackBacklogFull(limit: 256))
        }
        pair.pump()
        XCTAssertNoThrow(try pair.open(from: \.client))
    }

    func testGoAway() throws {
        var pair = YamuxPair()
        let id = try pair.open(from: \.client)
        pair.client.perform(pair.client.session.goAway(.normal), now: pair.now)
        XCTAssertTrue(pair.client.session.goAway(.normal).isEmpty, "GO_AWAY goes out once")
        XCTAssertThrowsError(try pair.client.session.openStream()) { XCTAssertEqual($0 as? YamuxError, .goingAway) }
        pair.pump()
        XCTAssertTrue(pair.server.saw(.remoteGoAway(.normal)))
        XCTAssertEqual(pair.server.session.remoteGoAwayCode, .normal)
        XCTAssertThrowsError(try pair.server.session.openStream()) { XCTAssertEqual($0 as? YamuxError, .goingAway) }
        // Existing streams carry on.
        try pair.send([1, 2], on: id, from: \.client)
        try pair.send([3], on: id, from: \.server)
        pair.pump()
        XCTAssertEqual(pair.server.received[id], [1, 2])
        XCTAssertEqual(pair.client.received[id], [3])
        // A SYN after our GO_AWAY is refused.
        let refused = pair.client.session.receive(frame(1, 1, 2, 0), now: pair.now)
        XCTAssertEqual(sentHeaders(refused), [YamuxFrameHeader(type: .windowUpdate, flags: .rst, streamID: YamuxStreamID(2), length: 0)])
        XCTAssertFalse(refused.contains(.inboundStream(YamuxStreamID(2))))
    }

    func testGoAwayWithErrorCodeIsReported() {
        var session = YamuxSession(role: .client)
        let actions = session.receive(frame(3, 0, 0, 4101), now: .now())
        XCTAssertEqual(actions, [.remoteGoAway(YamuxGoAwayCode(rawValue: 4101))])
    }

    // MARK: - Ping

    func testPingMeasuresRTT() {
        var pair = YamuxPair(dripFeed: true)
        pair.client.perform(pair.client.session.ping(now: pair.now), now: pair.now)
        pair.advance(.milliseconds(7))
        pair.pump()
        XCTAssertTrue(pair.client.saw(.pong(.milliseconds(7))))
        XCTAssertEqual(pair.client.session.rtt, .milliseconds(7))
        pair.client.perform(pair.client.session.ping(now: pair.now), now: pair.now)
        pair.advance(.milliseconds(3))
        pair.pump()
        XCTAssertEqual(pair.client.session.rtt, .milliseconds(5), "smoothed")
    }

    func testAnswersPeerPingAndIgnoresStrayAck() {
        var session = YamuxSession(role: .client)
        // py-libp2p pings 0.5 s after connecting with PING(SYN).
        let answer = session.receive(frame(2, 1, 0, 123_456), now: .now())
        XCTAssertEqual(sentHeaders(answer), [YamuxFrameHeader(type: .ping, flags: .ack, streamID: .session, length: 123_456)])
        XCTAssertEqual(session.receive(frame(2, 2, 0, 99), now: .now()), [])
        XCTAssertNil(session.rtt)
    }

    // MARK: - Interop details

    func testOpensWithWindowUpdateSynAndAcksSeparately() throws {
        var client = YamuxSession(role: .client)
        let (id, actions) = try client.openStream()
        XCTAssertEqual(sentHeaders(actions), [YamuxFrameHeader(type: .windowUpdate, flags: .syn, streamID: id, length: 0)])
        var server = YamuxSession(role: .server)
        // A SYN carrying data and FIN at once (legal): ACK goes out alone.
        let reply = server.receive(frame(0, 0x1 | 0x4, 1, 3, payload: [7, 8, 9]), now: .now())
        XCTAssertEqual(sentHeaders(reply), [YamuxFrameHeader(type: .windowUpdate, flags: .ack, streamID: id, length: 0)])
        XCTAssertTrue(reply.contains(.inboundStream(id)))
        XCTAssertTrue(reply.contains(.data(id, ByteBuffer(bytes: [7, 8, 9]))))
        XCTAssertTrue(reply.contains(.remoteFin(id)))
        XCTAssertEqual(server.state(of: id), .halfClosedRemote)
    }

    func testSynWithWindowDeltaGrantsMore() {
        var server = YamuxSession(role: .server)
        _ = server.receive(frame(1, 1, 1, 1 << 20), now: .now())
        XCTAssertEqual(server.sendWindow(on: YamuxStreamID(1)), YamuxConfiguration.initialWindow + (1 << 20))
    }

    func testAckMovesStreamToOpen() throws {
        var client = YamuxSession(role: .client)
        let (id, _) = try client.openStream()
        XCTAssertEqual(client.state(of: id), .synSent)
        _ = client.receive(frame(1, 2, id.rawValue, 0), now: .now())
        XCTAssertEqual(client.state(of: id), .open)
    }

    func testTinySlicesOfLargeBuffersAreCopied() {
        var server = YamuxSession(role: .server)
        var big = frame(0, 1, 1, 4, payload: [1, 2, 3, 4])
        big.writeBytes(frame(2, 1, 0, 1).readableBytesView)
        big.reserveCapacity(minimumWritableBytes: 64 * 1024)
        let actions = server.receive(big, now: .now())
        for case .data(_, let chunk) in actions {
            XCTAssertEqual(Array(chunk.readableBytesView), [1, 2, 3, 4])
            XCTAssertLessThan(chunk.storageCapacity, 1024)
        }
        XCTAssertTrue(actions.contains(.data(YamuxStreamID(1), ByteBuffer(bytes: [1, 2, 3, 4]))))
    }

    // MARK: - Protocol violations

    /// Feeds raw bytes to a fresh server session and returns the error it closed with, checking
    /// that GO_AWAY(protocol error) went out first and that the session is dead afterwards.
    private func violation(_ frames: ByteBuffer..., file: StaticString = #filePath, line: UInt = #line) -> YamuxError? {
        var session = YamuxSession(role: .server)
        var all = ByteBuffer()
        for var f in frames { all.writeBuffer(&f) }
        let actions = session.receive(all, now: .now())
        guard let error = closeReason(actions) else {
            XCTFail("no error", file: file, line: line)
            return nil
        }
        XCTAssertEqual(sentHeaders(actions).last, YamuxFrameHeader(type: .goAway, streamID: .session, length: 1),
                       file: file, line: line)
        XCTAssertEqual(session.error, error, file: file, line: line)
        XCTAssertEqual(session.receive(frame(2, 1, 0, 1), now: .now()), [], file: file, line: line)
        XCTAssertThrowsError(try session.openStream(), file: file, line: line)
        return error
    }

    func testWindowOverflowByMaliciousPeerClosesSession() {
        let oneFrame = violation(frame(1, 1, 1, 0), frame(0, 0, 1, UInt32(window + 1), payload: testBytes(window + 1)))
        XCTAssertEqual(oneFrame, .receiveWindowExceeded(YamuxStreamID(1), length: UInt32(window + 1), window: UInt32(window)))
        // Two frames that each fit but together overrun the window.
        let two = violation(frame(1, 1, 1, 0),
                            frame(0, 0, 1, 200_000, payload: testBytes(200_000)),
                            frame(0, 0, 1, 100_000, payload: testBytes(100_000)))
        XCTAssertEqual(two, .receiveWindowExceeded(YamuxStreamID(1), length: 100_000, window: UInt32(window - 200_000)))
    }

    func testWindowOverflowOneByteAtATimeDetectedAtHeader() {
        var session = YamuxSession(role: .server)
        var bytes = frame(1, 1, 1, 0)
        bytes.writeBytes(frame(0, 0, 1, UInt32(window + 1)).readableBytesView)
        var result: [YamuxAction] = []
        while let one = bytes.readSlice(length: 1) { result += session.receive(one, now: .now()) }
        XCTAssertEqual(closeReason(result), .receiveWindowExceeded(YamuxStreamID(1), length: UInt32(window + 1), window: UInt32(window)))
    }

    func testUnknownFrameTypeClosesSession() {
        XCTAssertEqual(violation(frame(9, 0, 1, 0)), .unknownFrameType(9))
        XCTAssertEqual(violation(frame(0, 0, 1, 0, version: 2)), .unsupportedVersion(2))
        XCTAssertEqual(violation(frame(0, 0x40, 1, 0)), .invalidFlags(.data, YamuxFlags(rawValue: 0x40)))
    }

    func testOversizedFrameClosesSession() {
        XCTAssertEqual(violation(frame(0, 0, 1, 20_000_000)),
                       .frameTooLarge(YamuxStreamID(1), length: 20_000_000, limit: YamuxConfiguration.defaultMaxReceiveWindow))
    }

    func testStreamIDViolations() {
        XCTAssertEqual(violation(frame(0, 0, 1, 1, payload: [0])), .unknownStream(YamuxStreamID(1)))
        XCTAssertEqual(violation(frame(1, 0, 2, 10)), .unknownStream(YamuxStreamID(2)))
        XCTAssertEqual(violation(frame(1, 1, 2, 0)), .invalidStreamID(YamuxStreamID(2), .windowUpdate))  // our parity
        XCTAssertEqual(violation(frame(1, 1, 1, 0), frame(1, 1, 1, 0)), .duplicateStream(YamuxStreamID(1)))
        XCTAssertEqual(violation(frame(1, 1, 5, 0), frame(1, 1, 3, 0)), .invalidStreamID(YamuxStreamID(3), .windowUpdate))
        XCTAssertEqual(violation(frame(0, 0, 0, 0)), .invalidStreamID(.session, .data))
        XCTAssertEqual(violation(frame(2, 1, 1, 0)), .invalidStreamID(YamuxStreamID(1), .ping))
        XCTAssertEqual(violation(frame(3, 0, 1, 0)), .invalidStreamID(YamuxStreamID(1), .goAway))
    }

    func testFlagViolations() {
        XCTAssertEqual(violation(frame(1, 3, 1, 0)), .invalidFlags(.windowUpdate, [.syn, .ack]))
        XCTAssertEqual(violation(frame(2, 0, 0, 0)), .invalidFlags(.ping, []))
        XCTAssertEqual(violation(frame(3, 4, 0, 0)), .invalidFlags(.goAway, .fin))
    }

    func testDataAfterFinClosesSession() {
        XCTAssertEqual(violation(frame(1, 1 | 4, 1, 0), frame(0, 0, 1, 2, payload: [1, 2])),
                       .dataAfterFin(YamuxStreamID(1)))
    }

    func testSendWindowOverflowClosesSession() {
        XCTAssertEqual(violation(frame(1, 1, 1, 0), frame(1, 0, 1, UInt32.max)), .sendWindowOverflow(YamuxStreamID(1)))
    }

    func testLateFramesOnFinishedStreamsAreNotErrors() throws {
        var pair = YamuxPair()
        let id = try pair.open(from: \.client)
        pair.pump()
        try pair.closeWrite(id, from: \.client)
        try pair.closeWrite(id, from: \.server)
        pair.pump()
        XCTAssertEqual(pair.client.session.streamCount, 0)
        let late = pair.client.session.receive(frame(1, 0, id.rawValue, 1000), now: pair.now)
        XCTAssertEqual(late, [])
        XCTAssertNil(pair.client.session.error)
    }
}
