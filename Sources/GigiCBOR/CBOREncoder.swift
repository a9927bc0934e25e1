// Codable → CBOR.

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes `Encodable` values as deterministic CBOR.
///
/// Mapping: structs and classes (keyed containers) → maps with text keys;
/// arrays (unkeyed) → arrays; `nil` optionals → omitted from maps (`null` in
/// arrays); integers → major type 0/1; `Float`/`Double` → shortest float;
/// `Data` and `[UInt8]` → byte strings; `Date` → tag 1 with integer seconds
/// since 1970 (a float when it has a fraction); `CBOR` values → themselves.
public struct CBOREncoder: Sendable {
    public init() {}

    /// The deterministic CBOR bytes of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encodeToCBOR(value).encoded()
    }

    /// `value` as a `CBOR` tree.
    public func encodeToCBOR<T: Encodable>(_ value: T) throws -> CBOR {
        let node = try EncodingNode.box(value, codingPath: [])
        guard let item = node.finish() else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(T.self) encoded no value"))
        }
        return item
    }
}

/// A value under construction: a finished item or a container still being filled.
final class EncodingNode {
    enum Content {
        case empty
        case value(CBOR)
        case array([EncodingNode])
        case map(keys: [String], nodes: [String: EncodingNode])
    }
    var content: Content = .empty

    init() {}
    init(_ item: CBOR) { content = .value(item) }

    func finish() -> CBOR? {
        switch content {
        case .empty: return nil
        case .value(let v): return v
        case .array(let nodes): return .array(nodes.map { $0.finish() ?? .null })
        case .map(let keys, let nodes):
            var entries: [(key: CBOR, value: CBOR)] = []
            entries.reserveCapacity(keys.count)
            for k in keys {
                if let v = nodes[k]?.finish() { entries.append((.text(k), v)) }
            }
            return .map(entries)
        }
    }

    func setMapEntry(_ key: String, _ node: EncodingNode) {
        guard case .map(var keys, var nodes) = content else { return }
        content = .empty  // keep the storage uniquely referenced while mutating
        if nodes.updateValue(node, forKey: key) == nil { keys.append(key) }
        content = .map(keys: keys, nodes: nodes)
    }

    func appendArrayElement(_ node: EncodingNode) {
        guard case .array(var nodes) = content else { return }
        content = .empty
        nodes.append(node)
        content = .array(nodes)
    }

    var arrayCount: Int {
        if case .array(let nodes) = content { return nodes.count }
        return 0
    }

    /// Encodes one value, intercepting the types with a native CBOR form.
    static func box<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> EncodingNode {
        // Compare types, not casts: `[] as? [UInt8]` succeeds for an empty array of any element type.
        if T.self == CBOR.self { return EncodingNode(value as! CBOR) }
        if T.self == [UInt8].self { return EncodingNode(.bytes(value as! [UInt8])) }
        if T.self == Data.self { return EncodingNode(.bytes([UInt8](value as! Data))) }
        if T.self == Date.self { return EncodingNode(encodeDate(value as! Date)) }
        let node = EncodingNode()
        try value.encode(to: CBOREncoderImpl(node: node, codingPath: codingPath))
        return node
    }

    static func encodeDate(_ date: Date) -> CBOR {
        let t = date.timeIntervalSince1970
        if t == t.rounded(), let whole = Int64(exactly: t) { return .tagged(1, CBOR(whole)) }
        return .tagged(1, .float(t))
    }
}

struct CBOREncoderImpl: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .map = node.content {} else { node.content = .map(keys: [], nodes: [:]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }
}

extension CBOREncoderImpl: SingleValueEncodingContainer {
    func encodeNil() { node.content = .value(.null) }
    func encode(_ value: Bool) { node.content = .value(.bool(value)) }
    func encode(_ value: String) { node.content = .value(.text(value)) }
    func encode(_ value: Double) { node.content = .value(.float(value)) }
    func encode(_ value: Float) { node.content = .value(.float(Double(value))) }
    func encode(_ value: Int) { node.content = .value(CBOR(value)) }
    func encode(_ value: Int8) { node.content = .value(CBOR(value)) }
    func encode(_ value: Int16) { node.content = .value(CBOR(value)) }
    func encode(_ value: Int32) { node.content = .value(CBOR(value)) }
    func encode(_ value: Int64) { node.content = .value(CBOR(value)) }
    func encode(_ value: UInt) { node.content = .value(CBOR(value)) }
    func encode(_ value: UInt8) { node.content = .value(CBOR(value)) }
    func encode(_ value: UInt16) { node.content = .value(CBOR(value)) }
    func encode(_ value: UInt32) { node.content = .value(CBOR(value)) }
    func encode(_ value: UInt64) { node.content = .value(CBOR(value)) }
    func encode<T: Encodable>(_ value: T) throws {
        node.content = try EncodingNode.box(value, codingPath: codingPath).content
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    private func put(_ item: CBOR, _ key: Key) { node.setMapEntry(key.stringValue, EncodingNode(item)) }

    mutating func encodeNil(forKey key: Key) { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) { put(.text(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) { put(.float(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) { put(.float(Double(value)), key) }
    mutating func encode(_ value: Int, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { put(CBOR(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.setMapEntry(key.stringValue, try EncodingNode.box(value, codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                        forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode()
        node.setMapEntry(key.stringValue, child)
        return CBOREncoderImpl(node: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = EncodingNode()
        node.setMapEntry(key.stringValue, child)
        return CBOREncoderImpl(node: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        let child = EncodingNode()
        node.setMapEntry(name, child)
        return CBOREncoderImpl(node: child, codingPath: codingPath + [CBORCodingKey(name)])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var count: Int { node.arrayCount }

    private func append(_ item: CBOR) { node.appendArrayElement(EncodingNode(item)) }
    private var nextPath: [any CodingKey] { codingPath + [CBORCodingKey(index: count)] }

    mutating func encodeNil() { append(.null) }
    mutating func encode(_ value: Bool) { append(.bool(value)) }
    mutating func encode(_ value: String) { append(.text(value)) }
    mutating func encode(_ value: Double) { append(.float(value)) }
    mutating func encode(_ value: Float) { append(.float(Double(value))) }
    mutating func encode(_ value: Int) { append(CBOR(value)) }
    mutating func encode(_ value: Int8) { append(CBOR(value)) }
    mutating func encode(_ value: Int16) { append(CBOR(value)) }
    mutating func encode(_ value: Int32) { append(CBOR(value)) }
    mutating func encode(_ value: Int64) { append(CBOR(value)) }
    mutating func encode(_ value: UInt) { append(CBOR(value)) }
    mutating func encode(_ value: UInt8) { append(CBOR(value)) }
    mutating func encode(_ value: UInt16) { append(CBOR(value)) }
    mutating func encode(_ value: UInt32) { append(CBOR(value)) }
    mutating func encode(_ value: UInt64) { append(CBOR(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        node.appendArrayElement(try EncodingNode.box(value, codingPath: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let child = EncodingNode()
        let path = nextPath
        node.appendArrayElement(child)
        return CBOREncoderImpl(node: child, codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = EncodingNode()
        let path = nextPath
        node.appendArrayElement(child)
        return CBOREncoderImpl(node: child, codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let child = EncodingNode()
        let path = nextPath
        node.appendArrayElement(child)
        return CBOREncoderImpl(node: child, codingPath: path)
    }
}

/// A coding key for paths in errors and for `super` entries.
struct CBORCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(_ string: String) { stringValue = string; intValue = nil }
    init(index: Int) { stringValue = "Index \(index)"; intValue = index }
    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}

// MARK: - CBOR values inside Codable types

extension CBOR: Codable {
    /// With `CBOREncoder` a `CBOR` value is written as-is. With other encoders it is
    /// mapped onto the closest container (maps need text keys; tags are dropped).
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .unsigned(let n):
            var c = encoder.singleValueContainer(); try c.encode(n)
        case .negative:
            var c = encoder.singleValueContainer()
            guard let v = int64Value else {
                throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath,
                                                             debugDescription: "integer below Int64.min"))
            }
            try c.encode(v)
        case .bytes(let b):
            var c = encoder.singleValueContainer(); try c.encode(b)
        case .text(let s):
            var c = encoder.singleValueContainer(); try c.encode(s)
        case .array(let a):
            var c = encoder.unkeyedContainer()
            for element in a { try c.encode(element) }
        case .map(let entries):
            var c = encoder.container(keyedBy: CBORCodingKey.self)
            for entry in entries {
                guard case .text(let k) = entry.key else {
                    throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath,
                                                                 debugDescription: "map key is not text"))
                }
                try c.encode(entry.value, forKey: CBORCodingKey(k))
            }
        case .tagged(_, let inner): try inner.encode(to: encoder)
        case .simple(let v):
            var c = encoder.singleValueContainer(); try c.encode(v)
        case .bool(let b):
            var c = encoder.singleValueContainer(); try c.encode(b)
        case .null, .undefined:
            var c = encoder.singleValueContainer(); try c.encodeNil()
        case .float(let d):
            var c = encoder.singleValueContainer(); try c.encode(d)
        }
    }

    /// With `CBORDecoder` the item is returned as-is; with other decoders the
    /// closest CBOR value is built from what the decoder offers.
    public init(from decoder: any Decoder) throws {
        if let impl = decoder as? CBORDecoderImpl {
            self = impl.item
            return
        }
        if let keyed = try? decoder.container(keyedBy: CBORCodingKey.self) {
            self = .map(try keyed.allKeys.map { (CBOR.text($0.stringValue), try keyed.decode(CBOR.self, forKey: $0)) })
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var elements: [CBOR] = []
            while !unkeyed.isAtEnd { elements.append(try unkeyed.decode(CBOR.self)) }
            self = .array(elements)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(UInt64.self) { self = .unsigned(n) }
        else if let n = try? c.decode(Int64.self) { self = CBOR(n) }
        else if let d = try? c.decode(Double.self) { self = .float(d) }
        else { self = .text(try c.decode(String.self)) }
    }
}
