// The byte stream the transfer protocols run on, and a buffered reader.
//
// GigiFiles speaks to a small protocol rather than to P2PHost directly so
// that the protocol logic can be exercised over an in-memory pipe in unit
// tests; P2PHost's streams conform through a thin adapter (HostAdapter.swift).

import GigiBase

/// A bidirectional byte stream (a libp2p stream once negotiated).
public protocol TransferStream: AnyObject, Sendable {
    /// Up to `maxBytes` bytes, or nil at end of stream.
    func read(upTo maxBytes: Int) async throws -> [UInt8]?
    func write(_ bytes: [UInt8]) async throws
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

/// Buffers a `TransferStream` for exact and length-prefixed reads. One reader at a time.
public final class StreamReader: @unchecked Sendable {
    public let stream: TransferStream
    private var buffer: [UInt8] = []
    private var start = 0
    private let readSize = 1 << 20

    public init(_ stream: TransferStream) { self.stream = stream }

    private var available: Int { buffer.count - start }

    private func fill(_ need: Int) async throws -> Bool {
        while available < need {
            guard let more = try await stream.read(upTo: max(readSize, need - available)) else { return false }
            if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
            else if start > (1 << 20) { buffer.removeFirst(start); start = 0 }
            buffer += more
        }
        return true
    }

    /// Exactly `n` bytes, or nil at a clean end of stream before the first byte.
    public func readExactly(_ n: Int) async throws -> [UInt8]? {
        guard try await fill(n) else {
            if available == 0 { return nil }
            throw TransferStreamError.unexpectedEOF
        }
        let out = Array(buffer[start..<(start + n)])
        start += n
        return out
    }

    /// Reads `n` bytes straight into `dst`; throws at EOF.
    public func read(into dst: UnsafeMutableRawBufferPointer) async throws {
        guard try await fill(dst.count) else { throw TransferStreamError.unexpectedEOF }
        buffer.withUnsafeBytes { src in
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[start..<(start + dst.count)]))
        }
        start += dst.count
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

extension TransferStream {
    /// Writes an unsigned-varint-length-prefixed message.
    public func writeMessage(_ body: [UInt8]) async throws {
        var out: [UInt8] = []
        var n = body.count
        repeat {
            var b = UInt8(n & 0x7f)
            n >>= 7
            if n > 0 { b |= 0x80 }
            out.append(b)
        } while n > 0
        try await write(out + body)
    }
}

/// An in-memory duplex pipe: two connected `TransferStream`s (tests, local loops).
public final class MemoryPipe: TransferStream, @unchecked Sendable {
    private let incoming: AsyncStream<[UInt8]>
    private var iterator: AsyncStream<[UInt8]>.Iterator
    private let outgoing: AsyncStream<[UInt8]>.Continuation
    private let localReset: AsyncStream<[UInt8]>.Continuation

    private init(incoming: AsyncStream<[UInt8]>, inContinuation: AsyncStream<[UInt8]>.Continuation,
                 outgoing: AsyncStream<[UInt8]>.Continuation) {
        self.incoming = incoming
        self.iterator = incoming.makeAsyncIterator()
        self.outgoing = outgoing
        self.localReset = inContinuation
    }

    /// Two ends of one pipe.
    public static func pair() -> (MemoryPipe, MemoryPipe) {
        let (a, ac) = AsyncStream<[UInt8]>.makeStream()
        let (b, bc) = AsyncStream<[UInt8]>.makeStream()
        return (MemoryPipe(incoming: a, inContinuation: ac, outgoing: bc),
                MemoryPipe(incoming: b, inContinuation: bc, outgoing: ac))
    }

    private var pending: [UInt8] = []

    public func read(upTo maxBytes: Int) async throws -> [UInt8]? {
        if pending.isEmpty {
            guard let next = await iterator.next() else { return nil }
            pending = next
        }
        let n = min(maxBytes, pending.count)
        let out = Array(pending[0..<n])
        pending.removeFirst(n)
        return out
    }

    public func write(_ bytes: [UInt8]) async throws {
        if case .terminated = outgoing.yield(bytes) { throw TransferStreamError.unexpectedEOF }
    }

    public func closeWrite() async throws { outgoing.finish() }

    public func reset() async {
        outgoing.finish()
        localReset.finish()
    }
}
