// P2PMultistream: multistream-select 1.0 (`/multistream/1.0.0`) as two pure
// state machines, one for the dialer (initiator) and one for the listener
// (responder).
//
// Spec: multiformats/multistream-select README and libp2p/specs
// connections/README.md. Every message is `varint(length) ‖ UTF-8 text ‖ '\n'`,
// the length counting the newline. Both sides send the header
// `/multistream/1.0.0` first; the dialer proposes protocols one at a time, the
// listener echoes the one it accepts or answers `na`; `ls` asks for a list.
//
// Goals: no I/O, no clocks; bounded everything (message length, number of
// proposals, size of an `ls` answer); usable for the connection upgrade
// (`/noise`, `/yamux/1.0.0`) and for every muxed stream.
//
// Non-goals: the simultaneous-open extension, V1Lazy negotiation.
//
// How the host drives a machine (a thin NIO handler around it):
//
//     var machine = MultistreamDialer(protocols: ["/noise"])
//     write(machine.start())                     // header + first proposal, one packet
//     // for every read: append to `inbound` (a ByteBuffer the handler owns), then
//     for action in try machine.process(&inbound) {
//         switch action {
//         case .send(let bytes): write(bytes)
//         case .selected(let id): // hand `inbound` (the unread rest) and the channel to `id`
//         case .listed(let ids): ...
//         }
//     }
//     // a thrown MultistreamError means: close the connection/stream, log the reason.
//
// `process` consumes only whole messages and stops consuming once a protocol
// is selected, so bytes the peer pipelined after the negotiation stay in the
// caller's buffer for the selected protocol.

import GigiBase
import NIOCore
import P2PCore

/// Protocol ids and limits of multistream-select 1.0.
public enum Multistream {
    /// The header both sides send first.
    public static let protocolID = "/multistream/1.0.0"
    /// Longest message (text plus newline) accepted. The spec sets none;
    /// go-multistream refuses messages over 1024 bytes, and protocol ids are short.
    public static let maxMessageLength = 1024
    /// Longest `ls` answer accepted (all nested messages together).
    public static let maxListLength = 64 * 1024
    /// Most protocols a dialer proposes, or a listener answers `na` to, before giving up.
    public static let maxProposals = 32

    static let notAvailable = "na"
    static let list = "ls"

    /// Appends one message (`varint ‖ text ‖ '\n'`) to `buffer`.
    static func write(_ text: String, to buffer: inout ByteBuffer) {
        let length = text.utf8.count + 1
        precondition(length <= maxMessageLength, "multistream message too long: \(text)")
        Varint.write(UInt64(length), to: &buffer)
        buffer.writeString(text)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    static func message(_ texts: String...) -> ByteBuffer {
        var buffer = ByteBuffer()
        for text in texts { write(text, to: &buffer) }
        return buffer
    }

    /// Reads one whole message from `buffer` (nil, buffer untouched, if incomplete).
    /// The returned body includes everything before the final newline.
    static func readMessage(from buffer: inout ByteBuffer, maxLength: Int = maxMessageLength) throws -> ByteBuffer? {
        let view = buffer.readableBytesView
        let prefix: (value: UInt64, length: Int)?
        do { prefix = try Varint.decode(view.prefix(Varint.maxBytes)) } catch {
            throw MultistreamError.malformed("the length prefix is not a valid varint")
        }
        guard let (length, prefixLength) = prefix else {
            if view.count >= 3 {
                // A 3-byte varint is already ≥ 16384: no legal message is that long.
                throw MultistreamError.messageTooLong(maxLength: maxLength)
            }
            return nil
        }
        guard length <= UInt64(maxLength) else { throw MultistreamError.messageTooLong(maxLength: maxLength) }
        guard length >= 1 else { throw MultistreamError.malformed("a message is empty (no newline)") }
        guard view.count >= prefixLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: prefixLength)
        var body = buffer.readSlice(length: Int(length))!
        guard body.getInteger(at: body.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\n") else {
            throw MultistreamError.malformed("a message does not end with a newline")
        }
        body.moveWriterIndex(to: body.writerIndex - 1)
        return body
    }

    /// Reads one whole message as text (nil if incomplete).
    static func readText(from buffer: inout ByteBuffer) throws -> String? {
        guard var body = try readMessage(from: &buffer) else { return nil }
        guard let text = String(validating: body.readableBytesView, as: UTF8.self),
              !text.utf8.contains(UInt8(ascii: "\n")) else {
            throw MultistreamError.malformed("a message is not a single line of UTF-8 text")
        }
        return text
    }
}

/// What the host must do after feeding input to a machine, in order.
public enum MultistreamAction: Equatable, Sendable {
    /// Write these bytes to the peer.
    case send(ByteBuffer)
    /// Negotiation is over: the connection or stream now speaks this protocol.
    /// Unconsumed input (still in the caller's buffer) belongs to it.
    case selected(String)
    /// The listener's answer to `ls` (dialer in listing mode).
    case listed([String])
}

/// Why a negotiation failed. Each case closes the connection or stream.
public enum MultistreamError: UserFacingError, Equatable {
    /// The peer's first message was not `/multistream/1.0.0`.
    case unexpectedHeader(String)
    /// A message exceeded the length limit.
    case messageTooLong(maxLength: Int)
    /// A message broke the framing rules.
    case malformed(String)
    /// The listener refused every protocol the dialer proposed.
    case noProtocolAgreed(tried: [String])
    /// The listener answered something other than our proposal or `na`.
    case unexpectedAnswer(proposed: String, answer: String)
    /// The dialer proposed more unsupported protocols than the listener allows.
    case tooManyProposals
    /// The listener does not support `ls`.
    case listingNotSupported
    /// Input arrived after the negotiation had finished or failed (a bug in the caller).
    case finished

    public var message: String {
        switch self {
        case .unexpectedHeader(let h):
            return "The peer does not speak multistream-select 1.0 (its first message was '\(h.prefix(64))'); it may not be a libp2p node."
        case .messageTooLong(let max):
            return "The peer sent a multistream-select message longer than \(max) bytes; the connection was closed."
        case .malformed(let why):
            return "The peer sent a malformed multistream-select message: \(why)."
        case .noProtocolAgreed(let tried):
            return "The peer supports none of the protocols \(tried.joined(separator: ", ")); it may run an incompatible version."
        case .unexpectedAnswer(let proposed, let answer):
            return "The peer answered '\(answer.prefix(64))' when '\(proposed)' was proposed; the negotiation was aborted."
        case .tooManyProposals:
            return "The peer proposed more than \(Multistream.maxProposals) protocols without agreeing on one; the stream was closed."
        case .listingNotSupported:
            return "The peer does not list its protocols (it answered 'na' to 'ls')."
        case .finished:
            return "Multistream-select input arrived after the negotiation finished (an internal error in gigi)."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .noProtocolAgreed, .listingNotSupported: return .unavailable
        case .finished: return .software
        default: return .dataError
        }
    }
}
