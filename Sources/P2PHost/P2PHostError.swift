// Errors of the libp2p host and its streams.

import GigiBase
import P2PCore

/// Why a host operation (listen, dial, open a stream) failed.
public enum P2PHostError: UserFacingError, Equatable {
    /// The TCP connection or its upgrade (multistream, Noise, Yamux) failed.
    case dialFailed(Multiaddr, reason: String)
    /// Dialling or upgrading took longer than the configured timeout.
    case timeout
    /// The peer authenticated as someone other than the peer we meant to reach.
    case peerIDMismatch(expected: PeerID, actual: PeerID)
    /// The peer supports none of the protocols we proposed for a stream.
    case protocolNotSupported([String])
    /// Stream negotiation failed for another reason (the peer reset or closed the stream,
    /// e.g. because it is at its inbound stream limit, or broke multistream-select).
    case negotiationFailed(String)
    /// A configured limit (connections, pending dials, streams) was reached.
    case limitReached(String)
    /// The address is not a TCP address this host can dial or listen on.
    case unsupportedAddress(Multiaddr)
    /// Binding a listener failed.
    case listenFailed(Multiaddr, reason: String)
    /// No live connection and no known address for the peer.
    case noAddresses(PeerID)
    /// The connection closed (or is going away) before the operation finished.
    case connectionClosed(String)
    /// The host was shut down.
    case shutDown

    public var message: String {
        switch self {
        case .dialFailed(let addr, let reason):
            return "Could not connect to \(addr): \(reason)"
        case .timeout:
            return "The peer did not answer in time; check the address and that the peer is running."
        case .peerIDMismatch(let expected, let actual):
            return "The peer at this address is \(actual), not the expected \(expected); check the /p2p part of the address."
        case .protocolNotSupported(let ids):
            return "The peer supports none of the protocols \(ids.joined(separator: ", ")); it may run an incompatible version."
        case .negotiationFailed(let reason):
            return "Opening a stream to the peer failed: \(reason)."
        case .limitReached(let what):
            return "Too many \(what); try again later or raise the limit."
        case .unsupportedAddress(let addr):
            return "The address \(addr) is not a TCP address (/ip4|ip6|dns/…/tcp/PORT) that gigi can use."
        case .listenFailed(let addr, let reason):
            return "Could not listen on \(addr): \(reason)"
        case .noAddresses(let peer):
            return "No address is known for peer \(peer); give one with its multiaddr."
        case .connectionClosed(let reason):
            return "The connection to the peer closed (\(reason))."
        case .shutDown:
            return "The network host has shut down."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .peerIDMismatch: return .noPermission
        case .limitReached: return .tempFailure
        case .unsupportedAddress: return .usage
        case .listenFailed: return .cannotCreate
        case .shutDown: return .software
        default: return .unavailable
        }
    }
}

/// Why a stream operation failed.
public enum P2PStreamError: UserFacingError, Equatable {
    /// The stream ended (remote FIN) before the requested bytes arrived.
    case unexpectedEOF
    /// The stream was reset (by the peer, or locally).
    case reset
    /// A length-prefixed message announced more bytes than allowed.
    case messageTooLarge(Int)
    /// Write after `closeWrite`, or use after the stream was released.
    case closed
    /// The connection carrying the stream closed.
    case connectionClosed(String)
    /// The unsigned-varint length prefix is malformed.
    case malformedLengthPrefix

    public var message: String {
        switch self {
        case .unexpectedEOF: return "The peer ended the stream in the middle of a message."
        case .reset: return "The peer aborted the stream."
        case .messageTooLarge(let n): return "The peer announced a message of \(n) bytes, more than allowed; the stream was reset."
        case .closed: return "The stream is already closed for writing."
        case .connectionClosed(let reason): return "The connection to the peer closed (\(reason))."
        case .malformedLengthPrefix: return "The peer sent a malformed message length; the stream was reset."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .closed: return .software
        case .messageTooLarge, .malformedLengthPrefix, .unexpectedEOF: return .dataError
        default: return .unavailable
        }
    }
}
