// Noise transport messages: framing and in-place ChaCha20-Poly1305.

import GigiCrypto
import NIOCore

/// The encrypted channel after the handshake: one cipher state per direction.
///
/// `seal` frames and encrypts outbound bytes (splitting them into messages of
/// at most 65519 plaintext bytes); `open` decrypts one inbound frame at a time,
/// in place, returning the plaintext as a slice of the input buffer.
public struct NoiseTransport: Sendable {
    private var sender: NoiseCipherState
    private var receiver: NoiseCipherState

    init(sender: NoiseCipherState, receiver: NoiseCipherState) {
        self.sender = sender
        self.receiver = receiver
    }

    /// Reads one `u16 length ‖ message` frame (nil, input untouched, if incomplete).
    static func readFrame(from input: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = input.getInteger(at: input.readerIndex, as: UInt16.self),
              input.readableBytes >= 2 + Int(length) else { return nil }
        input.moveReaderIndex(forwardBy: 2)
        return input.readSlice(length: Int(length))!
    }

    /// Encrypts `plaintext` into one or more frames appended to `out`.
    public mutating func seal(_ plaintext: ByteBuffer, into out: inout ByteBuffer) throws {
        var remaining = plaintext
        let frames = max(1, (remaining.readableBytes + Noise.maxPlaintextLength - 1) / Noise.maxPlaintextLength)
        out.reserveCapacity(minimumWritableBytes: remaining.readableBytes + frames * (2 + Noise.tagLength))
        repeat {
            var chunk = remaining.readSlice(length: min(remaining.readableBytes, Noise.maxPlaintextLength))!
            try sealFrame(&chunk, into: &out)
        } while remaining.readableBytes > 0
    }

    private mutating func sealFrame(_ chunk: inout ByteBuffer, into out: inout ByteBuffer) throws {
        let count = chunk.readableBytes
        let nonce = NoiseCipherState.nonceBytes(try sender.nextNonce())
        out.writeInteger(UInt16(count + Noise.tagLength))
        let start = out.writerIndex - out.readerIndex
        out.writeBuffer(&chunk)
        out.writeRepeatingByte(0, count: Noise.tagLength)
        let key = sender.key!
        out.withUnsafeMutableReadableBytes { bytes in
            key.withUnsafeBytes { k in
                nonce.withUnsafeBytes { n in
                    ChaChaPoly.sealInPlace(bytes.baseAddress! + start, count: count,
                                           key: k.baseAddress!, nonce: n.baseAddress!)
                }
            }
        }
    }

    /// Decrypts the next whole frame in `input`, in place, and returns its
    /// plaintext (a slice of `input`'s storage); nil if no whole frame is there.
    /// - Throws: `NoiseError.decryptionFailed` for a tampered or truncated
    ///   message (shorter than a tag); the connection must be closed.
    public mutating func open(_ input: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = input.getInteger(at: input.readerIndex, as: UInt16.self),
              input.readableBytes >= 2 + Int(length) else { return nil }
        let count = Int(length)
        guard count >= Noise.tagLength else { throw NoiseError.decryptionFailed }
        guard receiver.nonce < UInt64.max else { throw NoiseError.nonceExhausted }
        let nonce = NoiseCipherState.nonceBytes(receiver.nonce)
        let key = receiver.key!
        let ok = input.withUnsafeMutableReadableBytes { bytes in
            key.withUnsafeBytes { k in
                nonce.withUnsafeBytes { n in
                    ChaChaPoly.openInPlace(bytes.baseAddress! + 2, count: count,
                                           key: k.baseAddress!, nonce: n.baseAddress!)
                }
            }
        }
        guard ok else { throw NoiseError.decryptionFailed }
        _ = try receiver.nextNonce()
        input.moveReaderIndex(forwardBy: 2)
        let plaintext = input.readSlice(length: count - Noise.tagLength)!
        input.moveReaderIndex(forwardBy: Noise.tagLength)
        return plaintext
    }
}
