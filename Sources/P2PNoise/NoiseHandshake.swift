// The libp2p Noise handshake: XX plus identity payloads, framed on the wire.

import Foundation
import GigiCrypto
import NIOCore
import P2PCore
import SwiftProtobuf

/// What the host must do after feeding handshake input, in order.
public enum NoiseHandshakeAction: Sendable {
    /// Write these bytes (one framed handshake message).
    case send(ByteBuffer)
    /// The handshake is complete and the peer authenticated. Bytes left in the
    /// caller's input buffer are transport messages for `result.transport`.
    case established(NoiseHandshakeResult)
}

/// The outcome of a successful handshake.
public struct NoiseHandshakeResult: Sendable {
    /// The authenticated remote peer.
    public let remotePeer: PeerID
    /// The remote identity key.
    public let remoteKey: P2PPublicKey
    /// Stream muxers the peer listed in its extensions (may be empty).
    public let remoteStreamMuxers: [String]
    /// The encrypting/decrypting transport.
    public var transport: NoiseTransport
}

/// The libp2p Noise handshake as a state machine.
///
/// States: `idle` → initiator: `sentMessage1` → (msg 2) → `done`;
/// responder: `awaitingMessage1` → `sentMessage2` → (msg 3) → `done`.
/// The initiator checks the responder's peer ID against `expectedPeer`.
public struct NoiseHandshake: Sendable {
    private var noise: NoiseXX
    private let identity: P2PPrivateKey
    private let expectedPeer: PeerID?
    private let streamMuxers: [String]
    private var started = false
    private var remote: (peer: PeerID, key: P2PPublicKey, muxers: [String])?

    /// - Parameters:
    ///   - role: `.initiator` for the dialer.
    ///   - identity: our libp2p identity key (signs the Noise static key).
    ///   - expectedPeer: the peer we dialled (initiator); a responder that
    ///     authenticates as anyone else fails the handshake.
    ///   - streamMuxers: muxers to advertise in our payload's extensions (optional).
    ///   - staticKey: the Noise static key; a fresh one per connection by default.
    ///   - ephemeral: source of the ephemeral key (tests inject fixed keys).
    public init(role: NoiseRole, identity: P2PPrivateKey, expectedPeer: PeerID? = nil,
                streamMuxers: [String] = [], staticKey: X25519.PrivateKey = X25519.PrivateKey(),
                ephemeral: @escaping @Sendable () -> X25519.PrivateKey = { X25519.PrivateKey() }) {
        noise = NoiseXX(role: role, staticKey: staticKey, ephemeral: ephemeral)
        self.identity = identity
        self.expectedPeer = expectedPeer
        self.streamMuxers = streamMuxers
    }

    public var role: NoiseRole { noise.role }
    public var isComplete: Bool { noise.isComplete }

    /// The first message for the initiator; nil for the responder (it waits).
    public mutating func start() throws -> ByteBuffer? {
        precondition(!started, "start() called twice")
        started = true
        guard role == .initiator else { return nil }
        return frame(try noise.writeMessage(payload: []))
    }

    /// Consumes whole handshake messages from `input` and returns what to do.
    /// Stops consuming when the handshake completes.
    /// - Throws: `NoiseError`; the caller closes the connection.
    public mutating func process(_ input: inout ByteBuffer) throws -> [NoiseHandshakeAction] {
        precondition(started, "process() before start()")
        var actions: [NoiseHandshakeAction] = []
        while !noise.isComplete, let message = try NoiseTransport.readFrame(from: &input) {
            let index = noise.messageIndex
            let payload = try noise.readMessage(Array(message.readableBytesView))
            switch index {
            case 0:
                // Message 1 carries no identity; its (plaintext) payload is ignored.
                actions.append(.send(frame(try noise.writeMessage(payload: ourPayload()))))
            case 1:
                remote = try verify(payload)
                actions.append(.send(frame(try noise.writeMessage(payload: ourPayload()))))
            default:
                remote = try verify(payload)
            }
        }
        if noise.isComplete, let remote {
            let (send, receive) = noise.split()
            actions.append(.established(NoiseHandshakeResult(
                remotePeer: remote.peer, remoteKey: remote.key, remoteStreamMuxers: remote.muxers,
                transport: NoiseTransport(sender: send, receiver: receive))))
            self.remote = nil
        } else if noise.isComplete && actions.isEmpty && input.readableBytes > 0 {
            throw NoiseError.finished
        }
        return actions
    }

    private func frame(_ message: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(2 + message.count)
        buffer.writeInteger(UInt16(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    /// Our identity key, the signature over our static key, and any extensions.
    private func ourPayload() throws -> [UInt8] {
        var payload = PBNoiseHandshakePayload()
        payload.identityKey = Data(identity.publicKey.protobufEncoded)
        payload.identitySig = Data(identity.signature(for: Noise.signaturePrefix + noise.staticPublicKey))
        if !streamMuxers.isEmpty {
            var extensions = PBNoiseExtensions()
            extensions.streamMuxers = streamMuxers
            payload.extensions = extensions
        }
        return try payload.serializedBytes()
    }

    /// Decodes and checks the peer's payload against the static key it just proved.
    private func verify(_ bytes: [UInt8]) throws -> (peer: PeerID, key: P2PPublicKey, muxers: [String]) {
        let payload: PBNoiseHandshakePayload
        do { payload = try PBNoiseHandshakePayload(serializedBytes: bytes) } catch {
            throw NoiseError.invalidPayload("it is not a NoiseHandshakePayload protobuf")
        }
        guard payload.hasIdentityKey, payload.hasIdentitySig else {
            throw NoiseError.invalidPayload("the identity key or signature is missing")
        }
        let key: P2PPublicKey
        do { key = try P2PPublicKey(protobufEncoded: Array(payload.identityKey)) } catch let error as P2PCoreError {
            throw NoiseError.invalidPayload(error.message.trimmingCharacters(in: CharacterSet(charactersIn: ".")))
        }
        guard let remoteStatic = noise.remoteStatic,
              key.isValidSignature(Array(payload.identitySig), for: Noise.signaturePrefix + remoteStatic) else {
            throw NoiseError.invalidSignature
        }
        let peer = key.peerID
        if let expectedPeer, expectedPeer != peer {
            throw NoiseError.peerIDMismatch(expected: expectedPeer, actual: peer)
        }
        let muxers = payload.hasExtensions ? Array(payload.extensions.streamMuxers.prefix(Noise.maxExtensionEntries)) : []
        return (peer, key, muxers)
    }
}
