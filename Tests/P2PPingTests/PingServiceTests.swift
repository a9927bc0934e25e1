import NIOConcurrencyHelpers
import NIOCore
import P2PCore
import P2PHost
import XCTest
@testable import P2PPing

/// A clock whose time moves only when the test says so. Sleeping never ends by
/// itself (only cancellation ends it), so timeouts never fire.
final class ManualClock: Clock, @unchecked Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let time = NIOLockedValueBox(Duration.zero)

    func advance(by duration: Duration) { time.withLockedValue { $0 += duration } }
    var now: Instant { Instant(offset: time.withLockedValue { $0 }) }
    var minimumResolution: Duration { .nanoseconds(1) }
    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await Task.sleep(for: .seconds(3600))
    }
}

final class PingServiceTests: XCTestCase {
    private func host() -> P2PHost {
        let host = P2PHost(identity: P2PPrivateKey())
        addTeardownBlock { await host.shutdown() }
        return host
    }

    /// `server` listening with `handler` on the ping protocol, and `client` connected to it.
    private func pair(handler: (@Sendable (P2PStream) async -> Void)? = nil)
        async throws -> (server: P2PHost, client: P2PHost, connection: P2PConnection) {
        let server = host()
        if let handler {
            await server.setHandler(Ping.protocolID, handler)
        } else {
            await PingService(host: server).start()
        }
        let address = try await server.listen(try Multiaddr("/ip4/127.0.0.1/tcp/0"))
        let client = host()
        let connection = try await client.connect(address.withPeerID(server.peerID))
        return (server, client, connection)
    }

    func testPingMeasuresEachRoundTripWithTheInjectedClock() async throws {
        // The echo server moves the clock by 5, 10, 15 ms before answering.
        let clock = ManualClock()
        let (_, client, connection) = try await pair { stream in
            var delay = Duration.zero
            while let payload = try? await stream.readExactly(Ping.payloadSize) {
                delay += .milliseconds(5)
                clock.advance(by: delay)
                try? await stream.write(payload)
            }
            try? await stream.closeWrite()
        }
        let payloads = NIOLockedValueBox<[[UInt8]]>([])
        let pinger = PingService(host: client, clock: clock) { count in
            let bytes = PingSupport.randomBytes(count)
            payloads.withLockedValue { $0.append(bytes) }
            return bytes
        }
        let rtts = try await pinger.ping(connection: connection, count: 3)
        XCTAssertEqual(rtts, [.milliseconds(5), .milliseconds(10), .milliseconds(15)])
        let sent = payloads.withLockedValue { $0 }
        XCTAssertEqual(sent.count, 3)
        XCTAssertEqual(Set(sent).count, 3, "a fresh payload each time")
        XCTAssertTrue(sent.allSatisfy { $0.count == Ping.payloadSize })

    }

    func testPingsOurServerByPeerID() async throws {
        let (server, client, _) = try await pair()
        let real = try await PingService(host: client).ping(peer: server.peerID, count: 2)
        XCTAssertEqual(real.count, 2)
        XCTAssertTrue(real.allSatisfy { $0 > .zero && $0 < .seconds(10) })
    }

    func testWrongEchoIsAMismatch() async throws {
        let (_, client, connection) = try await pair { stream in
            while let payload = try? await stream.readExactly(Ping.payloadSize) {
                var flipped = payload
                flipped.setInteger(~payload.getInteger(at: payload.readerIndex, as: UInt8.self)!, at: flipped.readerIndex)
                try? await stream.write(flipped)
            }
        }
        do {
            _ = try await PingService(host: client).ping(connection: connection)
            XCTFail("a wrong echo was accepted")
        } catch let error as PingError {
            XCTAssertEqual(error, .mismatch)
        }
    }

    func testSilentPeerTimesOutAndHalfEchoIsClosed() async throws {
        let (_, client, connection) = try await pair { stream in while (try? await stream.read()) != nil {} }
        do {
            _ = try await PingService(host: client).ping(connection: connection, timeout: .milliseconds(200))
            XCTFail("no timeout")
        } catch let error as PingError {
            XCTAssertEqual(error, .timeout(.milliseconds(200)))
        }

        let (_, client2, connection2) = try await pair { stream in
            _ = try? await stream.readExactly(Ping.payloadSize)
            try? await stream.write([UInt8](repeating: 0, count: 10))
            try? await stream.closeWrite()
        }
        do {
            _ = try await PingService(host: client2).ping(connection: connection2)
            XCTFail("a short echo was accepted")
        } catch let error as PingError {
            XCTAssertEqual(error, .closed)
        }
    }

    func testOneOutboundPingPerPeer() async throws {
        let arrived = AsyncStream.makeStream(of: Void.self)
        let (server, client, connection) = try await pair { stream in
            arrived.continuation.yield()
            while (try? await stream.read()) != nil {}  // holds the first ping until the client gives up
        }
        let pinger = PingService(host: client)
        let first = Task { try await pinger.ping(connection: connection, timeout: .seconds(5)) }
        for await _ in arrived.stream { break }
        do {
            _ = try await pinger.ping(peer: server.peerID)
            XCTFail("a second concurrent ping was allowed")
        } catch let error as PingError {
            XCTAssertEqual(error, .alreadyPinging(server.peerID))
        }
        first.cancel()
        await server.shutdown()
        _ = try? await first.value
        do {
            _ = try await pinger.ping(connection: connection, count: 0)
            XCTFail("count 0 accepted")
        } catch let error as PingError {
            XCTAssertEqual(error, .invalidCount(0))
        }
    }

    func testServerServesAtMostTwoStreamsPerPeer() async throws {
        let (_, client, connection) = try await pair()
        let payload = [UInt8](repeating: 7, count: Ping.payloadSize)
        var open: [P2PStream] = []
        for _ in 0..<2 {
            let stream = try await client.newStream(on: connection, protocols: [Ping.protocolID])
            try await stream.write(payload)
            let echo = try await stream.readExactly(Ping.payloadSize)
            XCTAssertEqual(Array(echo.readableBytesView), payload)
            open.append(stream)
        }
        // A third stream is reset by the server.
        let third = try await client.newStream(on: connection, protocols: [Ping.protocolID])
        try? await third.write(payload)
        do {
            let echo = try await third.read()
            XCTFail("third stream answered: \(String(describing: echo))")
        } catch {
            XCTAssertEqual(error as? P2PStreamError, .reset)
        }
        // When one stream ends (FIN), its slot is free again.
        try await open[0].closeWrite()
        let eof = try await open[0].read()
        XCTAssertNil(eof, "the server half-closes after the client's FIN")
        var answered = false
        for _ in 0..<100 where !answered {
            let again = try await client.newStream(on: connection, protocols: [Ping.protocolID])
            try await again.write(payload)
            if let echo = try? await again.readExactly(Ping.payloadSize) {
                XCTAssertEqual(Array(echo.readableBytesView), payload)
                answered = true
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        XCTAssertTrue(answered, "a freed slot was never reused")
    }
}
