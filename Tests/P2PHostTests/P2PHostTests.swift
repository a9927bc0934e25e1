// Swift↔Swift over loopback: connecting, peer verification, stream negotiation, reuse,
// the peer store, bulk transfer, events, shutdown, IPv6.

import GigiCrypto
import NIOConcurrencyHelpers
import NIOCore
import P2PCore
@testable import P2PHost
import XCTest

final class P2PHostTests: XCTestCase {
    func testConnectVerifiesPeersAndEchoes() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())
        let serverEvents = server.events

        let connection = try await client.connect(address)
        XCTAssertEqual(connection.remotePeer, server.peerID)
        XCTAssertFalse(connection.isInbound)
        XCTAssertEqual(connection.remoteAddress, address.withoutTrailingPeerID)

        let stream = try await client.newStream(on: connection, protocols: [Echo.protocolID])
        XCTAssertEqual(stream.protocolID, Echo.protocolID)
        XCTAssertEqual(stream.remotePeer, server.peerID)
        try await stream.write(Array("hello, libp2p".utf8))
        try await stream.closeWrite()
        let echoed = try await readAll(stream)
        XCTAssertEqual(String(decoding: echoed, as: UTF8.self), "hello, libp2p")

        // The server saw an inbound connection authenticated as the client.
        var iterator = serverEvents.makeAsyncIterator()
        guard case .connected(let inbound)? = await iterator.next() else { return XCTFail("no connected event") }
        XCTAssertEqual(inbound.remotePeer, client.peerID)
        XCTAssertTrue(inbound.isInbound)
        XCTAssertEqual(inbound.localAddress, address.withoutTrailingPeerID)
        await client.shutdown()
        await server.shutdown()
    }

    func testConnectBothWays() async throws {
        let (a, addressA) = try await makeListeningHost()
        let (b, addressB) = try await makeListeningHost()
        let ab = try await a.connect(addressB.withoutTrailingPeerID, expectedPeer: b.peerID)
        XCTAssertEqual(ab.remotePeer, b.peerID)
        // B dials A on its own listener: a second connection, in the other direction.
        let ba = try await b.connect(addressA)
        XCTAssertEqual(ba.remotePeer, a.peerID)
        XCTAssertNotEqual(ba.id, ab.id)
        for (host, connection) in [(a, ab), (b, ba)] {
            try await assertEchoes(host, on: connection, Array("\(host.peerID)".utf8))
        }
        await a.shutdown()
        await b.shutdown()
    }

    func testWrongExpectedPeerFailsWithPeerIDMismatch() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())
        let other = P2PPrivateKey().peerID
        let wrong = try address.withoutTrailingPeerID.withPeerID(other)
        do {
            _ = try await client.connect(wrong)
            XCTFail("connected to the wrong peer")
        } catch P2PHostError.peerIDMismatch(let expected, let actual) {
            XCTAssertEqual(expected, other)
            XCTAssertEqual(actual, server.peerID)
        }
        do {
            _ = try await client.connect(address.withoutTrailingPeerID, expectedPeer: other)
            XCTFail("connected to the wrong peer")
        } catch P2PHostError.peerIDMismatch(let expected, let actual) {
            XCTAssertEqual(expected, other)
            XCTAssertEqual(actual, server.peerID)
        }
        let live = await client.connections()
        XCTAssertTrue(live.isEmpty)
        await client.shutdown()
        await server.shutdown()
    }

    func testUnknownProtocolIsNotSupported() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())
        let connection = try await client.connect(address)
        do {
            _ = try await client.newStream(on: connection, protocols: ["/nope/1.0.0", "/neither/2.0.0"])
            XCTFail("negotiated an unknown protocol")
        } catch P2PHostError.protocolNotSupported(let ids) {
            XCTAssertEqual(ids, ["/nope/1.0.0", "/neither/2.0.0"])
        }
        // The second proposal is taken when the first is refused; the connection is fine.
        let stream = try await client.newStream(on: connection, protocols: ["/nope/1.0.0", Echo.protocolID])
        XCTAssertEqual(stream.protocolID, Echo.protocolID)
        XCTAssertFalse(connection.isClosed)
        await client.shutdown()
        await server.shutdown()
    }

    func testNewStreamReusesTheLiveConnection() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())
        await client.addAddresses([address], for: server.peerID)
        let first = try await client.newStream(to: server.peerID, protocols: [Echo.protocolID])
        let second = try await client.newStream(to: server.peerID, protocols: [Echo.protocolID])
        XCTAssertTrue(first.connection === second.connection)
        XCTAssertNotEqual(first.streamID, second.streamID)
        let again = try await client.connect(address)
        XCTAssertTrue(again === first.connection)
        let count = await client.connections().count
        XCTAssertEqual(count, 1)
        await client.shutdown()
        await server.shutdown()
    }

    func testConcurrentDialsToOnePeerShareOneConnection() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())
        async let first = client.connect(address)
        async let second = client.connect(address)
        let (a, b) = try await (first, second)
        XCTAssertTrue(a === b)
        let count = await client.connections().count
        XCTAssertEqual(count, 1)
        await client.shutdown()
        await server.shutdown()
    }

    func testPerPeerConnectionLimit() async throws {
        var config = P2PHostConfig()
        config.maxConnectionsPerPeer = 1
        let (server, address) = try await makeListeningHost(config: config)
        let client = P2PHost(identity: P2PPrivateKey())
        // Without /p2p the client cannot know it already has a connection to that peer.
        let bare = address.withoutTrailingPeerID
        let first = try await client.connect(bare)
        let second = try await client.connect(bare)
        XCTAssertFalse(first === second)
        let reason = await second.waitUntilClosed()
        XCTAssertTrue(second.isClosed, reason)
        XCTAssertFalse(first.isClosed)
        let serverSide = await server.connections().count
        XCTAssertEqual(serverSide, 1)
        await client.shutdown()
        await server.shutdown()
    }

    func testNewStreamWithoutAddressesFails() async throws {
        let client = P2PHost(identity: P2PPrivateKey())
        let stranger = P2PPrivateKey().peerID
        do {
            _ = try await client.newStream(to: stranger, protocols: [Echo.protocolID])
            XCTFail("opened a stream to an unknown peer")
        } catch P2PHostError.noAddresses(let peer) {
            XCTAssertEqual(peer, stranger)
        }
        await client.shutdown()
    }

    func testHandlerRegistry() async throws {
        let host = P2PHost(identity: P2PPrivateKey())
        await host.setHandler("/b/1.0.0") { _ in }
        await host.setHandler("/a/1.0.0") { _ in }
        var ids = await host.protocols()
        XCTAssertEqual(ids, ["/a/1.0.0", "/b/1.0.0"])
        await host.removeHandler("/a/1.0.0")
        ids = await host.protocols()
        XCTAssertEqual(ids, ["/b/1.0.0"])
        await host.shutdown()
    }

    /// 8 streams at once, each echoing 64 MiB, byte-identical (SHA-256 of what went out and
    /// of what came back).
    func testEightConcurrentStreamsEcho64MiB() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())
        let connection = try await client.connect(address)
        let block = pseudoRandomBytes(1 << 20, seed: 0x9E37_79B9)
        let chunks = 64
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let stream = try await client.newStream(on: connection, protocols: [Echo.protocolID])
                    async let sent = sendPattern(stream, index: index, block: block, chunks: chunks)
                    var hash = SHA256()
                    var total = 0
                    while let chunk = try await stream.read(upTo: 1 << 20) {
                        chunk.withUnsafeReadableBytes { hash.update($0) }
                        total += chunk.readableBytes
                    }
                    let sentDigest = try await sent
                    XCTAssertEqual(total, chunks << 20, "stream \(index)")
                    XCTAssertEqual(hash.finalize(), sentDigest, "stream \(index)")
                }
            }
            try await group.waitForAll()
        }
        await client.shutdown()
        await server.shutdown()
    }

    func testGracefulShutdownClosesConnectionsAndListeners() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())
        let events = client.events
        let connection = try await client.connect(address)
        let stream = try await client.newStream(on: connection, protocols: [Echo.protocolID])
        var iterator = events.makeAsyncIterator()
        guard case .connected? = await iterator.next() else { return XCTFail("no connected event") }

        await server.shutdown()
        guard case .disconnected(let peer, _)? = await iterator.next() else { return XCTFail("no disconnected event") }
        XCTAssertEqual(peer, server.peerID)
        XCTAssertTrue(connection.isClosed)
        do {
            try await stream.write([1, 2, 3])
            _ = try await stream.read(upTo: 10)
            XCTFail("stream still usable after the peer shut down")
        } catch is P2PStreamError {}
        let listeners = await server.listenAddresses()
        XCTAssertTrue(listeners.isEmpty)
        do {
            _ = try await client.connect(address)
            XCTFail("connected to a host that shut down")
        } catch is P2PHostError {}
        await client.shutdown()
    }

    func testIPv6Loopback() async throws {
        let server = P2PHost(identity: P2PPrivateKey())
        await server.setHandler(Echo.protocolID, Echo.handler)
        let bound: Multiaddr
        do { bound = try await server.listen(try Multiaddr("/ip6/::1/tcp/0")) } catch {
            await server.shutdown()
            throw XCTSkip("::1 is not available here: \(error)")
        }
        XCTAssertEqual(bound.components.first.map { if case .ip6 = $0 { true } else { false } }, true)
        let client = P2PHost(identity: P2PPrivateKey())
        let connection = try await client.connect(try bound.withPeerID(server.peerID))
        XCTAssertEqual(connection.remoteAddress, bound)
        try await assertEchoes(client, on: connection, Array("over ipv6".utf8))
        await client.shutdown()
        await server.shutdown()
    }

    func testListenRejectsNonTCPAddresses() async throws {
        let host = P2PHost(identity: P2PPrivateKey())
        do {
            _ = try await host.listen(try Multiaddr("/ip4/127.0.0.1/udp/0"))
            XCTFail("listened on udp")
        } catch P2PHostError.unsupportedAddress {}
        await host.shutdown()
    }
}

/// Writes `chunks` copies of `block`, each stamped with (index, chunk number), then FIN;
/// returns the SHA-256 of everything written.
func sendPattern(_ stream: P2PStream, index: Int, block: [UInt8], chunks: Int) async throws -> Digest32 {
    var hash = SHA256()
    for c in 0..<chunks {
        var buffer = ByteBuffer(bytes: block)
        buffer.setInteger(UInt64(index) << 32 | UInt64(c), at: 0)
        buffer.withUnsafeReadableBytes { hash.update($0) }
        try await stream.write(buffer)
    }
    try await stream.closeWrite()
    return hash.finalize()
}

/// Deterministic bytes (xorshift64*), cheap enough for debug builds.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for i in 0..<words.count {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            words[i] = state &* 0x2545_F491_4F6C_DD1D
        }
    }
    return out
}
