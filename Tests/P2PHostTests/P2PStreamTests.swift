// The stream read/write API: exact reads, length prefixes, EOF, half-close, reset.

import NIOCore
import P2PCore
@testable import P2PHost
import XCTest

final class P2PStreamTests: XCTestCase {
    private var server: P2PHost!
    private var client: P2PHost!
    private var connection: P2PConnection!

    override func setUp() async throws {
        let address: Multiaddr
        (server, address) = try await makeListeningHost()
        // Echoes length-prefixed messages (≤ 1 KiB) until EOF, then announces an oversized one.
        await server.setHandler("/lp/1.0.0") { stream in
            do {
                while let message = try await stream.readLengthPrefixed(maxSize: 1024) {
                    try await stream.writeLengthPrefixed(Array(message.readableBytesView))
                }
                var huge = ByteBuffer()
                huge.writeBytes([0x80, 0x80, 0x40])  // varint 1 MiB
                try await stream.write(huge)
                try await stream.closeWrite()
            } catch {
                await stream.reset()
            }
        }
        // Reads exactly 10 bytes and answers "ok", then returns without closing.
        await server.setHandler("/exact/1.0.0") { stream in
            guard let ten = try? await stream.readExactly(10), ten.readableBytes == 10 else { return }
            try? await stream.write(Array("ok".utf8))
        }
        await server.setHandler("/reset/1.0.0") { stream in
            _ = try? await stream.read(upTo: 1)
            await stream.reset()
        }
        client = P2PHost(identity: P2PPrivateKey())
        connection = try await client.connect(address)
    }

    override func tearDown() async throws {
        await client.shutdown()
        await server.shutdown()
    }

    func testLengthPrefixedMessagesAndOversizedPrefix() async throws {
        let stream = try await client.newStream(on: connection, protocols: ["/lp/1.0.0"])
        try await stream.writeLengthPrefixed(Array("first".utf8))
        try await stream.writeLengthPrefixed([])
        try await stream.writeLengthPrefixed([UInt8](repeating: 7, count: 1000))
        try await stream.closeWrite()
        let first = try await stream.readLengthPrefixed(maxSize: 1024)
        XCTAssertEqual(first.map { String(buffer: $0) }, "first")
        let empty = try await stream.readLengthPrefixed(maxSize: 1024)
        XCTAssertEqual(empty?.readableBytes, 0)
        let third = try await stream.readLengthPrefixed(maxSize: 1024)
        XCTAssertEqual(third.map { Array($0.readableBytesView) }, [UInt8](repeating: 7, count: 1000))
        do {
            _ = try await stream.readLengthPrefixed(maxSize: 1024)
            XCTFail("accepted a 1 MiB announcement with a 1 KiB limit")
        } catch P2PStreamError.messageTooLarge(let n) {
            XCTAssertEqual(n, 1 << 20)
        }
    }

    func testLengthPrefixedAtCleanEOFIsNil() async throws {
        let stream = try await client.newStream(on: connection, protocols: [Echo.protocolID])
        try await stream.writeLengthPrefixed(Array("x".utf8))
        try await stream.closeWrite()
        let message = try await stream.readLengthPrefixed(maxSize: 10)
        XCTAssertEqual(message.map { String(buffer: $0) }, "x")
        let end = try await stream.readLengthPrefixed(maxSize: 10)
        XCTAssertNil(end)
    }

    func testTruncatedMessageIsUnexpectedEOF() async throws {
        let stream = try await client.newStream(on: connection, protocols: [Echo.protocolID])
        try await stream.write([10, 1, 2, 3])  // announces 10, sends 3
        try await stream.closeWrite()
        do {
            _ = try await stream.readLengthPrefixed(maxSize: 100)
            XCTFail("a truncated message was returned")
        } catch P2PStreamError.unexpectedEOF {}
    }

    func testReadExactlyAcrossWritesAndHandlerReturnClosesStream() async throws {
        let stream = try await client.newStream(on: connection, protocols: ["/exact/1.0.0"])
        try await stream.write([1, 2, 3])
        try await stream.write([4, 5, 6, 7])
        try await stream.write([8, 9, 10])
        let answer = try await stream.readExactly(2)
        XCTAssertEqual(String(buffer: answer), "ok")
        // The handler returned without closing: the host sent FIN for it.
        let end = try await stream.read(upTo: 10)
        XCTAssertNil(end)
        do {
            _ = try await stream.readExactly(1)
            XCTFail("read past EOF")
        } catch P2PStreamError.unexpectedEOF {}
    }

    func testWriteAfterCloseWriteFails() async throws {
        let stream = try await client.newStream(on: connection, protocols: [Echo.protocolID])
        try await stream.closeWrite()
        do {
            try await stream.write([1])
            XCTFail("wrote after closeWrite")
        } catch P2PStreamError.closed {}
        let end = try await stream.read(upTo: 10)
        XCTAssertNil(end)
    }

    func testPeerResetFailsReads() async throws {
        let stream = try await client.newStream(on: connection, protocols: ["/reset/1.0.0"])
        try await stream.write([1])
        do {
            _ = try await stream.read(upTo: 10)
            XCTFail("read succeeded on a reset stream")
        } catch P2PStreamError.reset {}
        XCTAssertFalse(connection.isClosed)
    }
}
