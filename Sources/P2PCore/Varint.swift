// Unsigned varint (multiformats/unsigned-varint): LEB128, at most 9 bytes
// (63 bits of value), minimally encoded.

import NIOCore

/// Unsigned varint codec as used by multiformats and libp2p framing.
///
/// The spec caps a varint at 9 bytes (so values are below 2^63) and requires
/// the minimal encoding; decoders here reject overlong and non-minimal forms.
public enum Varint {
    /// The longest varint the spec allows ("MUST NOT be longer than 9 bytes").
    public static let maxBytes = 9
    /// The largest value that fits in `maxBytes` (2^63 - 1).
    public static let maxValue: UInt64 = (1 << 63) - 1

    /// Number of bytes `value` takes when encoded.
    public static func encodedLength(_ value: UInt64) -> Int {
        var v = value
        var n = 1
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }

    /// Appends the encoding of `value` (which must be at most `maxValue`).
    public static func encode(_ value: UInt64, into out: inout [UInt8]) {
        precondition(value <= maxValue, "varint value exceeds 2^63-1")
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// The encoding of `value` (which must be at most `maxValue`).
    public static func encode(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(encodedLength(value))
        encode(value, into: &out)
        return out
    }

    /// Writes the encoding of `value` to `buffer`; returns the bytes written.
    @discardableResult
    public static func write(_ value: UInt64, to buffer: inout ByteBuffer) -> Int {
        precondition(value <= maxValue, "varint value exceeds 2^63-1")
        var v = value
        var n = 0
        while v >= 0x80 {
            n += buffer.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        n += buffer.writeInteger(UInt8(v))
        return n
    }

    /// Decodes a varint at the start of `bytes`.
    ///
    /// Returns `nil` when `bytes` ends before the varint does (read more and
    /// retry), the value and its encoded length otherwise.
    /// - Throws: `P2PCoreError` for a varint longer than 9 bytes or not
    ///   minimally encoded.
    public static func decode<C: Collection>(_ bytes: C) throws -> (value: UInt64, length: Int)?
    where C.Element == UInt8 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var length = 0
        for byte in bytes {
            length += 1
            if length > maxBytes {
                throw P2PCoreError(.varint, "A varint is longer than the 9 bytes the spec allows.")
            }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && length > 1 {
                    throw P2PCoreError(.varint, "A varint is not minimally encoded.")
                }
                return (value, length)
            }
            shift += 7
        }
        return nil
    }

    /// Reads a varint from `buffer`, moving its reader index past it.
    ///
    /// Returns `nil` and leaves the buffer untouched when the varint is not
    /// complete yet.
    public static func read(from buffer: inout ByteBuffer) throws -> UInt64? {
        guard let (value, length) = try decode(buffer.readableBytesView) else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        return value
    }
}

/// A cursor over bytes for the binary multiformats decoders: every read is
/// bounds-checked and throws the given error kind on truncation.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0
    let kind: P2PCoreError.Kind

    init(_ bytes: [UInt8], kind: P2PCoreError.Kind) {
        self.bytes = bytes
        self.kind = kind
    }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    mutating func varint(_ what: String) throws -> UInt64 {
        guard let (value, length) = try Varint.decode(bytes[offset...]) else {
            throw P2PCoreError(kind, "The \(what) is cut short.")
        }
        offset += length
        return value
    }

    mutating func bytes(_ count: Int, _ what: String) throws -> [UInt8] {
        guard count <= remaining else {
            throw P2PCoreError(kind, "The \(what) is cut short: \(count) bytes announced, \(remaining) present.")
        }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    /// A varint length followed by that many bytes, the length capped at `max`.
    mutating func lengthPrefixed(max: Int, _ what: String) throws -> [UInt8] {
        let length = try varint("length of the \(what)")
        guard length <= UInt64(max) else {
            throw P2PCoreError(kind, "The \(what) is \(length) bytes long; at most \(max) are allowed.")
        }
        return try bytes(Int(length), what)
    }
}
