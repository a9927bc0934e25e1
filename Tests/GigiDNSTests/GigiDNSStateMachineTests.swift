import NIOCore
import XCTest
@testable import GigiDNS

final class GigiDNSStateMachineTests: XCTestCase {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let alicePeer = GigiDNSLocalPeer(peerID: "12D3KooWAlice", nickname: "alice",
                                     addresses: ["/ip4/10.1.0.2/tcp/4001", "/ip6/fe80::2/tcp/4001"],
                                     capabilities: ["files"])

    func sent(_ actions: [GigiDNSStateMachine.Action]) -> [DNSMessage] {
        actions.compactMap { if case .send(let b) = $0 { return try? DNSMessage(decoding: b) } else { return nil } }
    }

    func events(_ actions: [GigiDNSStateMachine.Action]) -> [GigiDNSEvent] {
        actions.compactMap { if case .event(let e) = $0 { return e } else { return nil } }
    }

    func announcement(_ nick: String = "bob", id: String = "12D3KooWBob", addr: String = "/ip4/10.1.0.3/tcp/4001",
                      ttl: UInt32 = 10, meta: [GigiDNSMetaEntry] = []) -> [UInt8] {
        GigiDNSPackets.announcement(id: 0, record: GigiDNSRecord(peerID: id, nickname: nick, address: addr, meta: meta), ttl: ttl).encoded()
    }

    func testStartSendsQueryAndOneAnnouncementPerAddress() {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        let out = sent(m.start(now: t0))
        XCTAssertEqual(out.filter { !$0.isResponse }.count, 1)
        let answers = out.filter(\.isResponse)
        XCTAssertEqual(answers.count, 2)
        XCTAssertEqual(answers.map { $0.answers[0].ttl }, [120, 120])
    }

    func testPeriodicAnnouncementsEvery15sAndQueryBackoff() {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        var announceTimes: [Int64] = [], queryTimes: [Int64] = []
        var now = t0
        while now < t0 + .seconds(62) {
            now = m.nextDeadline
            for msg in sent(m.tick(now: now)) {
                let s = (now - t0).nanoseconds / 1_000_000_000
                if msg.isResponse { if msg.answers[0].data.type == DNSType.txt, !announceTimes.contains(s) { announceTimes.append(s) } }
                else { queryTimes.append(s) }
            }
        }
        XCTAssertEqual(Array(announceTimes.prefix(4)), [15, 30, 45, 60])
        XCTAssertEqual(Array(queryTimes.prefix(5)), [1, 3, 7, 15, 31])
    }

    func testDiscoveryUpdateAndTTLExpiryWithInjectedClock() {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        XCTAssertEqual(events(m.receive(announcement(ttl: 10), now: t0)).count, 1)
        guard case .discovered(let p)? = events(m.receive(announcement("bob", id: "12D3KooWBob2", ttl: 10), now: t0)).first
        else { return XCTFail("no discovery") }
        XCTAssertEqual(p.nickname, "bob")
        // A refresh with nothing new is silent; a new nickname is an update.
        XCTAssertEqual(events(m.receive(announcement(ttl: 10), now: t0 + .seconds(5))), [])
        guard case .updated(let u)? = events(m.receive(announcement("robert", ttl: 10), now: t0 + .seconds(6))).first
        else { return XCTFail("no update") }
        XCTAssertEqual(u.nickname, "robert")
        // 12D3KooWBob2 was last refreshed at t0 → expires at t0+10; Bob at t0+16.
        XCTAssertEqual(events(m.tick(now: t0 + .seconds(9))), [])
        let e1 = events(m.tick(now: t0 + .milliseconds(10_300)))
        XCTAssertEqual(e1.count, 1)
        if case .expired(let gone, .ttl) = e1[0] { XCTAssertEqual(gone.peerID, "12D3KooWBob2") } else { XCTFail() }
        XCTAssertEqual(m.peers.map(\.peerID), ["12D3KooWBob"])
        let e2 = events(m.tick(now: t0 + .milliseconds(16_300)))
        XCTAssertEqual(e2.count, 1)
        XCTAssertTrue(m.peers.isEmpty)
    }

    func testGoodbyeRemovesAtOnce() {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        _ = m.receive(announcement(ttl: 120), now: t0)
        XCTAssertEqual(m.peers.count, 1)
        let e = events(m.receive(announcement(ttl: 0), now: t0 + .seconds(1)))
        guard case .expired(let p, .goodbye)? = e.first else { return XCTFail("no goodbye: \(e)") }
        XCTAssertEqual(p.peerID, "12D3KooWBob")
        XCTAssertTrue(m.peers.isEmpty)
    }

    func testStopSendsGoodbyeForEveryAddressAndPeersRemoveUs() {
        var alice = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        var carol = GigiDNSStateMachine(local: nil, now: t0, idSeed: 99)
        _ = carol.start(now: t0)
        for case .send(let b) in alice.start(now: t0) { _ = carol.receive(b, now: t0) }
        XCTAssertEqual(carol.peers.first?.sortedAddresses.count, 2)
        let bye = alice.stop()
        XCTAssertEqual(sent(bye).map { $0.answers[0].ttl }, [0, 0])
        var last: [GigiDNSEvent] = []
        for case .send(let b) in bye { last = events(carol.receive(b, now: t0 + .seconds(1))) }
        XCTAssertEqual(last.count, 1)
        XCTAssertTrue(carol.peers.isEmpty)
    }

    func testTwoMachinesFindEachOtherViaQueryAndReply() {
        var alice = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        var carol = GigiDNSStateMachine(local: nil, now: t0, idSeed: 99)
        _ = alice.start(now: t0 - .seconds(100))
        // Carol starts later: her query makes alice reply at once.
        for case .send(let q) in carol.start(now: t0) {
            for case .send(let a) in alice.receive(q, now: t0) { _ = carol.receive(a, now: t0) }
        }
        XCTAssertEqual(carol.peers.map(\.nickname), ["alice"])
        XCTAssertEqual(alice.stats.repliesSent, 1)
    }

    func testOwnPacketsIgnored() {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        for case .send(let b) in m.start(now: t0) { XCTAssertEqual(m.receive(b, now: t0), []) }
        XCTAssertTrue(m.peers.isEmpty)
        XCTAssertEqual(m.stats.ownPackets, 3)
        XCTAssertEqual(m.stats.repliesSent, 0)
    }

    func testBurstOf10000QueriesStaysWithinReplyRateLimit() {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        var replyPackets = 0
        // 10,000 queries spread over 2 seconds of (injected) time.
        for i in 0..<10_000 {
            let now = t0 + .microseconds(Int64(i) * 200)
            let q = GigiDNSPackets.query(id: UInt16(truncatingIfNeeded: 1000 + i)).encoded()
            replyPackets += sent(m.receive(q, now: now)).count
        }
        // Burst 10 plus 10/s over 2 s = at most 30 replies (2 packets each, one per address).
        XCTAssertLessThanOrEqual(m.stats.repliesSent, 30)
        XCTAssertGreaterThanOrEqual(m.stats.repliesSent, 29)
        XCTAssertEqual(replyPackets, m.stats.repliesSent * 2)
        XCTAssertEqual(m.stats.repliesRateLimited, 10_000 - m.stats.repliesSent)
    }

    func testMalformedPacketsCountedAndDropped() throws {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        let g = try GoldenVectors.load()
        for v in g.malformed { XCTAssertEqual(m.receive(bytes(hex: v.hex), now: t0), [], v.name) }
        for v in g.badRecords { XCTAssertEqual(m.receive(bytes(hex: v.hex), now: t0), [], v.name) }
        XCTAssertEqual(m.stats.malformedPackets, g.malformed.count)
        XCTAssertEqual(m.stats.malformedRecords, g.badRecords.count)
        XCTAssertTrue(m.peers.isEmpty)
    }

    func testPeerTableIsBounded() {
        var config = GigiDNSConfig()
        config.maxPeers = 5
        var m = GigiDNSStateMachine(config: config, local: nil, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        for i in 0..<50 { _ = m.receive(announcement(id: "12D3KooW\(i)"), now: t0) }
        XCTAssertEqual(m.peers.count, 5)
        XCTAssertEqual(m.stats.peersRejected, 45)
    }

    func testRendezvousKeysAnnouncedAndQueriesAnswered() throws {
        let key = String(repeating: "ab", count: 32)
        var alice = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        _ = alice.start(now: t0)
        let ann = sent(alice.setRendezvousKeys([key], now: t0 + .seconds(2))).filter(\.isResponse)
        XCTAssertEqual(ann.count, 2)
        guard case .txt(let s) = ann[0].answers[0].data else { return XCTFail() }
        XCTAssertEqual(try GigiDNSRecord(characterStrings: s).rendezvousKeys, [key])

        var carol = GigiDNSStateMachine(local: nil, now: t0, idSeed: 500)
        _ = carol.start(now: t0)
        // Unknown key: silence. Known key: an answer carrying it.
        for case .send(let q) in carol.queryRendezvous(keyHex: String(repeating: "cd", count: 32)) {
            XCTAssertEqual(alice.receive(q, now: t0 + .seconds(3)), [])
        }
        var found: [GigiDNSPeer] = []
        for case .send(let q) in carol.queryRendezvous(keyHex: key) {
            for case .send(let a) in alice.receive(q, now: t0 + .seconds(3)) {
                for case .event(.discovered(let p)) in carol.receive(a, now: t0 + .seconds(3)) { found.append(p) }
            }
        }
        XCTAssertEqual(found.first?.rendezvousKeys, [key])
        XCTAssertEqual(GigiDNSPackets.classify(DNSQuestion(name: GigiDNSPackets.rendezvousName(key), type: DNSType.ptr)),
                       .rendezvous(keyHex: key))
    }

    func testInterfaceChangeAnnouncesOnceAndQueriesAgain() {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        var more = alicePeer
        more.addresses.append("/ip4/10.1.0.12/tcp/4001")
        let now = t0 + .milliseconds(500)  // before the first query retry is due
        let out = sent(m.updateLocal(more, now: now) + m.requery(now: now))
        XCTAssertEqual(out.filter(\.isResponse).count, 3, "one announcement per address, once")
        XCTAssertEqual(out.filter { !$0.isResponse }.count, 1)
        // Query backoff restarted: the next query follows after the initial interval.
        XCTAssertEqual(m.nextDeadline <= now + .seconds(1), true)
    }

    func testRemovedAddressGetsGoodbye() {
        var m = GigiDNSStateMachine(local: alicePeer, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        var fewer = alicePeer
        fewer.addresses = [alicePeer.addresses[0]]
        let out = sent(m.updateLocal(fewer, now: t0 + .seconds(1)))
        let ttls = out.filter(\.isResponse).map { $0.answers[0].ttl }
        XCTAssertEqual(ttls.sorted(), [0, 120])
    }
}

// MARK: - robustness: hostile input and floods (pure, injected time, no sockets)

final class GigiDNSStateMachineRobustnessTests: XCTestCase {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let alicePeer = GigiDNSLocalPeer(peerID: "12D3KooWAlice", nickname: "alice",
                                     addresses: ["/ip4/10.1.0.2/tcp/4001", "/ip6/fe80::2/tcp/4001"],
                                     capabilities: ["files"])
    let bobAnnouncement = GigiDNSPackets.announcement(
        id: 0, record: GigiDNSRecord(peerID: "12D3KooWBob", nickname: "bob", address: "/ip4/10.1.0.3/tcp/4001"),
        ttl: 60).encoded()

    func started(_ config: GigiDNSConfig = GigiDNSConfig()) -> GigiDNSStateMachine {
        var m = GigiDNSStateMachine(config: config, local: alicePeer, now: t0, idSeed: 7)
        _ = m.start(now: t0)
        return m
    }

    func sends(_ actions: [GigiDNSStateMachine.Action]) -> [[UInt8]] {
        actions.compactMap { if case .send(let b) = $0 { return b } else { return nil } }
    }

    func testGarbageTruncatedOversizedAndPointerLoopPacketsAreDroppedWithACounter() throws {
        var m = started()
        var hostile: [[UInt8]] = []
        var rng = SplitMix64(seed: 7173)
        for _ in 0..<2_000 {
            hostile.append((0..<Int(rng.next() % 600)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        for n in 0..<bobAnnouncement.count { hostile.append(Array(bobAnnouncement.prefix(n))) }
        hostile.append(bobAnnouncement + [UInt8](repeating: 0, count: DNSLimits.maxMessageBytes))  // oversized
        // A name whose pointer jumps back to its own first label: a loop that only the hop bound stops.
        hostile.append([0, 7, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, UInt8(ascii: "a"), 0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 60, 0, 0])
        var rejectedByDecoder = 0
        for p in hostile {
            if (try? DNSMessage(decoding: p)) == nil { rejectedByDecoder += 1 }
            // Nothing hostile yields a peer or a reply (random bytes that happen to parse are not Gigi records).
            XCTAssertTrue(m.receive(p, now: t0 + .seconds(1)).allSatisfy { if case .event = $0 { false } else { true } })
        }
        XCTAssertEqual(m.stats.packetsReceived, hostile.count)
        XCTAssertEqual(m.stats.malformedPackets, rejectedByDecoder)
        XCTAssertGreaterThanOrEqual(rejectedByDecoder, hostile.count - 20)  // nearly all are not even DNS
        XCTAssertTrue(m.peers.isEmpty)
        // The machine is not wedged: a good packet still works afterwards.
        _ = m.receive(bobAnnouncement, now: t0 + .seconds(2))
        XCTAssertEqual(m.peers.map(\.nickname), ["bob"])
    }

    func testOversizedAndBadTXTRecordsAreCountedAsMalformedRecords() {
        var m = started()
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 255)
        let text = Array("peer_id=12D3KooWBob nickname=bob addr=/ip4/1.2.3.4/tcp/1 meta=".utf8)
        // 4096 + 1 bytes of text: over the original's MAX_TXT_LENGTH.
        var strings = [text]
        while strings.reduce(0, { $0 + $1.count }) + 255 <= 4096 { strings.append(long) }
        strings.append([UInt8](repeating: UInt8(ascii: "y"), count: 4097 - strings.reduce(0) { $0 + $1.count }))
        let packet = DNSMessage(id: 0, flags: GigiDNSPackets.responseFlags, answers: [
            DNSResourceRecord(name: GigiDNSPackets.serviceName, ttl: 60, data: .txt(strings)),
        ]).encoded()
        XCTAssertEqual(m.receive(packet, now: t0), [])
        XCTAssertEqual(m.stats.malformedRecords, 1)
        XCTAssertEqual(m.stats.malformedPackets, 0)
        XCTAssertTrue(m.peers.isEmpty)
    }

    func testBurstOf10000QueriesAtOneInstantGetsOnlyTheBurst() {
        var m = started()
        var replies = 0
        for i in 0..<10_000 {
            replies += sends(m.receive(GigiDNSPackets.query(id: UInt16(truncatingIfNeeded: 1000 + i)).encoded(),
                                       now: t0 + .seconds(5))).count
        }
        XCTAssertEqual(m.stats.repliesSent, GigiDNSConfig().replyBurst)
        XCTAssertEqual(replies, GigiDNSConfig().replyBurst * alicePeer.addresses.count)
        XCTAssertEqual(m.stats.repliesRateLimited, 10_000 - GigiDNSConfig().replyBurst)
    }

    func testSustainedFloodOf10000QueriesStaysAtTenRepliesPerSecond() {
        var m = started()
        _ = m.setRendezvousKeys([String(repeating: "ab", count: 32)], now: t0)
        // One query per millisecond for 10 s of injected time (half of them rendezvous queries
        // for a key we hold); replies counted per whole second.
        var perSecond = [Int](repeating: 0, count: 10)
        for i in 0..<10_000 {
            let before = m.stats.repliesSent
            let q = i % 2 == 0 ? GigiDNSPackets.query(id: UInt16(truncatingIfNeeded: 1000 + i))
                               : GigiDNSPackets.rendezvousQuery(id: UInt16(truncatingIfNeeded: 1000 + i),
                                                                keyHex: String(repeating: "ab", count: 32))
            _ = m.receive(q.encoded(), now: t0 + .milliseconds(Int64(i)))
            perSecond[i / 1000] += m.stats.repliesSent - before
        }
        // The first second may spend the stored burst on top of the rate; every later second stays within 10.
        XCTAssertLessThanOrEqual(perSecond[0], GigiDNSConfig().replyBurst + GigiDNSConfig().replyRate)
        for (s, n) in perSecond.enumerated().dropFirst() {
            XCTAssertLessThanOrEqual(n, GigiDNSConfig().replyRate, "second \(s)")
            XCTAssertGreaterThanOrEqual(n, GigiDNSConfig().replyRate - 1, "second \(s)")
        }
        XCTAssertLessThanOrEqual(m.stats.repliesSent, GigiDNSConfig().replyBurst + 10 * GigiDNSConfig().replyRate)
    }

    func testRendezvousQueryFloodSharesTheReplyLimit() {
        var m = started()
        let key = String(repeating: "cd", count: 32)
        _ = m.setRendezvousKeys([key], now: t0)
        for i in 0..<10_000 {
            _ = m.receive(GigiDNSPackets.rendezvousQuery(id: UInt16(truncatingIfNeeded: 1000 + i), keyHex: key).encoded(),
                          now: t0 + .seconds(1))
        }
        XCTAssertEqual(m.stats.repliesSent, GigiDNSConfig().replyBurst)
    }

    func testAddressFloodForOnePeerIsBounded() {
        var config = GigiDNSConfig()
        config.maxAddressesPerPeer = 4
        var m = started(config)
        for i in 0..<10_000 {
            let r = GigiDNSRecord(peerID: "12D3KooWBob", nickname: "bob", address: "/ip4/10.1.\(i / 250).\(i % 250)/tcp/1")
            _ = m.receive(GigiDNSPackets.announcement(id: 0, record: r, ttl: 60).encoded(), now: t0)
        }
        XCTAssertEqual(m.peers.count, 1)
        XCTAssertEqual(m.peers.first?.addresses.count, 4)
    }

    func testManyRendezvousKeysKeepTheRecordSmallAndAnswersCarryTheAskedKey() throws {
        var m = started()
        let keys = (0..<20).map { i in String(repeating: String(format: "%02x", i), count: 32) }
        let announced = sends(m.setRendezvousKeys(keys, now: t0 + .milliseconds(500)))
        XCTAssertEqual(announced.count, alicePeer.addresses.count)
        for b in announced {
            XCTAssertLessThan(b.count, 1200, "one announcement must fit one unfragmented datagram")
            let msg = try DNSMessage(decoding: b)
            XCTAssertTrue(msg.isResponse)
            guard case .txt(let s) = msg.answers[0].data else { return XCTFail("not TXT") }
            XCTAssertTrue(s.allSatisfy { $0.count <= 255 })
            XCTAssertEqual(try GigiDNSRecord(characterStrings: s).rendezvousKeys, Array(keys.prefix(8)))
        }
        // Key 15 is not in the periodic record, yet a query for it is answered with it.
        let answer = sends(m.receive(GigiDNSPackets.rendezvousQuery(id: 4242, keyHex: keys[15]).encoded(), now: t0 + .seconds(2)))
        XCTAssertEqual(answer.count, alicePeer.addresses.count)
        guard let first = answer.first, case .txt(let s) = try DNSMessage(decoding: first).answers.first?.data
        else { return XCTFail("no TXT answer") }
        XCTAssertEqual(try GigiDNSRecord(characterStrings: s).rendezvousKeys.first, keys[15])
        // Malformed keys are never announced.
        _ = m.setRendezvousKeys(["not hex", "", String(repeating: "a", count: 129), keys[0]], now: t0 + .seconds(3))
        let again = sends(m.tick(now: t0 + .seconds(30))).compactMap { try? DNSMessage(decoding: $0) }.filter(\.isResponse)
        guard case .txt(let s2)? = again.first?.answers[0].data else { return XCTFail("no announcement") }
        XCTAssertEqual(try GigiDNSRecord(characterStrings: s2).rendezvousKeys, [keys[0]])
    }
}
