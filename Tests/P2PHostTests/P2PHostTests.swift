import NIOCore
import P2PCore
@testable import P2PHost
import XCTest

final class P2PHostTests: XCTestCase {
    func testConnectVerifiesPeersAndEchoes() async throws {
        let (server, address) = try await makeListeningHost()
        let client = P2PHost(identity: P2PPrivateKey())

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

        // The server sees the inbound connection from the client's peer ID.
        let ok = await eventually {
            await server.connections().contains { $0.remotePeer == client.peerID && $0.isInbound }
        }
        XCTAssertTrue(ok)
        await client.shutdown()
        await server.shutdown()
    }
}
