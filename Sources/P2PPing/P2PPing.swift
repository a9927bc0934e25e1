// P2PPing: the libp2p ping protocol, `/ipfs/ping/1.0.0`.
//
// Spec: libp2p/specs ping/ping.md (r0, 2022-11-04). The dialer writes 32
// random bytes, the listener echoes them, the dialer measures the round trip;
// the dialer may repeat on the same stream and half-closes after the last one;
// the listener loops until EOF. The dialer "MUST NOT keep more than one
// outbound stream for the ping protocol per peer"; the listener "SHOULD accept
// at most two streams per peer".
//
// Goals: a server handler with exactly those bounds, and a client that
// returns the round-trip times, with the clock and the randomness injected so
// tests control both.
// Non-goals: periodic keep-alive pings and closing idle connections on
// failure (the node decides what a failed ping means).

import GigiBase
import P2PCore

/// Protocol id and limits of ping.
public enum Ping {
    public static let protocolID = "/ipfs/ping/1.0.0"
    /// Bytes per ping (spec).
    public static let payloadSize = 32
    /// Ping streams a listener serves at once per peer (spec: "at most two").
    public static let maxInboundStreamsPerPeer = 2
    /// Most pings one `ping` call sends (keeps a caller's mistake bounded).
    public static let maxCount = 1000
}

/// Why a ping failed.
public enum PingError: UserFacingError, Equatable {
    /// The peer echoed different bytes.
    case mismatch
    /// The peer closed the stream before echoing all 32 bytes.
    case closed
    /// No echo within the timeout.
    case timeout(Duration)
    /// A ping to this peer is already running (spec: one outbound stream per peer).
    case alreadyPinging(PeerID)
    /// `count` was not within 1...`Ping.maxCount`.
    case invalidCount(Int)

    public var message: String {
        switch self {
        case .mismatch: return "The peer answered the ping with different bytes; it is not a compatible libp2p node."
        case .closed: return "The peer closed the ping stream before answering."
        case .timeout(let limit): return "The peer did not answer the ping within \(limit)."
        case .alreadyPinging(let peer): return "A ping to \(peer) is already running; wait for it to finish."
        case .invalidCount(let count): return "A ping count must be 1 to \(Ping.maxCount), not \(count)."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .mismatch: return .dataError
        case .closed, .timeout: return .unavailable
        case .alreadyPinging: return .tempFailure
        case .invalidCount: return .usage
        }
    }
}
