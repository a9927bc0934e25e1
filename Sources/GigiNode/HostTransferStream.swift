// Adapts a libp2p stream (P2PHost) to GigiFiles' `TransferStream`, so the
// share and chunk protocols run unchanged over the network.

import GigiFiles
import NIOCore
import P2PHost

/// A `P2PStream` seen as a `TransferStream`.
final class HostTransferStream: TransferStream, @unchecked Sendable {
    let stream: P2PStream

    init(_ stream: P2PStream) { self.stream = stream }

    func read(upTo maxBytes: Int) async throws -> [UInt8]? {
        guard let buffer = try await stream.read(upTo: maxBytes) else { return nil }
        return Array(buffer.readableBytesView)
    }

    func write(_ bytes: [UInt8]) async throws {
        try await stream.write(bytes)
    }

    func closeWrite() async throws {
        try await stream.closeWrite()
    }

    func reset() async {
        await stream.reset()
    }
}
