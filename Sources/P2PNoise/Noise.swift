// P2PNoise: the libp2p Noise secure channel (`/noise`), as pure state machines.
//
// Spec: libp2p/specs noise/README.md (r5) on top of the Noise Protocol
// Framework rev. 34 with the single suite `Noise_XX_25519_ChaChaPoly_SHA256`,
// empty prologue. The XX pattern:
//
//     -> e
//     <- e, ee, s, es     + payload (responder's identity)
//     -> s, se            + payload (initiator's identity)
//
// Each payload is a `NoiseHandshakePayload` protobuf carrying the libp2p
// identity key and its signature over "noise-libp2p-static-key:" ‖ the Noise
// static key; extensions are parsed and handed up (stream muxers), unknown
// fields ignored. Every message on the wire is `u16 big-endian length ‖
// message`, at most 65535 bytes; transport messages are ChaCha20-Poly1305
// ciphertexts with a 16-byte tag, so one frame carries at most 65519 bytes
// of plaintext.
//
// Goals: no I/O, no clocks; keys and randomness injectable for tests; the
// transport path encrypts and decrypts in place inside ByteBuffers.
// Non-goals: other handshake patterns or suites, early data, rekeying.
//
// How the host drives it (thin NIO handlers around two values):
//
//     var handshake = NoiseHandshake(role: .initiator, identity: key, expectedPeer: dialled)
//     if let first = handshake.start() { write(first) }        // initiator only
//     // for every read: append to `inbound`, then
//     for action in try handshake.process(&inbound) {
//         switch action {
//         case .send(let bytes): write(bytes)
//         case .established(let result):   // result.remotePeer is authenticated
//             var transport = result.transport   // `inbound` may already hold transport frames
//         }
//     }
//     // outbound data:  try transport.seal(plaintext, into: &out); write(out)
//     // inbound data:   while let plain = try transport.open(&inbound) { deliver(plain) }
//     // any thrown NoiseError: close the connection and log `error.message`.

import GigiBase
import P2PCore

/// Constants of the libp2p Noise channel.
public enum Noise {
    /// The multistream-select protocol id.
    public static let protocolID = "/noise"
    /// The Noise protocol name (exactly 32 bytes, so it is used as `h` unhashed).
    static let protocolName = "Noise_XX_25519_ChaChaPoly_SHA256"
    /// Largest Noise message (Noise spec §3; the 2-byte length prefix).
    public static let maxMessageLength = 65535
    /// ChaCha20-Poly1305 tag length.
    public static let tagLength = 16
    /// Largest plaintext in one transport message.
    public static let maxPlaintextLength = maxMessageLength - tagLength
    /// Prefix of the signed static key (libp2p noise spec, "Static Key Authentication").
    static let signaturePrefix = Array("noise-libp2p-static-key:".utf8)
    /// Most stream-muxer names accepted in a peer's extensions.
    static let maxExtensionEntries = 16
}

/// Why a Noise handshake or transport message was rejected. Each case closes the connection.
public enum NoiseError: UserFacingError, Equatable {
    /// A handshake message was shorter than its pattern requires, or had trailing bytes.
    case badMessageLength(message: Int, length: Int)
    /// A ciphertext failed authentication (tampered, or keys disagree).
    case decryptionFailed
    /// The peer's handshake payload is not a valid libp2p payload.
    case invalidPayload(String)
    /// The peer's identity signature over its Noise static key is wrong.
    case invalidSignature
    /// The peer authenticated as someone other than the peer we dialled.
    case peerIDMismatch(expected: PeerID, actual: PeerID)
    /// The peer's Noise key is a low-order point.
    case invalidKey
    /// 2^64 - 1 messages were sent or received: the channel must be closed (spec).
    case nonceExhausted
    /// The handshake finished; further handshake input is a caller bug.
    case finished

    public var message: String {
        switch self {
        case .badMessageLength(let n, let length):
            return "The peer sent a Noise handshake message \(n) of the wrong length (\(length) bytes); it is not a compatible libp2p node."
        case .decryptionFailed:
            return "A message from the peer failed Noise authentication (corrupted or tampered); the connection was closed."
        case .invalidPayload(let why):
            return "The peer's Noise handshake payload is invalid: \(why)."
        case .invalidSignature:
            return "The peer's identity signature over its Noise key is invalid; the connection was closed."
        case .peerIDMismatch(let expected, let actual):
            return "The peer at this address is \(actual), not the expected \(expected); check the /p2p part of the address."
        case .invalidKey:
            return "The peer sent an invalid Noise public key; the connection was closed."
        case .nonceExhausted:
            return "The Noise channel used up its nonces; the connection was closed and must be re-established."
        case .finished:
            return "Noise handshake input arrived after the handshake finished (an internal error in gigi)."
        }
    }

    public var exitCode: GigiExitCode {
        switch self {
        case .peerIDMismatch: return .noPermission
        case .finished: return .software
        default: return .dataError
        }
    }
}
