// Unix-domain sockets speaking newline-delimited text, for the daemon's
// control API (GigiNode). They live here because P2PHost is the one module
// that opens sockets; what the lines mean is GigiNode's business.
//
// Security: the socket file is created with mode 0600 inside a directory the
// caller keeps at 0700, and every accepted connection's peer credentials
// (SO_PEERCRED) are checked: only the same user (or root) is served.
// Limits: a line is at most `maxLineLength` bytes (a longer one closes the
// connection), at most `maxClients` connections at once, and at most
// `maxQueuedLines` received lines waiting for the application (a client that
// floods without waiting for answers is disconnected).

#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// Errors from the line sockets.
public enum LineSocketError: Error, Equatable, Sendable, CustomStringConvertible {
    case lineTooLong(Int)
    case closed
    case tooManyLines
    case connectFailed(String)

    public var description: String {
        switch self {
        case .lineTooLong(let n): return "a line longer than \(n) bytes"
        case .closed: return "the connection is closed"
        case .tooManyLines: return "too many unanswered lines"
        case .connectFailed(let why): return why
        }
    }
}

/// Limits for a `LineSocketServer`.
public struct LineSocketLimits: Sendable {
    public var maxLineLength = 1 << 20
    public var maxClients = 64
    public var maxQueuedLines = 1024
    public init() {}
}

/// One connection: read lines, write lines. One reader at a time; writes may come from any task.
public final class LineConnection: Sendable {
    /// The user id of the process at the other end (SO_PEERCRED), when known.
    public let peerUID: UInt32?
    private let channel: Channel
    private let incoming: AsyncThrowingStream<String, Error>

    init(channel: Channel, peerUID: UInt32?, incoming: AsyncThrowingStream<String, Error>) {
        self.channel = channel
        self.peerUID = peerUID
        self.incoming = incoming
    }

    /// The received lines, without their newline; ends when the peer closes.
    public var lines: AsyncThrowingStream<String, Error> { incoming }

    /// Sends `line` followed by a newline.
    public func send(_ line: String) async throws {
        var buffer = channel.allocator.buffer(capacity: line.utf8.count + 1)
        buffer.writeString(line)
        buffer.writeInteger(UInt8(ascii: "\n"))
        try await channel.writeAndFlush(buffer)
    }

    public func close() async {
        try? await channel.close()
    }

    /// Connects to a line server at `path`.
    public static func connect(path: String, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                               maxLineLength: Int = 64 << 20, maxQueuedLines: Int = 1 << 16) async throws -> LineConnection {
        let (stream, continuation) = AsyncThrowingStream<String, Error>.makeStream(bufferingPolicy: .bufferingOldest(maxQueuedLines))
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLength: maxLineLength)))
                        try channel.pipeline.syncOperations.addHandler(LineReceiver(continuation: continuation))
                    }
                }
                .connect(unixDomainSocketPath: path).get()
            return LineConnection(channel: channel, peerUID: nil, incoming: stream)
        } catch {
            continuation.finish()
            throw LineSocketError.connectFailed("\(error)")
        }
    }
}

/// A listening Unix-domain socket; each accepted, authorised connection is handed to `onConnection`.
public final class LineSocketServer: Sendable {
    public let path: String
    private let channel: Channel

    private init(path: String, channel: Channel) {
        self.path = path
        self.channel = channel
    }

    /// Binds `path` (replacing a stale socket file: the caller must hold the lock that
    /// proves no other server uses it) with mode 0600.
    public static func start(path: String, limits: LineSocketLimits = .init(),
                             group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                             onConnection: @escaping @Sendable (LineConnection) async -> Void) async throws -> LineSocketServer {
        let clients = ClientCounter(limit: limits.maxClients)
        let ownUID = getuid()
        // Create the socket file with 0600 from the start: no window where others may connect.
        let oldMask = umask(0o177)
        defer { umask(oldMask) }
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 16)
            .childChannelInitializer { child in
                guard clients.enter() else {
                    return child.close()
                }
                child.closeFuture.whenComplete { _ in clients.leave() }
                return peerUID(child).flatMap { uid -> EventLoopFuture<Void> in
                    guard let uid, uid == ownUID || uid == 0 else {
                        return child.close()
                    }
                    let (stream, continuation) = AsyncThrowingStream<String, Error>.makeStream(
                        bufferingPolicy: .bufferingOldest(limits.maxQueuedLines))
                    let connection = LineConnection(channel: child, peerUID: uid, incoming: stream)
                    return child.eventLoop.makeCompletedFuture {
                        try child.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxLength: limits.maxLineLength)))
                        try child.pipeline.syncOperations.addHandler(LineReceiver(continuation: continuation))
                    }.map {
                        Task { await onConnection(connection) }
                    }
                }
            }
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        _ = chmod(path, 0o600)
        return LineSocketServer(path: path, channel: channel)
    }

    /// Stops accepting and removes the socket file.
    public func close() async {
        try? await channel.close()
        _ = unlink(path)
    }

    /// The connecting process's uid (SO_PEERCRED); nil when the kernel does not say.
    private static func peerUID(_ channel: Channel) -> EventLoopFuture<UInt32?> {
        guard let provider = channel as? SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return future.map { Optional($0.uid) }.recover { _ in nil }
    }
}

/// `struct ucred` of Linux (pid, uid, gid), which Glibc only declares under _GNU_SOURCE.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Counts live connections against a limit (touched from many event loops).
private final class ClientCounter: @unchecked Sendable {
    private var count = 0
    private let limit: Int
    private var lock = pthread_mutex_t()

    init(limit: Int) {
        self.limit = limit
        pthread_mutex_init(&lock, nil)
    }

    func enter() -> Bool {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        guard count < limit else { return false }
        count += 1
        return true
    }

    func leave() {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        count -= 1
    }
}

/// Splits bytes into lines (LF, an optional CR before it is dropped), each at most `maxLength` bytes.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String
    let maxLength: Int

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let nl = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxLength { throw LineSocketError.lineTooLong(maxLength) }
            return .needMoreData
        }
        let length = nl - view.startIndex
        guard length <= maxLength else { throw LineSocketError.lineTooLong(maxLength) }
        var line = buffer.readString(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        context.fireChannelRead(NIOAny(line))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Hands decoded lines to an AsyncThrowingStream; closes the connection when the
/// application falls more than `maxQueued` lines behind.
final class LineReceiver: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = String
    private let continuation: AsyncThrowingStream<String, Error>.Continuation

    /// `continuation` must belong to a stream made with `.bufferingOldest(limit)`:
    /// a dropped line means the application fell that far behind.
    init(continuation: AsyncThrowingStream<String, Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .dropped = continuation.yield(unwrapInboundIn(data)) {
            continuation.finish(throwing: LineSocketError.tooManyLines)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}
