import NIOCore

/// The lifecycle of one Yamux stream, as this side knows it.
public enum YamuxStreamState: Hashable, Sendable {
    /// The id has not been used yet.
    case idle
    /// We sent SYN; no ACK yet. We may already send data (spec "Opening a stream").
    case synSent
    /// The peer sent SYN; our ACK is not out yet (we acknowledge within the same `receive`).
    case synReceived
    /// Both directions open.
    case open
    /// We sent FIN; the peer may still send.
    case halfClosedLocal
    /// The peer sent FIN; we may still send.
    case halfClosedRemote
    /// Both sides sent FIN. A stream whose record is gone (closed or reset) also reports this.
    case closed
    /// RST sent or received.
    case reset

    var localMaySend: Bool {
        switch self {
        case .synSent, .synReceived, .open, .halfClosedRemote: true
        case .idle, .halfClosedLocal, .closed, .reset: false
        }
    }

    var remoteMaySend: Bool {
        switch self {
        case .synSent, .synReceived, .open, .halfClosedLocal: true
        case .idle, .halfClosedRemote, .closed, .reset: false
        }
    }

    /// The state after our FIN went out.
    var afterLocalFin: YamuxStreamState {
        switch self {
        case .synSent, .synReceived, .open: .halfClosedLocal
        case .halfClosedRemote: .closed
        default: self
        }
    }

    /// The state after the peer's FIN arrived.
    var afterRemoteFin: YamuxStreamState {
        switch self {
        case .synSent, .synReceived, .open: .halfClosedRemote
        case .halfClosedLocal: .closed
        default: self
        }
    }
}

/// Per-stream bookkeeping inside `YamuxSession`.
///
/// Receive side invariant: `recvCredit + (bytes of the current DATA frame still to arrive)
/// + buffered + consumedPending == recvWindow`, so what the host buffers for a reader that
/// never reads can never exceed `recvWindow`.
struct YamuxStreamRecord {
    var state: YamuxStreamState
    /// Our SYN is not acknowledged yet (counts toward the ACK backlog).
    var awaitingAck: Bool

    // ── send side ────────────────────────────────────────────────────────────
    /// Bytes the peer lets us send now.
    var sendWindow: UInt32
    /// Written by the application, not yet framed (window closed).
    var sendQueue = CircularBuffer<ByteBuffer>(initialCapacity: 4)
    var queuedBytes = 0
    /// `closeWrite` was called; FIN goes out once the queue drains.
    var finQueued = false
    /// Writability last reported, so `.writable` fires once per transition.
    var reportedWritable = true

    // ── receive side ─────────────────────────────────────────────────────────
    /// The window we grant (grows by auto-tuning).
    var recvWindow: UInt32 = YamuxConfiguration.initialWindow
    /// Bytes the peer may still send before our next WINDOW_UPDATE.
    var recvCredit: UInt32 = YamuxConfiguration.initialWindow
    /// Delivered to the host, not yet consumed by the application.
    var buffered = 0
    /// Consumed by the application, not yet returned to the peer as window.
    var consumedPending: UInt32 = 0
    /// Start of the current auto-tuning epoch (last WINDOW_UPDATE, or first data).
    var epochStart: NIODeadline?

    init(state: YamuxStreamState, awaitingAck: Bool, sendWindow: UInt32) {
        self.state = state
        self.awaitingAck = awaitingAck
        self.sendWindow = sendWindow
    }
}
