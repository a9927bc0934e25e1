// Deterministic CBOR serialisation (RFC 8949 §4.2.1).

extension CBOR {
    /// The deterministic encoding of this item (RFC 8949 §4.2.1): shortest
    /// arguments, definite lengths, map entries sorted by the bytes of their keys,
    /// floats in the shortest exact precision.
    ///
    /// A `.map` holding the same key twice is encoded as given (with both
    /// entries, sorted); that is not valid CBOR and `CBOR.decode` rejects it.
    public func encoded() -> [UInt8] {
        var writer = CBORWriter()
        writer.write(self)
        return writer.bytes
    }
}

/// Low-level, allocation-light writer for hot paths that build CBOR without an
/// intermediate `CBOR` tree. Every method writes shortest-form heads; the
/// caller is responsible for writing map keys in deterministic order.
public struct CBORWriter: Sendable {
    /// The bytes written so far.
    public var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Writes a head: major type (0...7) and argument, in the shortest form.
    @inlinable
    public mutating func writeHead(major: UInt8, argument: UInt64) {
        let m = major << 5
        switch argument {
        case 0..<24:
            bytes.append(m | UInt8(argument))
        case 24...0xff:
            bytes.append(m | 24)
            bytes.append(UInt8(argument))
        case 0x100...0xffff:
            bytes.append(m | 25)
            appendBigEndian(UInt16(argument))
        case 0x1_0000...0xffff_ffff:
            bytes.append(m | 26)
            appendBigEndian(UInt32(argument))
        default:
            bytes.append(m | 27)
            appendBigEndian(argument)
        }
    }

    @inlinable
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Writes a non-negative integer.
    @inlinable
    public mutating func writeUnsigned(_ value: UInt64) { writeHead(major: 0, argument: value) }

    /// Writes any integer.
    @inlinable
    public mutating func writeInteger<T: BinaryInteger>(_ value: T) {
        if value >= 0 {
            writeHead(major: 0, argument: UInt64(value))
        } else {
            writeHead(major: 1, argument: UInt64(-1 - Int64(value)))
        }
    }

    /// Writes a byte string.
    public mutating func writeBytes(_ value: some Collection<UInt8>) {
        writeHead(major: 2, argument: UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Writes a text string.
    public mutating func writeText(_ value: String) {
        var s = value
        s.withUTF8 { utf8 in
            writeHead(major: 3, argument: UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// Writes the head of an array of `count` items; write the items next.
    public mutating func writeArrayHeader(count: Int) { writeHead(major: 4, argument: UInt64(count)) }

    /// Writes the head of a map of `count` entries; write key, value, key, value… next,
    /// keys in the bytewise order of their encodings.
    public mutating func writeMapHeader(count: Int) { writeHead(major: 5, argument: UInt64(count)) }

    /// Writes a tag; write the tagged item next.
    public mutating func writeTag(_ tag: UInt64) { writeHead(major: 6, argument: tag) }

    /// Writes a float in the shortest precision that represents it exactly.
    public mutating func writeFloat(_ d: Double) {
        if let half = halfBitsExactly(d) {
            bytes.append(0xf9)
            appendBigEndian(half)
        } else if let single = Float(exactly: d) {
            bytes.append(0xfa)
            appendBigEndian(single.bitPattern)
        } else if d.isInfinite {
            // Unreachable (infinities fit in half precision); kept for clarity.
            bytes.append(contentsOf: [0xf9, d < 0 ? 0xfc : 0x7c, 0x00])
        } else {
            bytes.append(0xfb)
            appendBigEndian(d.bitPattern)
        }
    }

    /// Appends already-encoded CBOR bytes (one or more complete items).
    public mutating func writeRaw(_ encoded: some Sequence<UInt8>) { bytes.append(contentsOf: encoded) }

    /// Writes a whole item deterministically.
    public mutating func write(_ item: CBOR) {
        switch item {
        case .unsigned(let n): writeHead(major: 0, argument: n)
        case .negative(let n): writeHead(major: 1, argument: n)
        case .bytes(let b): writeBytes(b)
        case .text(let s): writeText(s)
        case .array(let a):
            writeArrayHeader(count: a.count)
            for element in a { write(element) }
        case .map(let entries):
            writeMapHeader(count: entries.count)
            if entries.count <= 1 {
                for e in entries { write(e.key); write(e.value) }
                return
            }
            var encodedEntries: [([UInt8], CBOR)] = entries.map { ($0.key.encoded(), $0.value) }
            encodedEntries.sort { $0.0.lexicographicallyPrecedes($1.0) }
            for (key, value) in encodedEntries {
                bytes.append(contentsOf: key)
                write(value)
            }
        case .tagged(let tag, let inner):
            writeTag(tag)
            write(inner)
        case .simple(let v):
            if v < 24 { bytes.append(0xe0 | v) } else { bytes.append(contentsOf: [0xf8, v]) }
        case .bool(let b): bytes.append(b ? 0xf5 : 0xf4)
        case .null: bytes.append(0xf6)
        case .undefined: bytes.append(0xf7)
        case .float(let d): writeFloat(d)
        }
    }
}

// MARK: - IEEE 754 half precision, by hand (Float16 is not available on every platform)

/// The binary16 bit pattern of `d` if `d` is exactly representable in half precision
/// (NaN maps to the canonical quiet NaN 0x7e00).
func halfBitsExactly(_ d: Double) -> UInt16? {
    let sign: UInt16 = d.sign == .minus ? 0x8000 : 0
    if d.isNaN { return 0x7e00 }
    if d.isInfinite { return sign | 0x7c00 }
    if d == 0 { return sign }
    let magnitude = d.magnitude
    let exponent = magnitude.exponent  // unbiased, magnitude = 1.f × 2^exponent (normal doubles)
    if exponent > 15 || exponent < -24 { return nil }
    if exponent >= -14 {
        // Normal half: 10 fraction bits; the low 42 of the double's 52 must be zero.
        let fraction = magnitude.significandBitPattern
        guard fraction & ((1 << 42) - 1) == 0 else { return nil }
        return sign | UInt16(exponent + 15) << 10 | UInt16(fraction >> 42)
    }
    // Subnormal half: value = m × 2^-24 with integer m < 1024.
    let scaled = magnitude * 0x1p24
    guard scaled == scaled.rounded(.towardZero), scaled < 1024 else { return nil }
    return sign | UInt16(scaled)
}

/// The value of a binary16 bit pattern.
func doubleFromHalfBits(_ h: UInt16) -> Double {
    let negative = h & 0x8000 != 0
    let exponent = Int((h >> 10) & 0x1f)
    let fraction = Double(h & 0x3ff)
    let value: Double
    switch exponent {
    case 0: value = fraction * 0x1p-24
    case 31: value = fraction == 0 ? .infinity : .nan
    default: value = (1024 + fraction) * Double(sign: .plus, exponent: exponent - 25, significand: 1)
    }
    return negative ? -value : value
}
