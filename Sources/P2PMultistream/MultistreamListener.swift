// The listener (responder) side of multistream-select.

import NIOCore
import P2PCore

/// Answers a dialer's proposals from a fixed set of supported protocols.
///
/// States: `idle` → (`start`: send our header at once, as the spec allows) →
/// `awaitingHeader` → `awaitingProposal` → `done`. Answers `ls` with the
/// supported protocols (sorted) and unsupported proposals with `na`, at most
/// `Multistream.maxProposals` times.
public struct MultistreamListener: Sendable {
    enum State: Sendable {
        case idle, awaitingHeader, awaitingProposal, done
    }

    private let supported: Set<String>
    private var refusals = 0
    private var state = State.idle

    /// A listener that accepts any protocol in `protocols`.
    public init(protocols: Set<String>) {
        supported = protocols
    }

    /// Whether negotiation has finished.
    public var isDone: Bool { state == .done }

    /// Our header, sent without waiting for the dialer's (py-libp2p dialers
    /// wait for it before proposing).
    public mutating func start() -> ByteBuffer {
        precondition(state == .idle, "start() called twice")
        state = .awaitingHeader
        return Multistream.message(Multistream.protocolID)
    }

    /// Consumes whole messages from `input` and returns what to do. Stops
    /// consuming once a protocol is selected. Replies to several pipelined
    /// messages are coalesced into one `.send`.
    /// - Throws: `MultistreamError`; the caller closes the stream.
    public mutating func process(_ input: inout ByteBuffer) throws -> [MultistreamAction] {
        var reply = ByteBuffer()
        var selected: String?
        loop: while true {
            switch state {
            case .idle:
                preconditionFailure("process() before start()")
            case .done:
                if input.readableBytes > 0 && selected == nil && reply.readableBytes == 0 {
                    throw MultistreamError.finished
                }
                break loop
            case .awaitingHeader:
                guard let header = try Multistream.readText(from: &input) else { break loop }
                guard header == Multistream.protocolID else { throw MultistreamError.unexpectedHeader(header) }
                state = .awaitingProposal
            case .awaitingProposal:
                guard let proposal = try Multistream.readText(from: &input) else { break loop }
                if supported.contains(proposal) {
                    Multistream.write(proposal, to: &reply)
                    state = .done
                    selected = proposal
                    break loop
                }
                refusals += 1
                guard refusals <= Multistream.maxProposals else { throw MultistreamError.tooManyProposals }
                if proposal == Multistream.list {
                    writeList(to: &reply)
                } else {
                    Multistream.write(Multistream.notAvailable, to: &reply)
                }
            }
        }
        var actions: [MultistreamAction] = []
        if reply.readableBytes > 0 { actions.append(.send(reply)) }
        if let selected { actions.append(.selected(selected)) }
        return actions
    }

    private func writeList(to buffer: inout ByteBuffer) {
        var body = ByteBuffer()
        for id in supported.sorted() { Multistream.write(id, to: &body) }
        body.writeInteger(UInt8(ascii: "\n"))
        Varint.write(UInt64(body.readableBytes), to: &buffer)
        buffer.writeBuffer(&body)
    }
}
