// CBOR → Codable.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decodes `Decodable` values from CBOR, the inverse of `CBOREncoder`.
///
/// The input is first parsed under `options` (limits on size, depth, counts;
/// malformed input throws `CBORError`); mismatches between the data and the
/// type throw the standard `DecodingError`. Map keys the type does not know are
/// ignored, so adding an optional field to a record stays compatible both ways.
/// Integers decode into any integer type they fit; a float that is a whole
/// number does not decode into an integer type (and vice versa integers decode
/// into `Double`/`Float` when exact).
public struct CBORDecoder: Sendable {
    public var options: CBORDecodingOptions

    public init(options: CBORDecodingOptions = .default) {
        self.options = options
    }

    /// Decodes a `T` from exactly the bytes given.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try decode(type, from: try CBOR.decode(bytes, options: options))
    }

    /// Decodes a `T` from exactly the bytes in `buffer`.
    public func decode<T: Decodable>(_ type: T.Type, from buffer: UnsafeRawBufferPointer) throws -> T {
        try decode(type, from: try CBOR.decode(buffer, options: options))
    }

    /// Decodes a `T` from an already parsed item.
    public func decode<T: Decodable>(_ type: T.Type, from item: CBOR) throws -> T {
        try CBORDecoderImpl(item: item, codingPath: []).unbox(type)
    }
}

struct CBORDecoderImpl: Decoder {
    let item: CBOR
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .map(let entries) = item else { throw mismatch([String: CBOR].self, item, codingPath) }
        return KeyedDecodingContainer(KeyedDecoding<Key>(entries: entries, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = item else { throw mismatch([CBOR].self, item, codingPath) }
        return UnkeyedDecoding(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// Decodes `T` from `item`, intercepting types with a native CBOR form.
    func unbox<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == CBOR.self { return item as! T }
        if T.self == [UInt8].self { return try bytes() as! T }
        if T.self == Data.self { return Data(try bytes()) as! T }
        if T.self == Date.self { return try date() as! T }
        return try T(from: self)
    }

    func bytes() throws -> [UInt8] {
        switch item {
        case .bytes(let b): return b
        case .array(let elements):
            // Tolerate arrays of small integers (e.g. [UInt8] written by another encoder).
            var out: [UInt8] = []
            out.reserveCapacity(elements.count)
            for e in elements {
                guard let n = e.uint64Value, let b = UInt8(exactly: n) else { throw mismatch([UInt8].self, item, codingPath) }
                out.append(b)
            }
            return out
        default: throw mismatch([UInt8].self, item, codingPath)
        }
    }

    func date() throws -> Date {
        var v = item
        if case .tagged(1, let inner) = v { v = inner }
        guard let seconds = v.doubleValue else { throw mismatch(Date.self, item, codingPath) }
        return Date(timeIntervalSince1970: seconds)
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let value: T?
        switch item {
        case .unsigned(let n): value = T(exactly: n)
        case .negative(let n):
            if n <= UInt64(Int64.max) { value = T(exactly: -1 - Int64(n)) } else { value = nil }
        default: throw mismatch(type, item, codingPath)
        }
        guard let v = value else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath,
                                                    debugDescription: "\(item) does not fit in \(T.self)"))
        }
        return v
    }
}

func mismatch(_ type: Any.Type, _ item: CBOR, _ path: [any CodingKey]) -> DecodingError {
    if item.isNull {
        return .valueNotFound(type, .init(codingPath: path, debugDescription: "expected \(type), found null"))
    }
    return .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(kindName(item))"))
}

private func kindName(_ item: CBOR) -> String {
    switch item {
    case .unsigned, .negative: return "an integer"
    case .bytes: return "a byte string"
    case .text: return "a text string"
    case .array: return "an array"
    case .map: return "a map"
    case .tagged(let t, _): return "tag \(t)"
    case .simple: return "a simple value"
    case .bool: return "a boolean"
    case .null: return "null"
    case .undefined: return "undefined"
    case .float: return "a float"
    }
}

extension CBORDecoderImpl: SingleValueDecodingContainer {
    func decodeNil() -> Bool {
        switch item {
        case .null, .undefined: return true
        default: return false
        }
    }
    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let b) = item else { throw mismatch(type, item, codingPath) }
        return b
    }
    func decode(_ type: String.Type) throws -> String {
        guard case .text(let s) = item else { throw mismatch(type, item, codingPath) }
        return s
    }
    func decode(_ type: Double.Type) throws -> Double {
        guard let d = item.doubleValue else { throw mismatch(type, item, codingPath) }
        return d
    }
    func decode(_ type: Float.Type) throws -> Float {
        guard let d = item.doubleValue else { throw mismatch(type, item, codingPath) }
        return Float(d)
    }
    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try unbox(type) }
}

private struct KeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let codingPath: [any CodingKey]
    private let values: [String: CBOR]
    private let keyOrder: [String]

    init(entries: [(key: CBOR, value: CBOR)], codingPath: [any CodingKey]) {
        var values: [String: CBOR] = [:]
        var order: [String] = []
        values.reserveCapacity(entries.count)
        for entry in entries {
            guard case .text(let k) = entry.key else { continue }
            if values.updateValue(entry.value, forKey: k) == nil { order.append(k) }
        }
        self.values = values
        self.keyOrder = order
        self.codingPath = codingPath
    }

    var allKeys: [Key] { keyOrder.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { values[key.stringValue] != nil }

    private func child(_ key: Key) throws -> CBORDecoderImpl {
        guard let v = values[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath,
                                                       debugDescription: "no value for key \"\(key.stringValue)\""))
        }
        return CBORDecoderImpl(item: v, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).integer(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).integer(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).integer(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).integer(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).integer(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).integer(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).integer(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).integer(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).integer(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).integer(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).unbox(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                               forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }
    func superDecoder() throws -> any Decoder {
        CBORDecoderImpl(item: values["super"] ?? .null, codingPath: codingPath + [CBORCodingKey("super")])
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        CBORDecoderImpl(item: values[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedDecoding: UnkeyedDecodingContainer {
    let elements: [CBOR]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [CBOR], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next<T>(_ type: T.Type) throws -> CBORDecoderImpl {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [CBORCodingKey(index: currentIndex)],
                                                          debugDescription: "array has no more elements"))
        }
        defer { currentIndex += 1 }
        return CBORDecoderImpl(item: elements[currentIndex], codingPath: codingPath + [CBORCodingKey(index: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if elements[currentIndex].isNull {
            currentIndex += 1
            return true
        }
        return false
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type).decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next(type).decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type).decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type).decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type).integer(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type).integer(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type).integer(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type).integer(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type).integer(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type).integer(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type).integer(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type).integer(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type).integer(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type).integer(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).unbox(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next([String: CBOR].self).container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next([CBOR].self).unkeyedContainer()
    }
    mutating func superDecoder() throws -> any Decoder { try next(CBOR.self) }
}
