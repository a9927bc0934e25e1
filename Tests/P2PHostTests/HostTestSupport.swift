// Shared helpers for the P2PHost loopback tests.

import NIOCore
import P2PCore
import P2PHost
import XCTest

enum Echo {
    static let protocolID = "/echo/1.0.0"

    /// Reads until the peer's FIN, writing every piece back, then FIN.
    static let handler: @Sendable (P2PStream) async -> Void = { stream in
        do {
            while let chunk = try await stream.read(upTo: 1 << 20) {
                try await stream.write(chunk)
            }
            try await stream.closeWrite()
        } catch {
            await stream.reset()
        }
    }
}

func loopback4() throws -> Multiaddr { try Multiaddr("/ip4/127.0.0.1/tcp/0") }

/// A host listening on 127.0.0.1 with the echo handler, and its dialable address (with /p2p).
func makeListeningHost(config: P2PHostConfig = .init(), echo: Bool = true) async throws -> (P2PHost, Multiaddr) {
    let host = P2PHost(identity: P2PPrivateKey(), config: config)
    if echo { await host.setHandler(Echo.protocolID, Echo.handler) }
    let bound = try await host.listen(loopback4())
    return (host, try bound.withPeerID(host.peerID))
}

/// Opens an echo stream on `connection`, sends `bytes`, half-closes and checks the echo.
func assertEchoes(_ host: P2PHost, on connection: P2PConnection, _ bytes: [UInt8],
                  file: StaticString = #filePath, line: UInt = #line) async throws {
    let stream = try await host.newStream(on: connection, protocols: [Echo.protocolID])
    try await stream.write(bytes)
    try await stream.closeWrite()
    let echoed = try await readAll(stream)
    XCTAssertEqual(echoed, bytes, "echo mismatch", file: file, line: line)
}

/// Reads until EOF and returns everything.
func readAll(_ stream: P2PStream, limit: Int = 1 << 30) async throws -> [UInt8] {
    var out: [UInt8] = []
    while let chunk = try await stream.read(upTo: 1 << 20) {
        out += chunk.readableBytesView
        if out.count > limit { XCTFail("more than \(limit) bytes"); break }
    }
    return out
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(10), _ condition: @Sendable () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}
