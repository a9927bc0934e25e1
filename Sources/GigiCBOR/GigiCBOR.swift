// GigiCBOR: Concise Binary Object Representation (RFC 8949) for Gigi.
//
// Goals: one codec for everything Gigi serialises — manifests (whose id is the
// hash of their bytes), wire messages between peers, and LMDB record values.
// Therefore:
//   * encoding is always *deterministic* (RFC 8949 §4.2.1 "core deterministic
//     encoding"): shortest-form integers, lengths and floats, definite lengths
//     only, map keys sorted by the bytewise order of their encodings. The same
//     value always gives the same bytes.
//   * decoding accepts any well-formed CBOR (indefinite lengths included) but
//     enforces limits on input size, nesting depth, item count and lengths
//     (`CBORDecodingOptions`), and throws `CBORError` on anything malformed —
//     it never traps, never preallocates from an untrusted length.
//   * Codable support: `CBOREncoder` / `CBORDecoder`.
//
// Non-goals: streaming (items are decoded from a complete buffer), bignum
// arithmetic (tags 2/3 are kept as tagged byte strings), canonicalising NaN
// payloads (every NaN encodes as f97e00).
//
// Quick reference:
//
//     // Dynamic values
//     let v: CBOR = ["name": "report.pdf", "size": 1024, "chunks": [.bytes(hash)]]
//     let bytes = v.encoded()                         // deterministic bytes
//     let back = try CBOR.decode(bytes)               // throws CBORError
//     back["size"]?.uint64Value                       // 1024
//
//     // Codable (structs become maps with string keys; nil optionals are omitted;
//     // Data and [UInt8] become byte strings; Date becomes tag 1 + epoch seconds)
//     struct Hello: Codable { var peer: String; var caps: [String]; var nonce: [UInt8] }
//     let wire = try CBOREncoder().encode(Hello(...))
//     let hello = try CBORDecoder().decode(Hello.self, from: wire)
//
//     // Untrusted input with tighter limits
//     var options = CBORDecodingOptions()
//     options.maxInputSize = 64 * 1024
//     options.maxDepth = 8
//     let msg = try CBORDecoder(options: options).decode(Hello.self, from: wire)
//
//     // Inputs that must already be deterministic (e.g. a manifest whose id is its hash)
//     options.requireDeterministic = true

/// One CBOR data item (RFC 8949 §3).
///
/// Equality and hashing compare the deterministic encodings, so two maps with
/// the same entries in a different order are equal, and `NaN == NaN`.
public enum CBOR: Sendable {
    /// Major type 0: an unsigned integer 0...2⁶⁴−1.
    case unsigned(UInt64)
    /// Major type 1: the negative integer −1 − n (so `.negative(0)` is −1).
    case negative(UInt64)
    /// Major type 2: a byte string.
    case bytes([UInt8])
    /// Major type 3: a UTF-8 text string.
    case text(String)
    /// Major type 4: an array.
    case array([CBOR])
    /// Major type 5: a map, as entries in insertion order (encoding sorts them).
    case map([(key: CBOR, value: CBOR)])
    /// Major type 6: a tagged item (e.g. tag 1 = epoch date, tag 2 = positive bignum).
    indirect case tagged(UInt64, CBOR)
    /// Major type 7: a simple value other than false/true/null/undefined (0...19, 32...255).
    case simple(UInt8)
    /// `false` / `true`.
    case bool(Bool)
    /// `null`.
    case null
    /// `undefined`.
    case undefined
    /// A floating-point number; encoded in the shortest of half/single/double precision
    /// that represents it exactly.
    case float(Double)
}

// MARK: - Convenience constructors and accessors

extension CBOR {
    /// An integer of any width, as `.unsigned` or `.negative`.
    public init<T: BinaryInteger>(_ value: T) {
        if value >= 0 {
            self = .unsigned(UInt64(value))
        } else {
            // -1 - value is non-negative and fits in UInt64 for every 64-bit integer.
            self = .negative(UInt64(-1 - Int64(value)))
        }
    }

    /// A text string.
    public init(_ value: String) { self = .text(value) }

    /// A byte string.
    public init(bytes: some Sequence<UInt8>) { self = .bytes(Array(bytes)) }

    /// The value as `UInt64` if it is a non-negative integer.
    public var uint64Value: UInt64? {
        if case .unsigned(let n) = self { return n }
        return nil
    }

    /// The value as `Int64` if it is an integer in range.
    public var int64Value: Int64? {
        switch self {
        case .unsigned(let n): return n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): return n <= UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: return nil
        }
    }

    /// The value as `Int` if it is an integer in range.
    public var intValue: Int? { int64Value.flatMap { Int(exactly: $0) } }

    /// The value as `Double` if it is a float or an integer that converts exactly.
    public var doubleValue: Double? {
        switch self {
        case .float(let d): return d
        case .unsigned(let n): return Double(exactly: n)
        case .negative: return int64Value.flatMap { Double(exactly: $0) }
        default: return nil
        }
    }

    /// The text if this is a text string.
    public var stringValue: String? {
        if case .text(let s) = self { return s }
        return nil
    }

    /// The bytes if this is a byte string.
    public var bytesValue: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }

    /// The elements if this is an array.
    public var arrayValue: [CBOR]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The entries if this is a map.
    public var mapEntries: [(key: CBOR, value: CBOR)]? {
        if case .map(let m) = self { return m }
        return nil
    }

    /// The boolean if this is `true` or `false`.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value for a key if this is a map (first match).
    public subscript(key: CBOR) -> CBOR? {
        guard case .map(let entries) = self else { return nil }
        return entries.first(where: { $0.key == key })?.value
    }

    /// The value for a text key if this is a map.
    public subscript(key: String) -> CBOR? {
        guard case .map(let entries) = self else { return nil }
        for entry in entries {
            if case .text(let k) = entry.key, k == key { return entry.value }
        }
        return nil
    }
}

// MARK: - Equality (by deterministic encoding)

extension CBOR: Hashable {
    public static func == (lhs: CBOR, rhs: CBOR) -> Bool {
        switch (lhs, rhs) {
        case (.unsigned(let a), .unsigned(let b)): return a == b
        case (.negative(let a), .negative(let b)): return a == b
        case (.bytes(let a), .bytes(let b)): return a == b
        case (.text(let a), .text(let b)): return a == b
        default: return lhs.encoded() == rhs.encoded()
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(encoded())
    }
}

// MARK: - Literals

extension CBOR: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByNilLiteral
{
    public init(integerLiteral value: Int64) { self.init(value) }
    public init(stringLiteral value: String) { self = .text(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .float(value) }
    public init(arrayLiteral elements: CBOR...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (CBOR, CBOR)...) {
        self = .map(elements.map { (key: $0.0, value: $0.1) })
    }
    public init(nilLiteral: ()) { self = .null }
}

// MARK: - Diagnostic notation (RFC 8949 §8)

extension CBOR: CustomStringConvertible {
    /// RFC 8949 diagnostic notation, e.g. `{"a": 1, "b": [2, 3]}` or `h'0102'`.
    public var description: String {
        switch self {
        case .unsigned(let n): return String(n)
        case .negative(let n): return n == UInt64.max ? "-18446744073709551616" : "-\(n + 1)"
        case .bytes(let b): return "h'" + b.map { hexByte($0) }.joined() + "'"
        case .text(let s): return diagnosticQuoted(s)
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .map(let m):
            return "{" + m.map { "\($0.key.description): \($0.value.description)" }.joined(separator: ", ") + "}"
        case .tagged(let tag, let item): return "\(tag)(\(item.description))"
        case .simple(let v): return "simple(\(v))"
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .undefined: return "undefined"
        case .float(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return String(d)
        }
    }
}

private func hexByte(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 0xf)]])
}

private func diagnosticQuoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20 || scalar.value == 0x7f:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
