// /gigi/dm/2.0.0 sessions on real hosts and stores: pipelining, refusals that keep the
// session, the size limit that ends it, rate limits, stalls, and the fallback to 1.0.0.

import Foundation
import GigiCBOR
import GigiStore
import NIOCore
import P2PCore
import P2PHost
import XCTest
@testable import GigiMessaging

/// A raw session: writes frames, reads answers in order.
struct RawSession {
    let stream: P2PStream
    var buffer = ByteBuffer()

    init(from host: P2PHost, to peer: PeerID) async throws {
        stream = try await host.newStream(to: peer, protocols: [DMWire.sessionProtocolID])
    }

    func send(_ payloads: [[UInt8]]) async throws {
        var out = ByteBuffer()
        for p in payloads { DMWire.appendFrame(p, to: &out) }
        try await stream.write(out)
    }

    /// The next `n` answers (fewer if the session ends first).
    mutating func answers(_ n: Int) async throws -> [DMAnswer] {
        var out: [DMAnswer] = []
        while out.count < n {
            while out.count < n, let frame = DMWire.nextFrame(&buffer, maxSize: DMWire.maxAnswerSize) {
                guard case .message(let bytes) = frame else { throw DMWireError("bad frame \(frame)") }
                out.append(try DMWire.decodeAnswer(bytes))
            }
            if out.count == n { break }
            guard var chunk = try await stream.read() else { break }
            buffer.writeBuffer(&chunk)
        }
        return out
    }

    /// True once the receiver has closed its side (EOF), false if it reset the stream.
    func ended() async -> Bool {
        do { return try await stream.read() == nil } catch { return false }
    }
}

final class MessagingSessionsTests: XCTestCase {
    func testManyPipelinedRequestsAreAnsweredInOrderAndStoredOnce() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        var session = try await RawSession(from: a.host, to: b.peerID)
        var ids = DMMessageIDGenerator()
        let requests = try (0..<600).map { try request("pipelined \($0)", id: ids.next(milliseconds: Date().dmMilliseconds)) }
        // Far more than the receiver reads ahead (256): flow control holds the rest back.
        let writer = Task { [session] in try await session.send(requests.map(\.bytes)) }
        let answers = try await session.answers(600)
        try await writer.value
        XCTAssertEqual(answers.map(\.id), requests.map(\.id), "one answer per request, in order")
        for answer in answers { guard case .acknowledged = answer else { return XCTFail("\(answer)") } }
        // A retry of the first 10 on the same session: acknowledged again with the same time, stored once.
        try await session.send(requests.prefix(10).map(\.bytes))
        let again = try await session.answers(10)
        XCTAssertEqual(again, Array(answers.prefix(10)))
        try await session.stream.closeWrite()
        let ended = await session.ended()
        XCTAssertTrue(ended, "the receiver half-closes after the sender did")
        let stored = try b.service.messages(with: a.peerID.description, limit: 1000)
        XCTAssertEqual(stored.map(\.text), (0..<600).map { "pipelined \($0)" })
        await a.shutdown()
        await b.shutdown()
    }

    func testBadRequestsAreAnsweredAndTheSessionGoesOn() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        var session = try await RawSession(from: a.host, to: b.peerID)
        let id = [UInt8](repeating: 9, count: 16)
        var future = CBORMap()
        future["v"] = .unsigned(2); future["id"] = .bytes(id); future["text"] = .text("from the future"); future["sent_at"] = .unsigned(1)
        let good = try request("fine")
        try await session.send([[0xa1, 0x61, 0x76, 0xff, 0x00], future.encoded(), good.bytes])
        let answers = try await session.answers(3)
        XCTAssertEqual(answers.count, 3)
        XCTAssertEqual(answers.first, .refused(id: [], .badRequest))
        XCTAssertEqual(answers.dropFirst().first, .refused(id: id, .unsupportedVersion))
        guard case .acknowledged(let ackID, _)? = answers.last else { return XCTFail("\(answers)") }
        XCTAssertEqual(ackID, good.id)
        XCTAssertEqual(try b.service.messages(with: a.peerID.description).map(\.text), ["fine"])
        await a.shutdown()
        await b.shutdown()
    }

    func testTooLargeRequestIsRefusedUnreadAndEndsOnlyThatSession() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        var session = try await RawSession(from: a.host, to: b.peerID)
        let before = try request("before")
        var out = ByteBuffer()
        DMWire.appendFrame(before.bytes, to: &out)
        Varint.write(10 << 20, to: &out)          // announces 10 MiB…
        out.writeBytes([UInt8](repeating: 0x61, count: 1000))   // …and starts sending it
        try await session.stream.write(out)
        let answers = try await session.answers(2)
        guard case .acknowledged? = answers.first else { return XCTFail("\(answers)") }
        XCTAssertEqual(answers.last, .refused(id: [], .tooLarge))
        let ended = await session.ended()
        XCTAssertTrue(ended, "the session ends after the refusal")
        // The connection and the service go on.
        let r = try await a.service.send(text: "after", to: b.peerID)
        XCTAssertTrue(r.isDelivered, "\(r)")
        XCTAssertEqual(try b.service.messages(with: a.peerID.description).map(\.text), ["before", "after"])
        await a.shutdown()
        await b.shutdown()
    }

    func testFloodOnASessionIsRateLimitedWhileAnotherPeerIsServed() async throws {
        let (b, flooder, friend) = try await makeFloodScene(self, burst: 200, refillPerSecond: 50)
        var session = try await RawSession(from: flooder.host, to: b.peerID)
        let total = 5_000
        let requests = try (0..<total).map { try request("flood \($0)") }
        let started = Date()
        let writer = Task { [session] in try await session.send(requests.map(\.bytes)) }
        var friendDelivered = 0
        for i in 0..<20 where try await friend.service.send(text: "friend \(i)", to: b.peerID).isDelivered { friendDelivered += 1 }
        let answers = try await session.answers(total)
        try await writer.value
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(friendDelivered, 20)
        XCTAssertEqual(answers.count, total, "every request answered")
        let acked = answers.filter { if case .acknowledged = $0 { return true } else { return false } }.count
        let limited = answers.filter { $0 == .refused(id: [], .rateLimited) }.count
        XCTAssertEqual(acked + limited, total)
        XCTAssertLessThanOrEqual(Double(acked), 200 + 50 * elapsed + 50, "acked within the bucket (\(acked) in \(elapsed) s)")
        XCTAssertGreaterThan(limited, total / 2)
        XCTAssertEqual(try b.service.messages(with: flooder.peerID.description, limit: total).count, acked)
        await flooder.shutdown()
        await friend.shutdown()
        await b.shutdown()
    }

    func testMoreSessionsThanAllowedAreReset() async throws {
        var config = MessagingConfig()
        config.inbound.maxSessionsPerPeer = 2
        let a = try await makeNode(self)
        let b = try await makeNode(self, config: config)
        await introduce(a, to: b)
        var s1 = try await RawSession(from: a.host, to: b.peerID)
        var s2 = try await RawSession(from: a.host, to: b.peerID)
        // Both are being served once each has answered a request.
        try await s1.send([try request("one").bytes])
        try await s2.send([try request("two").bytes])
        let a1 = try await s1.answers(1), a2 = try await s2.answers(1)
        XCTAssertEqual(a1.count + a2.count, 2)
        let s3 = try await RawSession(from: a.host, to: b.peerID)
        try? await s3.send([try request("three").bytes])
        let ended = await s3.ended()
        XCTAssertFalse(ended, "the third session is reset, not served")
        await a.shutdown()
        await b.shutdown()
    }

    func testSessionStalledInTheMiddleOfARequestIsReset() async throws {
        var config = MessagingConfig()
        config.readTimeout = .milliseconds(300)
        let a = try await makeNode(self)
        let b = try await makeNode(self, config: config)
        await introduce(a, to: b)
        let session = try await RawSession(from: a.host, to: b.peerID)
        try await session.stream.write([0x05, 0xa1])      // announces 5 bytes, sends 1, then nothing
        let start = ContinuousClock.now
        let ended = await session.ended()
        XCTAssertFalse(ended, "reset")
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
        let r = try await a.service.send(text: "meanwhile", to: b.peerID)
        XCTAssertTrue(r.isDelivered)
        await a.shutdown()
        await b.shutdown()
    }

    func testSenderKeepsOneSessionForManyMessages() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        for i in 0..<50 {
            let r = try await a.service.send(text: "one by one \(i)", to: b.peerID)
            XCTAssertTrue(r.isDelivered)
        }
        // One stream carried them all: the connection opened few streams (ids count up by 2).
        let connections = await a.host.connections(to: b.peerID)
        let connection = try XCTUnwrap(connections.first)
        let probe = try await a.host.newStream(on: connection, protocols: [DMWire.protocolID])
        XCTAssertLessThan(probe.streamID, 20, "stream \(probe.streamID): a stream per message?")
        await probe.reset()
        XCTAssertEqual(try b.service.messages(with: a.peerID.description, limit: 100).count, 50)
        await a.shutdown()
        await b.shutdown()
    }

    func testPeerWithoutSessionsGetsOneStreamPerMessage() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        await b.host.removeHandler(DMWire.sessionProtocolID)     // an older Gigi: 1.0.0 only
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<100 { group.addTask { try await a.service.send(text: "old \(i)", to: b.peerID).isDelivered } }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        XCTAssertEqual(results, 100)
        let stored = try b.service.messages(with: a.peerID.description, limit: 1000)
        XCTAssertEqual(Set(stored.map(\.text)), Set((0..<100).map { "old \($0)" }))
        let legacy = await a.service.isLegacy(b.peerID)
        XCTAssertTrue(legacy)
        await a.shutdown()
        await b.shutdown()
    }

    func testQueuedRecordsCommittedAloneOrWithTheirDeliveryBothEndDelivered() async throws {
        for delay in [Duration.zero, .milliseconds(100), .seconds(30)] {
            var config = MessagingConfig()
            config.queuedCommitDelay = delay
            let a = try await makeNode(self, config: config)
            let b = try await makeNode(self)
            await introduce(a, to: b)
            let delivered = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<200 { group.addTask { try await a.service.send(text: "m \(i)", to: b.peerID).isDelivered } }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            XCTAssertEqual(delivered, 200, "delay \(delay)")
            // Answered delivered only with both records on disk: the history says so, the outbox is empty.
            XCTAssertEqual(Set(try a.service.messages(with: b.peerID.description, limit: 1000).map(\.status)), [.delivered])
            XCTAssertEqual(try a.store.read { try a.store.outbox.count(in: $0) }, 0)
            // Nobody answers: the held-back record is committed when the round fails, long before 30 s.
            let nobody = P2PPrivateKey().peerID
            let start = ContinuousClock.now
            let r = try await a.service.send(text: "into the void", to: nobody)
            XCTAssertTrue(r.isQueued)
            XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
            XCTAssertEqual(try a.store.read { try a.store.outbox.count(in: $0) }, 1, "queued means committed")
            await a.shutdown()
            await b.shutdown()
        }
    }
}
