// The dialer (initiator) side of multistream-select.

import NIOCore
import P2PCore

/// Negotiates one protocol from a list of proposals, in order of preference,
/// or asks the listener for its protocol list (`ls`).
///
/// States: `idle` → (`start`) → `awaitingHeader` → `awaitingAnswer` →
/// `done`. The header and the first proposal go out in one packet; each `na`
/// sends the next proposal.
public struct MultistreamDialer: Sendable {
    enum State: Sendable {
        case idle
        /// Sent the header and a request; the listener's header has not arrived yet.
        case awaitingHeader
        /// Header seen; waiting for the answer to `proposals[index]` (or to `ls`).
        case awaitingAnswer
        case done
    }

    private let proposals: [String]
    private let listing: Bool
    private var index = 0
    private var state = State.idle

    /// A dialer that proposes `protocols` in order (at most `Multistream.maxProposals`).
    public init(protocols: [String]) {
        precondition(!protocols.isEmpty && protocols.count <= Multistream.maxProposals, "1...32 protocols")
        proposals = protocols
        listing = false
    }

    /// A dialer that asks the listener for its protocol list instead of selecting one.
    public static func listing() -> MultistreamDialer {
        MultistreamDialer(listingOnly: ())
    }

    private init(listingOnly: ()) {
        proposals = [Multistream.list]
        listing = true
    }

    /// Whether negotiation has finished.
    public var isDone: Bool { if case .done = state { return true } else { return false } }

    /// The first packet: the header and the first proposal (or `ls`).
    public mutating func start() -> ByteBuffer {
        precondition(state == .idle, "start() called twice")
        state = .awaitingHeader
        return Multistream.message(Multistream.protocolID, proposals[0])
    }

    /// Consumes whole messages from `input` and returns what to do.
    /// Stops consuming once a protocol is selected (or the list arrived).
    /// - Throws: `MultistreamError`; the caller closes the stream.
    public mutating func process(_ input: inout ByteBuffer) throws -> [MultistreamAction] {
        var actions: [MultistreamAction] = []
        loop: while true {
            switch state {
            case .idle:
                preconditionFailure("process() before start()")
            case .done:
                if input.readableBytes > 0 && actions.isEmpty { throw MultistreamError.finished }
                break loop
            case .awaitingHeader:
                guard let header = try Multistream.readText(from: &input) else { break loop }
                guard header == Multistream.protocolID else { throw MultistreamError.unexpectedHeader(header) }
                state = .awaitingAnswer
            case .awaitingAnswer:
                if listing {
                    guard let list = try readList(from: &input) else { break loop }
                    state = .done
                    actions.append(.listed(list))
                    break loop
                }
                guard let answer = try Multistream.readText(from: &input) else { break loop }
                let proposed = proposals[index]
                if answer == proposed {
                    state = .done
                    actions.append(.selected(proposed))
                    break loop
                }
                guard answer == Multistream.notAvailable else {
                    throw MultistreamError.unexpectedAnswer(proposed: proposed, answer: answer)
                }
                index += 1
                guard index < proposals.count else {
                    state = .done
                    throw MultistreamError.noProtocolAgreed(tried: proposals)
                }
                actions.append(.send(Multistream.message(proposals[index])))
            }
        }
        return actions
    }

    /// The `ls` answer: one message whose body is a sequence of messages and a final newline.
    private func readList(from input: inout ByteBuffer) throws -> [String]? {
        // "na" means the listener does not support ls; it is a normal short message.
        var peek = input
        if let text = try? Multistream.readText(from: &peek), text == Multistream.notAvailable {
            throw MultistreamError.listingNotSupported
        }
        guard var body = try Multistream.readMessage(from: &input, maxLength: Multistream.maxListLength) else {
            return nil
        }
        var protocols: [String] = []
        while body.readableBytes > 0 {
            guard let text = try Multistream.readText(from: &body) else {
                throw MultistreamError.malformed("the protocol list is cut short")
            }
            protocols.append(text)
        }
        return protocols
    }
}
