import GigiBase
import NIOCore
import P2PCore
import P2PHost
import XCTest
@testable import P2PIdentify

/// The first update about `peer` (and, if given, from `source`), waiting at most 10 s.
private func nextUpdate(_ service: IdentifyService, _ peer: PeerID,
                        _ source: IdentifyUpdate.Source? = nil) async -> IdentifyUpdate? {
    try? await withDeadline(after: .seconds(10), clock: ContinuousClock(), onTimeout: {},
                            timeoutError: { CancellationError() }) {
        for await update in service.updates where update.peer == peer && (source == nil || update.source == source) {
            return update
        }
        return nil
    }
}

final class IdentifyServiceTests: XCTestCase {
    /// A host on 127.0.0.1 with an identify service (shut down after the test), and its bound address.
    private func identifyingHost(_ config: IdentifyConfig = .init()) async throws -> (P2PHost, IdentifyService, Multiaddr) {
        let host = P2PHost(identity: P2PPrivateKey())
        addTeardownBlock { await host.shutdown() }
        let service = IdentifyService(host: host, config: config)
        await service.start()
        let bound = try await host.listen(try Multiaddr("/ip4/127.0.0.1/tcp/0"))
        return (host, service, bound)
    }

    func testNewConnectionsAreIdentifiedBothWays() async throws {
        let (a, serviceA, addrA) = try await identifyingHost()
        let (b, serviceB, _) = try await identifyingHost(.init(agentVersion: "gigi-test/9"))
        await a.setHandler("/test/1.0.0") { _ in }
        let updatesB = Task { await nextUpdate(serviceB, a.peerID)?.info }
        let updatesA = Task { await nextUpdate(serviceA, b.peerID)?.info }
        let connection = try await b.connect(addrA.withPeerID(a.peerID))

        let seenByB = try await XCTUnwrapAsync(await updatesB.value)
        XCTAssertEqual(seenByB.agentVersion, "gigi/0.1.0")
        XCTAssertEqual(seenByB.protocolVersion, "ipfs/0.1.0")
        XCTAssertEqual(seenByB.publicKey?.peerID, a.peerID)
        XCTAssertEqual(seenByB.listenAddrs, [addrA])
        XCTAssertEqual(seenByB.observedAddr, connection.localAddress, "A saw B's side of the connection")
        XCTAssertEqual(Set(seenByB.protocols),
                       [Identify.protocolID, Identify.pushProtocolID, "/test/1.0.0"])
        let storedB = await serviceB.info(for: a.peerID)
        XCTAssertEqual(storedB, seenByB)

        // The listener identifies its inbound connection too.
        let seenByA = try await XCTUnwrapAsync(await updatesA.value)
        XCTAssertEqual(seenByA.agentVersion, "gigi-test/9")
        XCTAssertEqual(seenByA.publicKey?.peerID, b.peerID)

        // An explicit identify returns the same answer.
        let again = try await serviceB.identify(connection)
        XCTAssertEqual(again, seenByB)
    }

    func testPushUpdatesOnlyWhatItCarries() async throws {
        let (a, serviceA, addrA) = try await identifyingHost(.init(identifyOnConnect: false))
        let (b, serviceB, _) = try await identifyingHost(.init(identifyOnConnect: false))
        let connection = try await b.connect(addrA.withPeerID(a.peerID))
        let before = try await serviceB.identify(connection)
        XCTAssertFalse(before.protocols.contains("/new/1.0.0"))

        await a.setHandler("/new/1.0.0") { _ in }
        let pushed = Task { await nextUpdate(serviceB, a.peerID, .push) }
        let aConnection = try await XCTUnwrapAsync(await a.connections(to: b.peerID).first)
        try await serviceA.push(to: aConnection)
        let update = try await XCTUnwrapAsync(await pushed.value)
        XCTAssertEqual(update.peer, a.peerID)
        XCTAssertTrue(update.info.protocols.contains("/new/1.0.0"))
        XCTAssertEqual(update.info.listenAddrs, before.listenAddrs)
        let stored = await serviceB.info(for: a.peerID)
        XCTAssertEqual(stored, update.info)
    }

    func testOnePushAtATimePerPeer() async throws {
        let (_, service, address) = try await identifyingHost(.init(identifyOnConnect: false))
        let pusherKey = P2PPrivateKey()
        let pusher = P2PHost(identity: pusherKey)
        addTeardownBlock { await pusher.shutdown() }
        let serviceHost = service.host
        let connection = try await pusher.connect(address.withPeerID(serviceHost.peerID))
        let first = try await pusher.newStream(on: connection, protocols: [Identify.pushProtocolID])
        // Once the service is reading the first push, a second one from the same peer is refused.
        var reading = false
        for _ in 0..<1000 where !reading {
            reading = await service.pushesInProgress(from: pusherKey.peerID) == 1
            if !reading { try await Task.sleep(for: .milliseconds(10)) }
        }
        XCTAssertTrue(reading)
        let second = try await pusher.newStream(on: connection, protocols: [Identify.pushProtocolID])
        do {
            let answer = try await second.read()
            XCTFail("a second concurrent push was read, answer \(String(describing: answer))")
        } catch {
            XCTAssertEqual(error as? P2PStreamError, .reset)
        }
        let stored = await service.info(for: pusherKey.peerID)
        XCTAssertNil(stored)
        // The first push completes normally.
        let update = Task { await nextUpdate(service, pusherKey.peerID, .push) }
        try await first.write(IdentifyInfo(agentVersion: "pusher/1", publicKey: pusherKey.publicKey).framed())
        try await first.closeWrite()
        let pushed = await update.value
        XCTAssertEqual(pushed?.info.agentVersion, "pusher/1")
    }

    /// A peer whose identify handler answers with `reply` (written raw) and then waits or closes.
    private func fakePeer(_ reply: @escaping @Sendable (P2PStream) async throws -> Void)
        async throws -> (P2PHost, Multiaddr) {
        let fake = P2PHost(identity: P2PPrivateKey())
        addTeardownBlock { await fake.shutdown() }
        await fake.setHandler(Identify.protocolID) { stream in
            do { try await reply(stream) } catch { await stream.reset() }
        }
        let bound = try await fake.listen(try Multiaddr("/ip4/127.0.0.1/tcp/0"))
        return (fake, try bound.withPeerID(fake.peerID))
    }

    private func identifyFails(against reply: @escaping @Sendable (P2PStream) async throws -> Void,
                               timeout: Duration = .seconds(10)) async throws -> IdentifyError? {
        let (fake, addr) = try await fakePeer(reply)
        let (us, service, _) = try await identifyingHost(.init(timeout: timeout, identifyOnConnect: false))
        let connection = try await us.connect(addr)
        do {
            let info = try await service.identify(connection)
            XCTFail("identify succeeded: \(info)")
            return nil
        } catch let error as IdentifyError {
            let stored = await service.info(for: fake.peerID)
            XCTAssertNil(stored, "nothing stored after a failure")
            return error
        }
    }

    func testRejectsAnotherPeersKey() async throws {
        let impostor = P2PPrivateKey().publicKey
        let error = try await identifyFails { stream in
            try await stream.write(IdentifyInfo(agentVersion: "x", publicKey: impostor).framed())
            try await stream.closeWrite()
        }
        guard case .peerMismatch(_, let actual) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(actual, impostor.peerID)
    }

    func testRejectsOversizedAnswer() async throws {
        let error = try await identifyFails { stream in
            // 80 KiB in 8 KiB pieces; the reader must stop at the limit.
            for _ in 0..<10 { try await stream.write([UInt8](repeating: 0x0a, count: 8192)) }
            try await stream.closeWrite()
        }
        XCTAssertEqual(error, .messageTooLarge(limit: Identify.maxMessageSize))
    }

    func testTimesOutOnASilentPeer() async throws {
        let error = try await identifyFails(against: { stream in
            _ = try await stream.read()  // never answers; ends when we reset
        }, timeout: .milliseconds(300))
        XCTAssertEqual(error, .timeout(.milliseconds(300)))
    }

    func testEmptyAnswer() async throws {
        let error = try await identifyFails { stream in try await stream.closeWrite() }
        XCTAssertEqual(error, .noMessage)
    }

    func testBoundedTableDropsTheLeastRecentlySet() {
        var table = BoundedTable<Int, String>(capacity: 2)
        table[1] = "a"
        table[2] = "b"
        table[1] = "a2"  // refreshes 1
        table[3] = "c"   // evicts 2
        XCTAssertEqual(table.keys, [1, 3])
        XCTAssertNil(table[2])
        XCTAssertEqual(table[1], "a2")
        table[1] = nil
        XCTAssertEqual(table.keys, [3])
        XCTAssertEqual(table.count, 1)
    }
}

/// `XCTUnwrap` for values computed by an async expression.
func XCTUnwrapAsync<T>(_ value: @autoclosure () async throws -> T?, file: StaticString = #filePath,
                       line: UInt = #line) async throws -> T {
    let unwrapped = try await value()
    return try XCTUnwrap(unwrapped, file: file, line: line)
}
