// P2PIdentify: the libp2p identify protocols, `/ipfs/id/1.0.0` (ask a peer who
// it is) and `/ipfs/id/push/1.0.0` (tell peers what changed).
//
// Spec: libp2p/specs identify/README.md (r1, 2021-08-09). The answering side
// writes one `Identify` protobuf and closes the stream; push is the same
// message sent by the initiator, and "missing fields should be ignored" in it.
// The spec does not fix the framing: every current implementation (go, rust,
// py-libp2p 0.8.1) writes `uvarint(length) ‖ message`, go may split a large
// message into several such frames, and old implementations wrote the bare
// message. We write one length-prefixed frame and read any of these forms.
//
// Goals:
//   * pure message code (`IdentifyInfo`: build, parse, merge a push) with
//     every peer-controlled size bounded;
//   * `IdentifyService`: answers identify and push on a `P2PHost`, identifies
//     every new connection, and keeps a bounded table of what peers said.
// Non-goals: verifying or producing signed peer records (field 8 is kept as
// opaque bytes), sending pushes when our addresses change (the node decides
// when; `push(to:)` is the primitive), address book / NAT inference from
// observed addresses.

import GigiBase
import P2PCore

/// Protocol ids and limits of identify.
public enum Identify {
    /// Ask a peer for its identify message.
    public static let protocolID = "/ipfs/id/1.0.0"
    /// Push our identify message to a peer.
    public static let pushProtocolID = "/ipfs/id/push/1.0.0"
    /// The protocol family we announce (the value go-, rust- and py-libp2p send).
    public static let protocolVersion = "ipfs/0.1.0"

    /// Most bytes read from one identify or push stream, all frames together.
    /// The spec sets no limit; rust-libp2p allows 4096 bytes per message and
    /// go-libp2p 8 KiB (`signedIDSize`), but a py-libp2p 0.8.1 message with its
    /// signed peer record and ~60 protocols already passes 4 KiB, so we allow 64 KiB.
    public static let maxMessageSize = 64 * 1024
    /// Push streams read at once, per peer and from all peers (each buffers up
    /// to `maxMessageSize`); further ones are reset.
    public static let maxConcurrentPushesPerPeer = 1
    public static let maxConcurrentPushes = 32
    /// Most length-prefixed frames accepted on one stream (go-libp2p: `maxMessages = 10`).
    public static let maxFrames = 10
    /// Listen addresses kept from one message; further ones are dropped.
    public static let maxListenAddrs = 128
    /// Protocol ids kept from one message; further ones are dropped.
    public static let maxProtocols = 512
    /// Longest protocol id kept (the multistream-select message limit, less the newline).
    public static let maxProtocolIDLength = 1023
    /// Longest agent or protocol version string kept; longer ones are cut.
    public static let maxVersionLength = 256
}

/// Why an identify exchange failed.
public enum IdentifyError: UserFacingError, Equatable {
    /// The peer sent more than `Identify.maxMessageSize` bytes (or too many frames).
    case messageTooLarge(limit: Int)
    /// The peer's bytes are not an identify message.
    case malformed(String)
    /// The peer closed the stream without sending anything.
    case noMessage
    /// The public key in the message is not the key of the peer on the connection.
    case peerMismatch(expected: PeerID, actual: PeerID)
    /// The peer did not finish its message within the timeout.
    case timeout(Duration)

    public var message: String {
        switch self {
        case .messageTooLarge(let limit):
            return "The peer's identify message is larger than \(limit) bytes; it was dropped."
        case .malformed(let why):
            return "The peer's identify message is malformed: \(why)."
        case .noMessage:
            return "The peer closed the identify stream without answering."
        case .peerMismatch(let expected, let actual):
            return "The peer \(expected) sent the identify key of another peer (\(actual)); its message was dropped."
        case .timeout(let limit):
            return "The peer did not answer identify within \(limit)."
        }
    }

    public var exitCode: GigiExitCode {
        if case .timeout = self { return .unavailable }
        return .dataError
    }
}
