import NIOCore

/// Everything that can go wrong in Yamux.
///
/// Peer faults (`isProtocolViolation`) end the session: the session sends GO_AWAY(protocol
/// error) and returns `.closeConnection(error)`. The rest are thrown by the local API
/// (`openStream`, `write`, `closeWrite`) and leave the session usable.
public enum YamuxError: Error, Hashable, Sendable, CustomStringConvertible {
    // ── peer faults ──────────────────────────────────────────────────────────
    case unsupportedVersion(UInt8)
    case unknownFrameType(UInt8)
    case invalidFlags(YamuxFrameType, YamuxFlags)
    /// PING / GO_AWAY on a stream id other than 0, DATA / WINDOW_UPDATE on id 0, or a SYN
    /// with our parity or an id the peer already used.
    case invalidStreamID(YamuxStreamID, YamuxFrameType)
    /// A DATA frame longer than any window we would ever grant.
    case frameTooLarge(YamuxStreamID, length: UInt32, limit: UInt32)
    /// The peer sent more than the receive window it was granted.
    case receiveWindowExceeded(YamuxStreamID, length: UInt32, window: UInt32)
    /// A WINDOW_UPDATE pushed the send window past 2³²−1.
    case sendWindowOverflow(YamuxStreamID)
    /// DATA after the peer's own FIN.
    case dataAfterFin(YamuxStreamID)
    /// A frame (not SYN) for a stream that was never opened.
    case unknownStream(YamuxStreamID)
    /// SYN for a stream that is already open.
    case duplicateStream(YamuxStreamID)

    // ── local API errors ─────────────────────────────────────────────────────
    /// The stream is gone (closed, reset) or was never opened here.
    case streamNotFound(YamuxStreamID)
    /// `write`/`closeWrite` after our own FIN.
    case writeAfterClose(YamuxStreamID)
    /// The write would take the stream's send queue past `maxSendQueue`; wait for `.writable`.
    case sendQueueFull(YamuxStreamID, queued: Int, limit: Int)
    /// `maxAckBacklog` of our streams are still unacknowledged (spec "ACK backlog").
    case ackBacklogFull(limit: Int)
    /// All outbound stream ids are used up (2³¹ streams); open a new connection.
    case streamIDsExhausted
    /// A GO_AWAY was sent or received; no new streams on this session.
    case goingAway
    /// The session already ended with an error.
    case sessionClosed

    public var isProtocolViolation: Bool {
        switch self {
        case .unsupportedVersion, .unknownFrameType, .invalidFlags, .invalidStreamID, .frameTooLarge,
             .receiveWindowExceeded, .sendWindowOverflow, .dataAfterFin, .unknownStream, .duplicateStream:
            true
        default:
            false
        }
    }

    public var description: String {
        switch self {
        case .unsupportedVersion(let v): "yamux: unsupported version \(v)"
        case .unknownFrameType(let t): "yamux: unknown frame type \(t)"
        case .invalidFlags(let t, let f): "yamux: invalid flags \(f) on \(t) frame"
        case .invalidStreamID(let id, let t): "yamux: invalid stream id \(id.rawValue) for \(t) frame"
        case .frameTooLarge(let id, let len, let limit):
            "yamux: DATA frame of \(len) bytes on stream \(id.rawValue) exceeds the \(limit)-byte limit"
        case .receiveWindowExceeded(let id, let len, let window):
            "yamux: peer sent \(len) bytes on stream \(id.rawValue) with only \(window) bytes of window"
        case .sendWindowOverflow(let id): "yamux: window update overflows the send window of stream \(id.rawValue)"
        case .dataAfterFin(let id): "yamux: DATA after FIN on stream \(id.rawValue)"
        case .unknownStream(let id): "yamux: frame for stream \(id.rawValue), which was never opened"
        case .duplicateStream(let id): "yamux: SYN for already open stream \(id.rawValue)"
        case .streamNotFound(let id): "yamux: stream \(id.rawValue) is not open"
        case .writeAfterClose(let id): "yamux: write after close on stream \(id.rawValue)"
        case .sendQueueFull(let id, let queued, let limit):
            "yamux: send queue of stream \(id.rawValue) is full (\(queued) of \(limit) bytes)"
        case .ackBacklogFull(let limit): "yamux: \(limit) opened streams are not yet acknowledged"
        case .streamIDsExhausted: "yamux: stream ids exhausted"
        case .goingAway: "yamux: session is going away"
        case .sessionClosed: "yamux: session closed"
        }
    }
}
