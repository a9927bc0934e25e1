// The identify message as a value: building, parsing (all framings), merging.

import Foundation
import P2PCore
import SwiftProtobuf

/// What a peer says about itself in an identify (or push) message.
///
/// Optional fields are nil when the message did not carry them; an empty list
/// means "not sent" as well (protobuf cannot tell the two apart), which is what
/// `merging(push:)` relies on.
public struct IdentifyInfo: Sendable, Equatable {
    /// The protocol family, e.g. `ipfs/0.1.0`.
    public var protocolVersion: String?
    /// The implementation, e.g. `py-libp2p/0.8.1` or `gigi/0.1.0`.
    public var agentVersion: String?
    /// The peer's identity key.
    public var publicKey: P2PPublicKey?
    /// Where the peer listens (without `/p2p/…`). Addresses Gigi cannot parse are left out.
    public var listenAddrs: [Multiaddr]
    /// Our address as the peer sees it (nil if absent or not parseable).
    public var observedAddr: Multiaddr?
    /// The protocols the peer accepts inbound streams for.
    public var protocols: [String]
    /// The peer's signed peer record envelope, as received: NOT verified.
    public var signedPeerRecord: [UInt8]?

    public init(protocolVersion: String? = nil, agentVersion: String? = nil, publicKey: P2PPublicKey? = nil,
                listenAddrs: [Multiaddr] = [], observedAddr: Multiaddr? = nil, protocols: [String] = [],
                signedPeerRecord: [UInt8]? = nil) {
        self.protocolVersion = protocolVersion
        self.agentVersion = agentVersion
        self.publicKey = publicKey
        self.listenAddrs = listenAddrs
        self.observedAddr = observedAddr
        self.protocols = protocols
        self.signedPeerRecord = signedPeerRecord
    }

    /// The bare protobuf message (no length prefix). Listen addresses are sent
    /// without a trailing `/p2p/<id>`, as the spec's consumers expect.
    public func protobufEncoded() -> [UInt8] {
        var message = PBIdentify()
        if let protocolVersion { message.protocolVersion = protocolVersion }
        if let agentVersion { message.agentVersion = agentVersion }
        if let publicKey { message.publicKey = Data(publicKey.protobufEncoded) }
        message.listenAddrs = listenAddrs.map { Data($0.withoutTrailingPeerID.bytes) }
        if let observedAddr { message.observedAddr = Data(observedAddr.bytes) }
        message.protocols = protocols
        if let signedPeerRecord { message.signedPeerRecord = Data(signedPeerRecord) }
        // Every field is optional or repeated: serialising cannot fail.
        return try! message.serializedBytes()
    }

    /// The message as written on a stream: `uvarint(length) ‖ message`.
    public func framed() -> [UInt8] {
        let body = protobufEncoded()
        var out = Varint.encode(UInt64(body.count))
        out.append(contentsOf: body)
        return out
    }

    /// Parses one bare protobuf message.
    /// - Throws: `IdentifyError` if it is too large or malformed.
    public init(protobufEncoded bytes: [UInt8]) throws {
        guard bytes.count <= Identify.maxMessageSize else {
            throw IdentifyError.messageTooLarge(limit: Identify.maxMessageSize)
        }
        let message: PBIdentify
        do { message = try PBIdentify(serializedBytes: bytes) } catch {
            throw IdentifyError.malformed("it is not an Identify protobuf message")
        }
        try self.init(message)
    }

    /// Parses everything the peer wrote on an identify stream before closing it:
    /// one or more length-prefixed frames (merged in order, as go-libp2p splits
    /// large messages), or one bare message (older implementations).
    /// - Throws: `IdentifyError`; `.noMessage` for an empty stream.
    public init(streamBytes bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { throw IdentifyError.noMessage }
        guard bytes.count <= Identify.maxMessageSize + Identify.maxFrames * Varint.maxBytes else {
            throw IdentifyError.messageTooLarge(limit: Identify.maxMessageSize)
        }
        if let bodies = IdentifyInfo.splitFrames(bytes) {
            // Concatenated protobuf messages parse as their merge.
            if let merged = try? IdentifyInfo(protobufEncoded: Array(bodies.joined())) {
                self = merged
                return
            }
        }
        try self.init(protobufEncoded: bytes)
    }

    /// The frame bodies if `bytes` is exactly a sequence of at most
    /// `Identify.maxFrames` length-prefixed frames. (An empty frame is an empty
    /// message; a bare message never starts with 0x00, protobuf's invalid tag 0.)
    static func splitFrames(_ bytes: [UInt8]) -> [ArraySlice<UInt8>]? {
        var bodies: [ArraySlice<UInt8>] = []
        var index = 0
        while index < bytes.count {
            guard bodies.count < Identify.maxFrames,
                  let (length, prefix) = try? Varint.decode(bytes[index...].prefix(Varint.maxBytes)),
                  length <= UInt64(bytes.count - index - prefix) else { return nil }
            let start = index + prefix
            bodies.append(bytes[start..<start + Int(length)])
            index = start + Int(length)
        }
        return bodies
    }

    private init(_ message: PBIdentify) throws {
        protocolVersion = message.hasProtocolVersion ? IdentifyInfo.cut(message.protocolVersion) : nil
        agentVersion = message.hasAgentVersion ? IdentifyInfo.cut(message.agentVersion) : nil
        if message.hasPublicKey {
            do { publicKey = try P2PPublicKey(protobufEncoded: Array(message.publicKey)) } catch let error as P2PCoreError {
                throw IdentifyError.malformed("its public key is unusable (\(error.message))")
            }
        } else {
            publicKey = nil
        }
        // Unknown transports (webtransport, webrtc, …) are skipped, not fatal.
        var addrs: [Multiaddr] = []
        for raw in message.listenAddrs where addrs.count < Identify.maxListenAddrs {
            if let addr = try? Multiaddr(bytes: Array(raw)), !addrs.contains(addr) { addrs.append(addr) }
        }
        listenAddrs = addrs
        observedAddr = message.hasObservedAddr ? try? Multiaddr(bytes: Array(message.observedAddr)) : nil
        var seen = Set<String>()
        var protocols: [String] = []
        for id in message.protocols where protocols.count < Identify.maxProtocols {
            guard !id.isEmpty, id.utf8.count <= Identify.maxProtocolIDLength, seen.insert(id).inserted else { continue }
            protocols.append(id)
        }
        self.protocols = protocols
        signedPeerRecord = message.hasSignedPeerRecord ? Array(message.signedPeerRecord) : nil
    }

    private static func cut(_ text: String) -> String {
        guard text.utf8.count > Identify.maxVersionLength else { return text }
        var cut = ""
        for character in text {
            guard cut.utf8.count + character.utf8.count <= Identify.maxVersionLength else { break }
            cut.append(character)
        }
        return cut
    }

    /// This information updated by a push: fields the push carries replace
    /// ours, fields it leaves out (nil or empty) are kept (spec: "missing
    /// fields should be ignored").
    public func merging(push: IdentifyInfo) -> IdentifyInfo {
        var merged = self
        if let value = push.protocolVersion { merged.protocolVersion = value }
        if let value = push.agentVersion { merged.agentVersion = value }
        if let value = push.publicKey { merged.publicKey = value }
        if !push.listenAddrs.isEmpty { merged.listenAddrs = push.listenAddrs }
        if let value = push.observedAddr { merged.observedAddr = value }
        if !push.protocols.isEmpty { merged.protocols = push.protocols }
        if let value = push.signedPeerRecord { merged.signedPeerRecord = value }
        return merged
    }

    /// Checks that the message belongs to `peer`: a key, if present, must be `peer`'s.
    /// - Throws: `IdentifyError.peerMismatch`.
    public func validate(for peer: PeerID) throws {
        if let publicKey, !peer.matches(publicKey) {
            throw IdentifyError.peerMismatch(expected: peer, actual: publicKey.peerID)
        }
    }
}
