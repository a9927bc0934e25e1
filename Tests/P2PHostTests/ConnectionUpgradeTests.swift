// Malformed input during and after the upgrade: each case must close only that
// connection (the host logs why) and the host must keep serving fresh clients.

import NIOCore
import P2PCore
@testable import P2PHost
import XCTest

final class ConnectionUpgradeTests: XCTestCase {
    private var server: P2PHost!
    private var address: Multiaddr!

    override func setUp() async throws {
        var config = P2PHostConfig()
        config.upgradeTimeout = .seconds(5)
        (server, address) = try await makeListeningHost(config: config)
    }

    override func tearDown() async throws {
        await server.shutdown()
    }

    /// Runs `attack` on a raw connection, expects the host to close it, then checks that a
    /// real client still gets an echo.
    private func assertClosesConnection(file: StaticString = #filePath, line: UInt = #line,
                                        _ attack: (RawPeer) async throws -> Void) async throws {
        let peer = try await RawPeer.connect(to: address)
        try await attack(peer)
        let closed = await peer.waitClosed()
        XCTAssertTrue(closed, "the host kept the connection open", file: file, line: line)
        await peer.close()

        let client = P2PHost(identity: P2PPrivateKey())
        try await assertEchoes(client, on: try await client.connect(address), [1, 2, 3], file: file, line: line)
        await client.shutdown()
    }

    func testGarbageBeforeMultistreamClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.sendRaw(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + [UInt8](repeating: 0x41, count: 200))
        }
    }

    func testOversizedMultistreamLengthPrefixClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.sendRaw([0xFF, 0xFF, 0x7F] + [UInt8](repeating: 0x2F, count: 64))
        }
    }

    func testWrongMultistreamHeaderClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            var b = ByteBuffer()
            b.writeInteger(UInt8(19))
            b.writeString("/multistream/2.0.0\n")
            try await peer.sendRaw(b)
        }
    }

    func testNoiseMessageOfWrongLengthClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.negotiate("/noise")
            // Message 1 (-> e) must be exactly 32 bytes.
            try await peer.sendRaw([0x00, 0x05, 1, 2, 3, 4, 5])
        }
    }

    func testNoiseFrameWithBadTagClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.secure()
            var frame = ByteBuffer()
            frame.writeInteger(UInt16(48))
            frame.writeBytes(pseudoRandomBytes(48, seed: 7))
            try await peer.sendRaw(frame)
        }
    }

    func testNoiseFrameShorterThanATagClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.secure()
            try await peer.sendRaw([0x00, 0x03, 1, 2, 3])
        }
    }

    func testSilentPeerIsDroppedAtTheUpgradeTimeout() async throws {
        await server.shutdown()
        var config = P2PHostConfig()
        config.upgradeTimeout = .milliseconds(200)
        (server, address) = try await makeListeningHost(config: config)
        try await assertClosesConnection { _ in }
    }

    func testYamuxUnknownFrameTypeClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.upgradeToYamux()
            try await peer.send(RawPeer.yamuxFrame(type: 9, flags: 0, stream: 1, length: 0))
        }
    }

    func testYamuxWindowOverflowClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.upgradeToYamux()
            try await peer.send(RawPeer.yamuxFrame(type: 1, flags: 1, stream: 1, length: 0))  // SYN
            try await peer.send(RawPeer.yamuxFrame(type: 1, flags: 0, stream: 1, length: .max))
        }
    }

    func testYamuxDataBeyondTheReceiveWindowClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.upgradeToYamux()
            try await peer.send(RawPeer.yamuxFrame(type: 1, flags: 1, stream: 1, length: 0))  // SYN
            try await peer.send(RawPeer.yamuxFrame(type: 0, flags: 0, stream: 1, length: 300 * 1024,
                                                   payload: [UInt8](repeating: 0, count: 1024)))
        }
    }

    func testYamuxFrameForAStreamNeverOpenedClosesTheConnection() async throws {
        try await assertClosesConnection { peer in
            try await peer.upgradeToYamux()
            try await peer.send(RawPeer.yamuxFrame(type: 0, flags: 0, stream: 5, length: 4, payload: [1, 2, 3, 4]))
        }
    }

    func testInboundConnectionLimit() async throws {
        await server.shutdown()
        var config = P2PHostConfig()
        config.maxConnections = 1
        (server, address) = try await makeListeningHost(config: config)
        let first = P2PHost(identity: P2PPrivateKey())
        _ = try await first.connect(address)
        let second = P2PHost(identity: P2PPrivateKey())
        do {
            _ = try await second.connect(address)
            XCTFail("connected past maxConnections")
        } catch is P2PHostError {}
        await first.shutdown()
        // Once the first is gone, there is room again.
        let host = server!
        let ok = await eventually { await host.connections().isEmpty }
        XCTAssertTrue(ok)
        _ = try await second.connect(address)
        await second.shutdown()
    }
}
