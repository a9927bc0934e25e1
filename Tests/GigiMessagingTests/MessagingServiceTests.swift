// Loopback integration tests: two (or three) real P2PHosts with real LMDB stores.

import Foundation
import GigiCBOR
import GigiStore
import NIOCore
import P2PCore
import P2PHost
import XCTest
@testable import GigiMessaging

final class MessagingServiceTests: XCTestCase {
    func testSendIsAcknowledgedAndStoredOnBothSides() async throws {
        let a = try await makeNode(self, nickname: "alice")
        let b = try await makeNode(self, nickname: "bob")
        await introduce(a, to: b)
        let received = b.service.events
        let result = try await a.service.send(text: "hello bob", to: b.peerID)
        guard case .delivered(let info) = result else { return XCTFail("not delivered: \(result)") }
        XCTAssertEqual(info.status, .delivered)
        XCTAssertNotNil(info.receivedAt)

        var it = received.makeAsyncIterator()
        guard case .received(let got)? = await it.next() else { return XCTFail("no received event") }
        XCTAssertEqual(got.text, "hello bob")
        XCTAssertEqual(got.nickname, "alice")
        XCTAssertEqual(got.id, info.id)

        let mine = try a.service.messages(with: b.peerID.description)
        XCTAssertEqual(mine.map(\.status), [.delivered])
        XCTAssertEqual(mine.first?.direction, .outgoing)
        let theirs = try b.service.messages(with: a.peerID.description)
        XCTAssertEqual(theirs.map(\.text), ["hello bob"])
        XCTAssertEqual(theirs.first?.status, .received)
        XCTAssertEqual(theirs.first?.unread, true)
        XCTAssertEqual(try b.service.inbox(unreadOnly: true).count, 1)
        XCTAssertEqual(try b.service.markRead(peer: a.peerID.description), 1)
        XCTAssertEqual(try b.service.inbox(unreadOnly: true).count, 0)
        XCTAssertEqual(try b.service.inbox(unreadOnly: false).map(\.text), ["hello bob"])

        // A reply, and the outbox is empty.
        let reply = try await b.service.send(text: "hi alice", to: a.peerID, replyTo: info.id)
        XCTAssertTrue(reply.isDelivered)
        XCTAssertEqual(try a.service.messages(with: b.peerID.description).map(\.text), ["hello bob", "hi alice"])
        XCTAssertEqual(try a.service.messages(with: b.peerID.description).last?.replyTo, info.id)
        let outboxA = await a.service.outboxSize
        XCTAssertEqual(outboxA, 0)
        XCTAssertEqual(try a.store.read { try a.store.outbox.count(in: $0) }, 0)
        await a.shutdown()
        await b.shutdown()
    }

    func testLocalValidation() async throws {
        let a = try await makeNode(self)
        let other = P2PPrivateKey().peerID
        await XCTAssertThrowsMessagingError(.emptyText) { _ = try await a.service.send(text: "", to: other) }
        await XCTAssertThrowsMessagingError(.sendToSelf) { _ = try await a.service.send(text: "x", to: a.peerID) }
        await XCTAssertThrowsMessagingError(.textTooLong(bytes: 65_537, limit: 65_536)) {
            _ = try await a.service.send(text: String(repeating: "a", count: 65_537), to: other)
        }
        await XCTAssertThrowsMessagingError(.invalidReplyTo) { _ = try await a.service.send(text: "x", to: other, replyTo: [1]) }
        await a.shutdown()
        await XCTAssertThrowsMessagingError(.notRunning) { _ = try await a.service.send(text: "x", to: other) }
    }

    func testDuplicateIDIsStoredOnceAndAcknowledgedAgain() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        let (id, bytes) = try request("once")
        let first = try await rawRequest(from: a.host, to: b.peerID, bytes)
        let second = try await rawRequest(from: a.host, to: b.peerID, bytes)
        guard case .acknowledged(let id1, let t1)? = first, case .acknowledged(let id2, let t2)? = second else {
            return XCTFail("not acknowledged: \(String(describing: first)) \(String(describing: second))")
        }
        XCTAssertEqual(id1, id)
        XCTAssertEqual(id2, id)
        XCTAssertEqual(t1, t2, "the duplicate gets the original received_at")
        // Concurrent duplicates too.
        let (id3, bytes3) = try request("concurrent")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 { group.addTask { _ = try await rawRequest(from: a.host, to: b.peerID, bytes3) } }
            try await group.waitForAll()
        }
        let stored = try b.service.messages(with: a.peerID.description)
        XCTAssertEqual(stored.map(\.text), ["once", "concurrent"])
        XCTAssertEqual(stored.map(\.id), [id, id3])
        await a.shutdown()
        await b.shutdown()
    }

    func testOversizedRequestIsRefusedAndTheConnectionKeepsServing() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        let ok1 = try await a.service.send(text: "before", to: b.peerID)
        XCTAssertTrue(ok1.isDelivered)
        let connection = await a.host.connections(to: b.peerID).first
        XCTAssertNotNil(connection)

        // 10 MiB of text in one request: refused from the length prefix, before it is read.
        let huge = try DMWire.encode(DMRequest(id: [UInt8](repeating: 1, count: 16),
                                               text: String(repeating: "x", count: 10 << 20), sentAt: 1))
        let stream = try await a.host.newStream(to: b.peerID, protocols: [DMWire.protocolID])
        let writer = Task { try? await stream.writeLengthPrefixed(huge) }
        var answer: DMAnswer?
        do {
            if let buffer = try await stream.readLengthPrefixed(maxSize: DMWire.maxAnswerSize) {
                answer = try DMWire.decodeAnswer(Array(buffer.readableBytesView))
            }
        } catch {}
        await stream.reset()
        await writer.value
        if let answer { XCTAssertEqual(answer, .refused(id: [], .tooLarge)) }

        let ok2 = try await a.service.send(text: "after", to: b.peerID)
        XCTAssertTrue(ok2.isDelivered)
        let still = await a.host.connections(to: b.peerID).first
        XCTAssertEqual(still?.id, connection?.id, "the same connection served the next message")
        XCTAssertEqual(try b.service.messages(with: a.peerID.description).map(\.text), ["before", "after"])
        await a.shutdown()
        await b.shutdown()
    }

    func testInvalidCBORAndUnknownVersionAreAnswered() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        let bad = try await rawRequest(from: a.host, to: b.peerID, [0xa1, 0x61, 0x76, 0xff, 0x00])
        XCTAssertEqual(bad, .refused(id: [], .badRequest))
        let id = [UInt8](repeating: 9, count: 16)
        var w = CBORMap()
        w["v"] = .unsigned(2); w["id"] = .bytes(id); w["text"] = .text("from the future"); w["sent_at"] = .unsigned(1)
        let future = try await rawRequest(from: a.host, to: b.peerID, w.encoded())
        XCTAssertEqual(future, .refused(id: id, .unsupportedVersion))
        let ok3 = try await a.service.send(text: "fine", to: b.peerID)
        XCTAssertTrue(ok3.isDelivered)
        XCTAssertEqual(try b.service.messages(with: a.peerID.description).map(\.text), ["fine"])
        await a.shutdown()
        await b.shutdown()
    }

    func testStalledRequestTimesOutAndOthersAreServed() async throws {
        var config = MessagingConfig()
        config.readTimeout = .milliseconds(300)
        let a = try await makeNode(self)
        let b = try await makeNode(self, config: config)
        await introduce(a, to: b)
        let stalled = try await a.host.newStream(to: b.peerID, protocols: [DMWire.protocolID])
        try await stalled.write([0x05, 0xa1])          // announces 5 bytes, sends 1, then nothing
        let ok4 = try await a.service.send(text: "meanwhile", to: b.peerID)
        XCTAssertTrue(ok4.isDelivered)
        let start = ContinuousClock.now
        do {
            let answer = try await stalled.readLengthPrefixed(maxSize: 1024)
            XCTAssertNil(answer)
        } catch {
            // reset by the receiver: expected
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5), "the receiver gave up on the stalled stream")
        await a.shutdown()
        await b.shutdown()
    }

    func testFloodFromOnePeerIsRateLimitedWhileAnotherIsServed() async throws {
        let (b, flooder, friend) = try await makeFloodScene(self, burst: 500, refillPerSecond: 50)

        let total = 8_000
        let started = Date()
        let counts = try await withThrowingTaskGroup(of: (acked: Int, limited: Int, dropped: Int).self) { group in
            let lanes = 60
            for lane in 0..<lanes {
                group.addTask {
                    var c = (acked: 0, limited: 0, dropped: 0)
                    for i in stride(from: lane, to: total, by: lanes) {
                        let (_, bytes) = try request("flood \(i)")
                        switch try? await rawRequest(from: flooder.host, to: b.peerID, bytes) {
                        case .acknowledged?: c.acked += 1
                        case .refused(_, .rateLimited)?: c.limited += 1
                        default: c.dropped += 1
                        }
                    }
                    return c
                }
            }
            // Meanwhile the friend's messages get through.
            var friendDelivered = 0
            for i in 0..<20 where try await friend.service.send(text: "friend \(i)", to: b.peerID).isDelivered {
                friendDelivered += 1
            }
            XCTAssertEqual(friendDelivered, 20)
            var sum = (acked: 0, limited: 0, dropped: 0)
            for try await c in group { sum.acked += c.acked; sum.limited += c.limited; sum.dropped += c.dropped }
            return sum
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(counts.acked + counts.limited + counts.dropped, total)
        XCTAssertGreaterThan(counts.limited, total / 2, "most of the flood was refused: \(counts)")
        XCTAssertLessThanOrEqual(Double(counts.acked), 500 + 50 * elapsed + 50, "acked within the bucket: \(counts)")
        let stored = try b.service.messages(with: flooder.peerID.description, limit: total).count
        XCTAssertEqual(stored, counts.acked)
        XCTAssertEqual(try b.service.messages(with: friend.peerID.description, limit: 100).count, 20)
        print("flood: \(counts) in \(String(format: "%.1f", elapsed)) s")
        await flooder.shutdown()
        await friend.shutdown()
        await b.shutdown()
    }

    func testOfflinePeerIsQueuedThenDeliveredOnceWhenReachable() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        let bID = b.peerID
        await b.host.shutdown()     // b is down; a knows no address for it yet
        let events = a.service.events
        let result = try await a.service.send(text: "are you there?", to: bID)
        guard case .queued(let info, let reason) = result else { return XCTFail("not queued: \(result)") }
        XCTAssertFalse(reason.isEmpty)
        XCTAssertEqual(try a.service.messages(with: bID.description).map(\.status), [.queued])
        XCTAssertEqual(try a.store.read { try a.store.outbox.count(in: $0) }, 1)

        // b comes up (same identity and store, new port); a learns its address.
        await b.service.stop()
        let b2 = try await makeNode(self, identity: b.identity, dir: nil)
        await introduce(a, to: b2)
        await a.service.peerReachable(bID)
        var it = events.makeAsyncIterator()
        var delivered: DMInfo?
        while let e = await it.next() {
            if case .delivered(let i) = e { delivered = i; break }
        }
        XCTAssertEqual(delivered?.id, info.id)
        XCTAssertEqual(try a.service.messages(with: bID.description).map(\.status), [.delivered])
        XCTAssertEqual(try b2.service.messages(with: a.peerID.description).map(\.text), ["are you there?"])
        // Seeing the peer again sends nothing more.
        await a.service.peerReachable(bID)
        try await Task.sleep(for: .milliseconds(200))
        XCTAssertEqual(try b2.service.messages(with: a.peerID.description).count, 1)
        await a.shutdown()
        await b2.shutdown()
        b.store.environment.close()
    }

    func testPatientSendIsDeliveredWhenThePeerShowsUpWithinTheTimeout() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        let sending = Task { try await a.service.send(text: "wait for it", to: b.peerID, timeout: .seconds(20),
                                                      waitThroughFailures: true) }
        // The first attempt fails (no address); then discovery finds b.
        let failedOnce = await eventually { await a.service.outboxSize == 1 }
        XCTAssertTrue(failedOnce)
        try await Task.sleep(for: .milliseconds(100))
        await introduce(a, to: b)
        await a.service.peerReachable(b.peerID)
        let result = try await sending.value
        XCTAssertTrue(result.isDelivered, "\(result)")
        // Without waitThroughFailures the same situation answers queued at once.
        let c = P2PPrivateKey().peerID
        let quick = try await a.service.send(text: "nobody home", to: c, timeout: .seconds(20))
        guard case .queued(_, let reason) = quick else { return XCTFail("\(quick)") }
        XCTAssertTrue(reason.contains("No address"), reason)
        await a.shutdown()
        await b.shutdown()
    }

    func testRestartWithAFullOutboxDeliversEverythingExactlyOnce() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        let count = 300
        var sent: [String] = []
        for i in 0..<count {
            let text = "queued \(i)"
            let r = try await a.service.send(text: text, to: b.peerID)
            XCTAssertTrue(r.isQueued, "no address known yet")
            sent.append(text)
        }
        let payloads: [[UInt8]] = try a.store.read { txn in
            try a.store.outbox.entries(in: txn).map(\.value)
                .sorted { $0.messageKey.lexicographicallyPrecedes($1.messageKey) }.map(\.payload)
        }
        XCTAssertEqual(payloads.count, count)
        // "Crash": a stops with everything still in its outbox, and a new process opens the store.
        let identity = a.identity, dir = a.dir
        await a.shutdown()
        // b already got the first 100 (as if a crashed before recording the acknowledgements).
        let replayer = P2PHost(identity: identity)
        await replayer.addAddresses([b.address], for: b.peerID)
        for p in payloads.prefix(100) {
            guard case .acknowledged? = try await rawRequest(from: replayer, to: b.peerID, p) else { return XCTFail("not acked") }
        }
        await replayer.shutdown()
        XCTAssertEqual(try b.service.messages(with: identity.peerID.description, limit: 1000).count, 100)
        let a2 = try await makeNode(self, identity: identity, dir: dir, start: false)
        XCTAssertEqual(try a2.store.read { try a2.store.outbox.count(in: $0) }, count)
        await introduce(a2, to: b)
        try await a2.service.start()
        let done = try await eventually { try a2.store.read { try a2.store.outbox.count(in: $0) } == 0 }
        XCTAssertTrue(done)
        let got = try b.service.messages(with: a2.peerID.description, limit: 1000)
        XCTAssertEqual(got.map(\.text), sent, "each exactly once, in order")
        XCTAssertEqual(Set(try a2.service.messages(with: b.peerID.description, limit: 1000).map(\.status)), [.delivered])
        await a2.shutdown()
        await b.shutdown()
    }

    func testConcurrentBothWaysNoneLostNoneDuplicatedOrderKept() async throws {
        let a = try await makeNode(self)
        let b = try await makeNode(self)
        await introduce(a, to: b)
        await introduce(b, to: a)
        let perDirection = 2_000, lanes = 8
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (from, to, name) in [(a, b, "a"), (b, a, "b")] {
                for lane in 0..<lanes {
                    group.addTask {
                        for i in stride(from: lane, to: perDirection, by: lanes) {
                            _ = try await from.service.send(text: "\(name) \(lane) \(i)", to: to.peerID)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        for (from, to, name) in [(a, b, "a"), (b, a, "b")] {
            let drained = await eventually { await from.service.outboxSize == 0 }
            XCTAssertTrue(drained, "\(name)'s outbox drained")
            let sentView = try from.service.messages(with: to.peerID.description, limit: 10 * perDirection)
            let receivedView = try to.service.messages(with: from.peerID.description, limit: 10 * perDirection)
            let sent = sentView.filter { $0.direction == .outgoing }
            let received = receivedView.filter { $0.direction == .incoming }
            XCTAssertEqual(sent.count, perDirection)
            XCTAssertEqual(Set(sent.map(\.status)), [.delivered])
            XCTAssertEqual(received.count, perDirection, "none lost, none duplicated")
            XCTAssertEqual(Set(received.map(\.text)).count, perDirection)
            XCTAssertEqual(received.map(\.id), sent.map(\.id), "the receiver's order is the sender's")
            // Within each sequential lane, the order the sends were made.
            for lane in 0..<lanes {
                let indices = received.map(\.text).filter { $0.hasPrefix("\(name) \(lane) ") }
                    .map { Int($0.split(separator: " ")[2])! }
                XCTAssertEqual(indices, Array(stride(from: lane, to: perDirection, by: lanes)))
            }
        }
        await a.shutdown()
        await b.shutdown()
    }

    func testUndeliveredMessagesExpire() async throws {
        let clock = ManualClock()
        var config = MessagingConfig()
        config.outboxExpiry = 7 * 24 * 3600
        let a = try await makeNode(self, config: config, clock: clock)
        let nobody = P2PPrivateKey().peerID
        let events = a.service.events
        let r = try await a.service.send(text: "into the void", to: nobody)
        XCTAssertTrue(r.isQueued)
        clock.advance(by: 6 * 24 * 3600)
        await a.service.runMaintenance()
        XCTAssertEqual(try a.service.messages(with: nobody.description).map(\.status), [.queued])
        clock.advance(by: 24 * 3600 + 1)
        await a.service.runMaintenance()
        XCTAssertEqual(try a.service.messages(with: nobody.description).map(\.status), [.expired])
        XCTAssertEqual(try a.store.read { try a.store.outbox.count(in: $0) }, 0)
        let size = await a.service.outboxSize
        XCTAssertEqual(size, 0)
        var it = events.makeAsyncIterator()
        var sawExpired = false
        while let e = await it.next() {
            if case .expired(let info) = e { sawExpired = info.id == r.info.id; break }
        }
        XCTAssertTrue(sawExpired)
        await a.shutdown()
    }

    func testBackoffWaitsAndPeerReachableRetriesAtOnce() async throws {
        let clock = ManualClock()
        let a = try await makeNode(self, clock: clock)
        let b = try await makeNode(self)
        let ok5 = try await a.service.send(text: "one", to: b.peerID)
        XCTAssertTrue(ok5.isQueued)
        // Learning the address is not enough while the peer is in backoff (no time passed)…
        await introduce(a, to: b)
        await a.service.runMaintenance()
        try await Task.sleep(for: .milliseconds(300))
        XCTAssertEqual(try b.service.messages(with: a.peerID.description).count, 0)
        // …but once the backoff has passed, maintenance retries.
        clock.advance(by: 2)
        await a.service.runMaintenance()
        let retried = await eventually { (try? b.service.messages(with: a.peerID.description).count) == 1 }
        XCTAssertTrue(retried)
        await a.shutdown()
        await b.shutdown()
    }
}

/// A CBOR map built field by field (test helper).
struct CBORMap {
    var fields: [(String, CBOR)] = []
    subscript(key: String) -> CBOR? {
        get { fields.first { $0.0 == key }?.1 }
        set { fields.removeAll { $0.0 == key }; if let newValue { fields.append((key, newValue)) } }
    }
    func encoded() -> [UInt8] { CBOR.map(fields.map { (key: CBOR.text($0.0), value: $0.1) }).encoded() }
}

func XCTAssertThrowsMessagingError(_ expected: MessagingError, file: StaticString = #filePath, line: UInt = #line,
                                   _ body: () async throws -> Void) async {
    do {
        try await body()
        XCTFail("no error, expected \(expected)", file: file, line: line)
    } catch let error as MessagingError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}
