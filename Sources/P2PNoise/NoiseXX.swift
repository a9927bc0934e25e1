// The XX handshake pattern (Noise spec §7.5) with 25519, ChaChaPoly, SHA256:
// the plain Noise layer, checked against the cacophony test vectors. The
// libp2p payload rules live in NoiseHandshake.

import GigiCrypto

/// Which side of the handshake we are.
public enum NoiseRole: Sendable {
    /// The dialer: sends messages 1 and 3.
    case initiator
    /// The listener: sends message 2.
    case responder
}

/// A Noise_XX_25519_ChaChaPoly_SHA256 HandshakeState (§5.3).
struct NoiseXX: Sendable {
    let role: NoiseRole
    private var symmetric: NoiseSymmetricState
    private let s: X25519.PrivateKey
    private var e: X25519.PrivateKey?
    private let makeEphemeral: @Sendable () -> X25519.PrivateKey
    private(set) var remoteStatic: [UInt8]?
    private(set) var remoteEphemeral: [UInt8]?
    /// Index of the next message (0, 1, 2; 3 when done).
    private(set) var messageIndex = 0

    static let dhLength = 32

    init(role: NoiseRole, staticKey: X25519.PrivateKey, prologue: [UInt8] = [],
         ephemeral: @escaping @Sendable () -> X25519.PrivateKey = { X25519.PrivateKey() }) {
        self.role = role
        self.s = staticKey
        self.makeEphemeral = ephemeral
        symmetric = NoiseSymmetricState(protocolName: Noise.protocolName)
        symmetric.mixHash(prologue)
    }

    var isComplete: Bool { messageIndex == 3 }
    var handshakeHash: [UInt8] { symmetric.handshakeHash }
    var staticPublicKey: [UInt8] { s.publicKey }

    /// Whether the next message is ours to write.
    var isOurTurn: Bool { (messageIndex % 2 == 0) == (role == .initiator) }

    private func dh(_ key: X25519.PrivateKey?, _ peer: [UInt8]?) throws -> SecureBytes {
        guard let key, let peer else { preconditionFailure("DH before keys are known") }
        do { return try key.sharedSecret(with: peer) } catch { throw NoiseError.invalidKey }
    }

    /// WriteMessage: the tokens of the current message, then the payload.
    mutating func writeMessage(payload: [UInt8]) throws -> [UInt8] {
        precondition(isOurTurn && !isComplete, "writeMessage out of turn")
        var out: [UInt8] = []
        switch messageIndex {
        case 0:   // -> e
            out += writeEphemeral()
        case 1:   // <- e, ee, s, es
            out += writeEphemeral()
            symmetric.mixKey(try dh(e, remoteEphemeral))
            out += try symmetric.encryptAndHash(s.publicKey)
            symmetric.mixKey(try dh(s, remoteEphemeral))
        default:  // -> s, se
            out += try symmetric.encryptAndHash(s.publicKey)
            symmetric.mixKey(try dh(s, remoteEphemeral))
        }
        out += try symmetric.encryptAndHash(payload)
        messageIndex += 1
        return out
    }

    private mutating func writeEphemeral() -> [UInt8] {
        let key = makeEphemeral()
        e = key
        symmetric.mixHash(key.publicKey)
        return key.publicKey
    }

    /// ReadMessage: consumes the current message's tokens, returns the payload.
    mutating func readMessage(_ message: [UInt8]) throws -> [UInt8] {
        precondition(!isOurTurn && !isComplete, "readMessage out of turn")
        let encryptedKeyLength = Self.dhLength + Noise.tagLength
        var rest = message[...]
        func take(_ n: Int) throws -> [UInt8] {
            guard rest.count >= n else { throw NoiseError.badMessageLength(message: messageIndex + 1, length: message.count) }
            defer { rest = rest.dropFirst(n) }
            return Array(rest.prefix(n))
        }
        switch messageIndex {
        case 0:   // -> e
            remoteEphemeral = try take(Self.dhLength)
            symmetric.mixHash(remoteEphemeral!)
        case 1:   // <- e, ee, s, es
            remoteEphemeral = try take(Self.dhLength)
            symmetric.mixHash(remoteEphemeral!)
            symmetric.mixKey(try dh(e, remoteEphemeral))
            remoteStatic = try symmetric.decryptAndHash(try take(encryptedKeyLength))
            symmetric.mixKey(try dh(e, remoteStatic))
        default:  // -> s, se
            remoteStatic = try symmetric.decryptAndHash(try take(encryptedKeyLength))
            symmetric.mixKey(try dh(e, remoteStatic))
        }
        if symmetric.hasKey && rest.count < Noise.tagLength {
            throw NoiseError.badMessageLength(message: messageIndex + 1, length: message.count)
        }
        let payload = try symmetric.decryptAndHash(Array(rest))
        messageIndex += 1
        return payload
    }

    /// The transport cipher states: (ours to send, ours to receive).
    func split() -> (send: NoiseCipherState, receive: NoiseCipherState) {
        precondition(isComplete)
        let (k1, k2) = symmetric.split()
        return role == .initiator ? (NoiseCipherState(key: k1), NoiseCipherState(key: k2))
                                  : (NoiseCipherState(key: k2), NoiseCipherState(key: k1))
    }
}
