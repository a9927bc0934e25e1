// User-facing errors of messaging and contacts (one sentence, an exit code).

import GigiBase

public enum MessagingError: UserFacingError, Equatable {
    /// The message text is empty.
    case emptyText
    /// The message text is longer than the protocol allows.
    case textTooLong(bytes: Int, limit: Int)
    /// Messages to this node's own peer ID.
    case sendToSelf
    /// The outbox holds its maximum number of undelivered messages.
    case outboxFull(limit: Int)
    /// `send` before `start()` or after `stop()`.
    case notRunning
    /// A reply id that is not a 16-byte message id.
    case invalidReplyTo
    /// A contact name is empty, too long or contains control characters or slashes.
    case invalidContactName(String, reason: String)
    /// Another contact already uses the name.
    case contactNameTaken(String, peer: String)
    /// The peer is already a contact under another name.
    case alreadyContact(peer: String, name: String)
    /// No contact by that name or peer ID.
    case unknownContact(String)
    /// A multiaddr given with a contact is not usable.
    case invalidAddress(String, reason: String)
    /// A peer argument matches nothing known.
    case unknownPeer(String)
    /// A peer argument matches several peers.
    case ambiguousPeer(String, candidates: [String])
    /// The text looks like a peer ID or multiaddr but is malformed.
    case invalidPeer(String, reason: String)

    public var message: String {
        switch self {
        case .emptyText:
            return "The message is empty; give some text to send."
        case .textTooLong(let bytes, let limit):
            return "The message is \(bytes) bytes long but at most \(limit) bytes of UTF-8 can be sent; shorten it or share it as a file."
        case .sendToSelf:
            return "That peer ID is this node's own; give another peer to message."
        case .outboxFull(let limit):
            return "The outbox already holds \(limit) undelivered messages; wait for deliveries or expiry and try again."
        case .notRunning:
            return "Messaging is not running; start the node (or the daemon) first."
        case .invalidReplyTo:
            return "The message to reply to must be given by its 16-byte id (32 hex digits)."
        case .invalidContactName(let name, let reason):
            return "'\(name.prefix(80))' cannot be a contact name: \(reason)."
        case .contactNameTaken(let name, let peer):
            return "The contact name '\(name)' is already used for \(peer); pick another name or rename that contact."
        case .alreadyContact(let peer, let name):
            return "Peer \(peer) is already a contact named '\(name)'; use 'gigi contacts rename' to change its name."
        case .unknownContact(let text):
            return "No contact is named '\(text.prefix(80))'; see 'gigi contacts ls'."
        case .invalidAddress(let text, let reason):
            return "'\(text.prefix(120))' is not a usable address: \(reason)."
        case .unknownPeer(let text):
            return "'\(text.prefix(80))' is not a contact, a discovered nickname, a peer ID or a /p2p multiaddr; see 'gigi contacts ls' or 'gigi peers'."
        case .ambiguousPeer(let text, let candidates):
            return "'\(text.prefix(80))' matches several peers (\(candidates.joined(separator: ", "))); give the peer ID or add a contact."
        case .invalidPeer(let text, let reason):
            return "'\(text.prefix(120))' is not a valid peer: \(reason)."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .emptyText, .textTooLong, .sendToSelf, .invalidReplyTo, .invalidContactName, .invalidAddress,
             .ambiguousPeer, .invalidPeer:
            return .usage
        case .outboxFull: return .tempFailure
        case .notRunning: return .unavailable
        case .contactNameTaken, .alreadyContact: return .cannotCreate
        case .unknownContact, .unknownPeer: return .noInput
        }
    }
}
