// One negotiated Yamux stream, as the application sees it.

import NIOCore
import P2PCore
import P2PYamux

/// A bidirectional byte stream on a connection, speaking `protocolID`.
///
/// One reader and one writer at a time (they may run concurrently with each other).
/// Dropping the last reference releases the stream: FIN if still open, and further
/// inbound data is discarded.
public final class P2PStream: Sendable, CustomStringConvertible {
    public let protocolID: String
    public let connection: P2PConnection
    public var remotePeer: PeerID { connection.remotePeer }
    /// The Yamux stream id (odd: opened by the dialer of the connection).
    public var streamID: UInt32 { id.rawValue }

    let id: YamuxStreamID

    init(protocolID: String, id: YamuxStreamID, connection: P2PConnection) {
        self.protocolID = protocolID
        self.id = id
        self.connection = connection
    }

    deinit {
        let handler = connection.handler
        let id = self.id
        connection.eventLoop.execute { handler.value.release(id) }
    }

    private func readRequest(_ request: StreamReadRequest) async throws -> ByteBuffer? {
        let loop = connection.eventLoop
        let promise = loop.makePromise(of: ByteBuffer?.self)
        let handler = connection.handler
        let id = self.id
        loop.execute { handler.value.read(id, request, promise: promise) }
        return try await result(of: promise)
    }

    /// Waits for the operation; cancelling the waiting task fails it with
    /// `CancellationError` and resets the stream.
    private func result<T: Sendable>(of promise: EventLoopPromise<T>) async throws -> T {
        let handler = connection.handler
        let loop = connection.eventLoop
        let id = self.id
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            loop.execute { handler.value.cancelOperations(id) }
        }
    }

    /// Up to `maxBytes` bytes: what is buffered, or the next data to arrive; nil at a clean
    /// end of stream (the peer's FIN). Cancelling the task resets the stream.
    public func read(upTo maxBytes: Int = 1 << 20) async throws -> ByteBuffer? {
        precondition(maxBytes > 0, "maxBytes must be positive")
        return try await readRequest(.upTo(maxBytes))
    }

    /// Exactly `n` bytes. Throws `P2PStreamError.unexpectedEOF` if the stream ends first.
    public func readExactly(_ n: Int) async throws -> ByteBuffer {
        precondition(n >= 0, "n must not be negative")
        return try await readRequest(.exactly(n)) ?? ByteBuffer()
    }

    /// One unsigned-varint length-prefixed message of at most `maxSize` bytes; nil at a clean
    /// end of stream before the prefix. A longer announcement throws `messageTooLarge` and
    /// resets the stream.
    public func readLengthPrefixed(maxSize: Int) async throws -> ByteBuffer? {
        try await readRequest(.lengthPrefixed(max: maxSize))
    }

    /// Sends `buffer`; suspends while the peer's window or the connection is full.
    /// Cancelling the task resets the stream.
    public func write(_ buffer: ByteBuffer) async throws {
        let loop = connection.eventLoop
        let promise = loop.makePromise(of: Void.self)
        let handler = connection.handler
        let id = self.id
        loop.execute { handler.value.write(id, buffer, promise: promise) }
        try await result(of: promise)
    }

    public func write(_ bytes: [UInt8]) async throws {
        try await write(ByteBuffer(bytes: bytes))
    }

    /// Writes `varint(bytes.count) ‖ bytes`.
    public func writeLengthPrefixed(_ bytes: [UInt8]) async throws {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(bytes.count + Varint.maxBytes)
        Varint.write(UInt64(bytes.count), to: &buffer)
        buffer.writeBytes(bytes)
        try await write(buffer)
    }

    /// Half-closes: FIN after everything written. Reading continues until the peer's FIN.
    public func closeWrite() async throws {
        let loop = connection.eventLoop
        let promise = loop.makePromise(of: Void.self)
        let handler = connection.handler
        let id = self.id
        loop.execute { handler.value.closeWrite(id, promise: promise) }
        try await promise.futureResult.get()
    }

    /// Aborts both directions (RST).
    public func reset() async {
        let handler = connection.handler
        let id = self.id
        try? await connection.eventLoop.submit { handler.value.reset(id) }.get()
    }

    public var description: String { "stream \(id.rawValue) (\(protocolID)) with \(remotePeer)" }
}
