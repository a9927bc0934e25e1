// Adapts a libp2p stream (P2PHost) to GigiFiles' `TransferStream`, so the
// share and chunk protocols run unchanged over the network. Buffers pass
// through as they are: no conversion, no copy.

import GigiFiles
import NIOCore
import P2PHost

/// A `P2PStream` seen as a `TransferStream`.
final class HostTransferStream: TransferStream, @unchecked Sendable {
    let stream: P2PStream

    init(_ stream: P2PStream) { self.stream = stream }

    func read(upTo maxBytes: Int) async throws -> ByteBuffer? {
        try await stream.read(upTo: maxBytes)
    }

    func readExactly(_ n: Int) async throws -> ByteBuffer {
        do { return try await stream.readExactly(n) } catch P2PStreamError.unexpectedEOF {
            throw TransferStreamError.unexpectedEOF
        }
    }

    func write(_ buffer: ByteBuffer) async throws {
        try await stream.write(buffer)
    }

    func closeWrite() async throws {
        try await stream.closeWrite()
    }

    func reset() async {
        await stream.reset()
    }
}
