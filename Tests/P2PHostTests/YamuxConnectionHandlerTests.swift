// Flow control and limits of the Yamux handler, observed through the public API.

import NIOConcurrencyHelpers
import NIOCore
import P2PCore
@testable import P2PHost
import P2PYamux
import XCTest

/// A one-shot gate handlers wait on.
final class Gate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream() }
    func open() { continuation.finish() }
    func wait() async { for await _ in stream {} }
}

final class YamuxConnectionHandlerTests: XCTestCase {
    /// The peer's handler never reads: the sender must stall after one receive window plus
    /// its own send queue, however long it keeps writing.
    func testReaderThatNeverReadsBlocksTheSender() async throws {
        let (server, address) = try await makeListeningHost()
        let gate = Gate()
        let received = NIOLockedValueBox(0)
        await server.setHandler("/sink/1.0.0") { stream in
            await gate.wait()
            while let chunk = try? await stream.read(upTo: 1 << 20) {
                received.withLockedValue { $0 += chunk.readableBytes }
            }
        }
        let client = P2PHost(identity: P2PPrivateKey())
        let stream = try await client.newStream(on: try await client.connect(address), protocols: ["/sink/1.0.0"])
        let written = NIOLockedValueBox(0)
        let total = 16 << 20
        let writer = Task {
            let chunk = ByteBuffer(repeating: 0x5A, count: 64 * 1024)
            while written.withLockedValue({ $0 }) < total {
                try await stream.write(chunk)
                written.withLockedValue { $0 += chunk.readableBytes }
            }
            try await stream.closeWrite()
        }
        let window = Int(YamuxConfiguration.initialWindow)
        let queue = YamuxConfiguration().sendQueueHighWatermark
        let started = await eventually { written.withLockedValue { $0 } >= window }
        XCTAssertTrue(started)
        // Give the writer ample time to overrun if nothing held it back.
        try await Task.sleep(for: .milliseconds(500))
        let stalled = written.withLockedValue { $0 }
        XCTAssertLessThanOrEqual(stalled, window + queue + 64 * 1024, "the sender was not held to one window")
        XCTAssertEqual(received.withLockedValue { $0 }, 0)

        gate.open()
        try await writer.value
        let all = await eventually { received.withLockedValue { $0 } == total }
        XCTAssertTrue(all, "received \(received.withLockedValue { $0 }) of \(total)")
        await client.shutdown()
        await server.shutdown()
    }

    func testInboundStreamLimitRefusesExtraStreams() async throws {
        var config = P2PHostConfig()
        config.maxInboundStreamsPerConnection = 2
        let (server, address) = try await makeListeningHost(config: config)
        let gate = Gate()
        await server.setHandler("/hold/1.0.0") { stream in
            await gate.wait()
        }
        let client = P2PHost(identity: P2PPrivateKey())
        let connection = try await client.connect(address)
        let a = try await client.newStream(on: connection, protocols: ["/hold/1.0.0"])
        let b = try await client.newStream(on: connection, protocols: ["/hold/1.0.0"])
        do {
            _ = try await client.newStream(on: connection, protocols: ["/hold/1.0.0"])
            XCTFail("a third inbound stream was accepted")
        } catch is P2PHostError {}
        XCTAssertFalse(connection.isClosed, "the limit must refuse the stream, not the connection")

        // Handlers return: their streams are closed (FIN), so the client reads EOF ...
        gate.open()
        let eofA = try await a.read(upTo: 16)
        let eofB = try await b.read(upTo: 16)
        XCTAssertNil(eofA)
        XCTAssertNil(eofB)
        try await a.closeWrite()
        try await b.closeWrite()
        // ... and once both directions are closed there is room for new streams.
        let reopened = await eventually {
            (try? await client.newStream(on: connection, protocols: [Echo.protocolID])) != nil
        }
        XCTAssertTrue(reopened)
        await client.shutdown()
        await server.shutdown()
    }

    func testIdleConnectionIsClosed() async throws {
        var config = P2PHostConfig()
        config.idleTimeout = .milliseconds(300)
        let (server, address) = try await makeListeningHost(config: config)
        let events = server.events
        let client = P2PHost(identity: P2PPrivateKey())
        let connection = try await client.connect(address)
        let reason = await connection.waitUntilClosed()
        XCTAssertTrue(connection.isClosed, reason)
        var iterator = events.makeAsyncIterator()
        guard case .connected? = await iterator.next() else { return XCTFail("no connected event") }
        guard case .disconnected(let peer, let why)? = await iterator.next() else { return XCTFail("no disconnected event") }
        XCTAssertEqual(peer, client.peerID)
        XCTAssertTrue(why.contains("idle"), why)
        await client.shutdown()
        await server.shutdown()
    }

    func testConnectionWithOpenStreamIsNotIdle() async throws {
        var config = P2PHostConfig()
        config.idleTimeout = .milliseconds(200)
        let (server, address) = try await makeListeningHost(config: config)
        let client = P2PHost(identity: P2PPrivateKey())
        let connection = try await client.connect(address)
        let stream = try await client.newStream(on: connection, protocols: [Echo.protocolID])
        try await Task.sleep(for: .milliseconds(600))
        XCTAssertFalse(connection.isClosed)
        try await stream.write([9])
        let back = try await stream.readExactly(1)
        XCTAssertEqual(Array(back.readableBytesView), [9])
        await client.shutdown()
        await server.shutdown()
    }

    func testCloseSendsGoAwayAndFailsStreams() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())
        let connection = try await client.connect(address)
        let stream = try await client.newStream(on: connection, protocols: [Echo.protocolID])
        await connection.close()
        XCTAssertTrue(connection.isClosed)
        XCTAssertEqual(connection.closeReason, "closed locally")
        do {
            _ = try await stream.read(upTo: 1)
            XCTFail("read on a closed connection")
        } catch P2PStreamError.connectionClosed {}
        do {
            _ = try await client.newStream(on: connection, protocols: [Echo.protocolID])
            XCTFail("stream on a closed connection")
        } catch P2PHostError.connectionClosed {}
        let gone = await eventually { await server.connections().isEmpty }
        XCTAssertTrue(gone)
        await client.shutdown()
        await server.shutdown()
    }
}
