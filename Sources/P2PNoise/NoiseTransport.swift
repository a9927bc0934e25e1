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
        try seal(pieces: [plaintext], into: &out)
    }

    /// Encrypts the concatenation of `pieces` into frames of the largest size appended to
    /// `out`, reading each piece where it lies (no gathering copy): the host hands the
    /// Yamux headers and payload slices of one flush here as they are.
    public mutating func seal(pieces: [ByteBuffer], into out: inout ByteBuffer) throws {
        let total = pieces.reduce(0) { $0 + $1.readableBytes }
        let frames = max(1, (total + Noise.maxPlaintextLength - 1) / Noise.maxPlaintextLength)
        out.reserveCapacity(minimumWritableBytes: total + frames * (2 + Noise.tagLength))
        var index = 0
        var current = pieces.first ?? ByteBuffer()
        var remaining = total
        repeat {
            let count = min(remaining, Noise.maxPlaintextLength)
            var frame: [ByteBuffer] = []
            var need = count
            while need > 0 {
                while current.readableBytes == 0 {
                    index += 1
                    current = pieces[index]
                }
                let piece = current.readSlice(length: min(need, current.readableBytes))!
                frame.append(piece)
                need -= piece.readableBytes
            }
            try seal(pieces: frame, count: count, into: &out)
            remaining -= count
        } while remaining > 0
    }

    /// One frame of `count` plaintext bytes taken from `pieces`, encrypted straight into `out`.
    private mutating func seal(pieces: [ByteBuffer], count: Int, into out: inout ByteBuffer) throws {
        let nonce = NoiseCipherState.nonceBytes(try sender.nextNonce())
        let key = sender.key!
        out.writeInteger(UInt16(count + Noise.tagLength))
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: count + Noise.tagLength) { destination in
            let sealer = key.withUnsafeBytes { k in
                nonce.withUnsafeBytes { n in ChaChaPolySealer(key: k.baseAddress!, nonce: n.baseAddress!) }
            }
            var offset = 0
            for piece in pieces {
                piece.withUnsafeReadableBytes { sealer.update($0, to: destination.baseAddress! + offset) }
                offset += piece.readableBytes
            }
            sealer.finish(tag: destination.baseAddress! + count)
            return count + Noise.tagLength
        }
    }

    /// The length, nonce and key for the next whole frame at the start of `input`; nil if
    /// the frame is not all there yet.
    private func nextFrame(in input: ByteBuffer) throws -> (count: Int, nonce: [UInt8], key: SecureBytes)? {
        guard let length = input.getInteger(at: input.readerIndex, as: UInt16.self),
              input.readableBytes >= 2 + Int(length) else { return nil }
        let count = Int(length)
        guard count >= Noise.tagLength else { throw NoiseError.decryptionFailed }
        guard receiver.nonce < UInt64.max else { throw NoiseError.nonceExhausted }
        return (count, NoiseCipherState.nonceBytes(receiver.nonce), receiver.key!)
    }

    /// Decrypts the next whole frame of `input` out of place, appending its plaintext to
    /// `out`; false (input untouched) if no whole frame is there. `input` is only read, so a
    /// buffer shared with others is not copied.
    /// - Throws: `NoiseError.decryptionFailed` for a tampered or truncated message.
    public mutating func open(_ input: inout ByteBuffer, appendingTo out: inout ByteBuffer) throws -> Bool {
        guard let (count, nonce, key) = try nextFrame(in: input) else { return false }
        let plain = count - Noise.tagLength
        var ok = false
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: plain) { destination in
            ok = input.withUnsafeReadableBytes { source in
                key.withUnsafeBytes { k in
                    nonce.withUnsafeBytes { n in
                        ChaChaPoly.open(from: source.baseAddress! + 2, count: count, to: destination.baseAddress!,
                                        key: k.baseAddress!, nonce: n.baseAddress!)
                    }
                }
            }
            return ok ? plain : 0
        }
        guard ok else { throw NoiseError.decryptionFailed }
        _ = try receiver.nextNonce()
        input.moveReaderIndex(forwardBy: 2 + count)
        return true
    }

    /// Decrypts the next whole frame in `input`, in place, and returns its
    /// plaintext (a slice of `input`'s storage); nil if no whole frame is there.
    /// - Throws: `NoiseError.decryptionFailed` for a tampered or truncated
    ///   message (shorter than a tag); the connection must be closed.
    public mutating func open(_ input: inout ByteBuffer) throws -> ByteBuffer? {
        guard let (count, nonce, key) = try nextFrame(in: input) else { return nil }
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
