// The byte stream the transfer protocols run on, and a buffered reader.
//
// GigiFiles speaks to a small protocol rather than to P2PHost directly so
// that the protocol logic can be exercised over an in-memory pipe in unit
// tests; P2PHost's streams conform through a thin adapter
// (GigiNode/HostTransferStream.swift).
//
// Bytes travel as NIO `ByteBuffer`s end to end: what the host delivers is
// handed to the reader as is, and a chunk that arrives in one piece reaches
// the hash and the pwrite without a copy.

import NIOCore
import P2PCore

import GigiBase

/// A bidirectional byte stream (a libp2p stream once negotiated).
public protocol TransferStream: AnyObject, Sendable {
    /// Up to `maxBytes` bytes as they arrive, or nil at end of stream.
    func read(upTo maxBytes: Int) async throws -> ByteBuffer?
    /// Exactly `n` bytes in one buffer; throws `TransferStreamError.unexpectedEOF`
    /// if the stream ends first.
    func readExactly(_ n: Int) async throws -> ByteBuffer
    func write(_ buffer: ByteBuffer) async throws
    func closeWrite() async throws
    func reset() async
}

public enum TransferStreamError: Error, Equatable, Sendable, UserFacingError {
    case unexpectedEOF
    case messageTooLarge(Int)
    case malformed

    // A peer controls these: they must reach the user as a sentence and an exit code.
    public var message: String {
        switch self {
        case .unexpectedEOF:
            return "The peer ended the connection in the middle of a message; run the same command again."
        case .messageTooLarge(let n):
            return "The peer sent a message too large to accept (\(n) bytes announced); nothing was written."
        case .malformed:
            return "The peer sent a malformed message length; nothing was written."
        }
    }
    public var exitCode: GigiExitCode {
        switch self {
        case .unexpectedEOF: return .unavailable
        case .messageTooLarge, .malformed: return .dataError
        }
    }
}

extension TransferStream {
    public func write(_ bytes: [UInt8]) async throws { try await write(ByteBuffer(bytes: bytes)) }

    /// Writes an unsigned-varint-length-prefixed message.
    public func writeMessage(_ body: [UInt8]) async throws {
        var out = ByteBuffer()
        out.reserveCapacity(body.count + Varint.maxBytes)
        Varint.write(UInt64(body.count), to: &out)
        out.writeBytes(body)
        try await write(out)
    }
}

/// Buffers a `TransferStream` for exact and length-prefixed reads. One reader at a time.
public final class StreamReader: @unchecked Sendable {
    public let stream: TransferStream
    /// Received and not yet consumed, in order.
    private var pending = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    private var available = 0
    private let readSize = 1 << 20

    public init(_ stream: TransferStream) { self.stream = stream }

    /// Bytes received and not yet consumed (readable without waiting).
    public var buffered: Int { available }

    /// Reads more; false at end of stream.
    private func more() async throws -> Bool {
        guard let b = try await stream.read(upTo: readSize) else { return false }
        if b.readableBytes > 0 {
            available += b.readableBytes
            pending.append(b)
        }
        return true
    }

    /// Takes `n` buffered bytes (n <= available) as one buffer: a slice when they
    /// sit in one received buffer, else a copy.
    private func take(_ n: Int) -> ByteBuffer {
        available -= n
        if n == 0 { return ByteBuffer() }
        if pending[pending.startIndex].readableBytes >= n {
            let out = pending[pending.startIndex].readSlice(length: n)!
            if pending[pending.startIndex].readableBytes == 0 { _ = pending.removeFirst() }
            return out
        }
        var out = ByteBuffer()
        out.reserveCapacity(n)
        var need = n
        while need > 0 {
            var first = pending.removeFirst()
            if first.readableBytes > need {
                var piece = first.readSlice(length: need)!
                out.writeBuffer(&piece)
                pending.prepend(first)
                need = 0
            } else {
                need -= first.readableBytes
                out.writeBuffer(&first)
            }
        }
        return out
    }

    /// Exactly `n` bytes as one buffer, or nil at a clean end of stream before the first byte.
    public func readBuffer(_ n: Int) async throws -> ByteBuffer? {
        if available >= n { return take(n) }
        while available < n {
            guard try await more() else {
                if available == 0 { return nil }
                throw TransferStreamError.unexpectedEOF
            }
        }
        return take(n)
    }

    /// Exactly `n` bytes, or nil at a clean end of stream before the first byte.
    public func readExactly(_ n: Int) async throws -> [UInt8]? {
        guard var b = try await readBuffer(n) else { return nil }
        return b.readBytes(length: n)
    }

    /// Reads `dst.count` bytes straight into `dst` (one copy, from the received
    /// buffers); throws at EOF.
    public func read(into dst: UnsafeMutableRawBufferPointer) async throws {
        var done = 0
        while done < dst.count {
            if available == 0 { guard try await more() else { throw TransferStreamError.unexpectedEOF } }
            var piece = take(min(dst.count - done, pending[pending.startIndex].readableBytes))
            let n = piece.readableBytes
            piece.withUnsafeReadableBytes { UnsafeMutableRawBufferPointer(rebasing: dst[done..<(done + n)]).copyMemory(from: $0) }
            piece.moveReaderIndex(forwardBy: n)
            done += n
        }
    }

    /// An unsigned-varint-length-prefixed message of at most `maxSize` bytes; nil at end of stream.
    public func readMessage(maxSize: Int) async throws -> [UInt8]? {
        var length = 0, shift = 0
        while true {
            guard let b = try await readExactly(1) else {
                if shift == 0 { return nil }
                throw TransferStreamError.unexpectedEOF
            }
            length |= Int(b[0] & 0x7f) << shift
            if b[0] & 0x80 == 0 { break }
            shift += 7
            guard shift <= 35 else { throw TransferStreamError.malformed }
        }
        guard length <= maxSize else { throw TransferStreamError.messageTooLarge(length) }
        guard let body = try await readExactly(length) else { throw TransferStreamError.unexpectedEOF }
        return body
    }
}

/// An in-memory duplex pipe: two connected `TransferStream`s (tests, local loops).
public final class MemoryPipe: TransferStream, @unchecked Sendable {
    private var iterator: AsyncStream<ByteBuffer>.Iterator
    private let outgoing: AsyncStream<ByteBuffer>.Continuation
    private let localReset: AsyncStream<ByteBuffer>.Continuation
    private var pending = ByteBuffer()

    private init(incoming: AsyncStream<ByteBuffer>, inContinuation: AsyncStream<ByteBuffer>.Continuation,
                 outgoing: AsyncStream<ByteBuffer>.Continuation) {
        self.iterator = incoming.makeAsyncIterator()
        self.outgoing = outgoing
        self.localReset = inContinuation
    }

    /// Two ends of one pipe.
    public static func pair() -> (MemoryPipe, MemoryPipe) {
        let (a, ac) = AsyncStream<ByteBuffer>.makeStream()
        let (b, bc) = AsyncStream<ByteBuffer>.makeStream()
        return (MemoryPipe(incoming: a, inContinuation: ac, outgoing: bc),
                MemoryPipe(incoming: b, inContinuation: bc, outgoing: ac))
    }

    public func read(upTo maxBytes: Int) async throws -> ByteBuffer? {
        if pending.readableBytes == 0 {
            guard let next = await iterator.next() else { return nil }
            pending = next
        }
        return pending.readSlice(length: min(maxBytes, pending.readableBytes))!
    }

    public func readExactly(_ n: Int) async throws -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(n)
        while out.readableBytes < n {
            guard var piece = try await read(upTo: n - out.readableBytes) else {
                throw TransferStreamError.unexpectedEOF
            }
            out.writeBuffer(&piece)
        }
        return out
    }

    public func write(_ buffer: ByteBuffer) async throws {
        if case .terminated = outgoing.yield(buffer) { throw TransferStreamError.unexpectedEOF }
    }

    public func closeWrite() async throws { outgoing.finish() }

    public func reset() async {
        outgoing.finish()
        localReset.finish()
    }
}
