import NIOCore

/// Which end of the connection this session is. The client (the dialer) opens odd stream ids,
/// the server (the listener) even ones (spec "StreamID Field").
public enum YamuxRole: Sendable {
    case client
    case server
}

/// Limits and tuning of a `YamuxSession`. Every quantity a peer can influence is bounded here.
public struct YamuxConfiguration: Sendable {
    /// The window every stream starts with in both directions (spec "Flow Control": 256 KiB).
    public static let initialWindow: UInt32 = 256 * 1024
    /// go-yamux's and py-libp2p's cap on an auto-tuned receive window.
    public static let defaultMaxReceiveWindow: UInt32 = 16 * 1024 * 1024

    /// Receive windows grow from `initialWindow` up to this (also the largest DATA frame accepted).
    public var maxReceiveWindow: UInt32 = defaultMaxReceiveWindow
    /// Grow receive windows from RTT and consumption (go-yamux's rule: double when half the
    /// window was consumed within 4 RTTs of the previous update).
    public var autoTuneReceiveWindow = true
    /// RTT the auto-tuner assumes before a PING has measured one (py-libp2p assumes 1 ms).
    public var assumedRTT: TimeAmount = .milliseconds(1)
    /// Largest DATA payload we send in one frame (go-yamux / py-libp2p: 64 KiB).
    public var maxFramePayload: Int = 64 * 1024
    /// Inbound streams open at once; a SYN beyond this is answered with RST.
    public var maxInboundStreams: Int = 256
    /// Our streams the peer has not acknowledged yet (spec "ACK backlog": at most 256).
    public var maxAckBacklog: Int = 256
    /// A stream stops being writable once this many bytes wait in its send queue.
    public var sendQueueHighWatermark: Int = 1024 * 1024
    /// Hard bound of a stream's send queue; a write past it throws `sendQueueFull`.
    /// (A write into an empty queue is always taken: the caller already holds those bytes.)
    public var maxSendQueue: Int = 4 * 1024 * 1024

    public init() {}
}
