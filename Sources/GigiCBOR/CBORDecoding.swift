// Bounded CBOR parsing: every length read from the input is checked against
// the remaining input and the configured limits before anything is allocated.

/// Limits and policy for decoding untrusted CBOR. The defaults suit local
/// records; protocols should tighten them to their message size limits.
public struct CBORDecodingOptions: Sendable, Equatable {
    /// Largest accepted input, in bytes.
    public var maxInputSize: Int = 16 << 20
    /// Deepest accepted nesting of arrays, maps and tags (the top item is depth 1).
    /// Values above 256 are treated as 256 so that decoding never exhausts a thread's stack.
    public var maxDepth: Int = 64
    /// Most data items (of any kind, nested ones included) in one input.
    public var maxItems: Int = 1 << 20
    /// Longest byte or text string (bytes) and largest array or map (entries).
    public var maxLength: Int = 16 << 20
    /// Reject maps that contain the same key twice (RFC 8949 §5.6: such maps are invalid).
    public var rejectDuplicateKeys: Bool = true
    /// Reject input that is not already in deterministic encoding (§4.2.1), e.g. for
    /// content-addressed data whose id is the hash of its bytes.
    public var requireDeterministic: Bool = false

    public init() {}

    /// The default options.
    public static let `default` = CBORDecodingOptions()

    static let depthCeiling = 256
}

/// Why CBOR input was rejected. `offset` is the byte position where the problem was found.
public enum CBORError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input ended in the middle of an item.
    case truncated(offset: Int)
    /// Bytes remain after the single top-level item.
    case trailingBytes(offset: Int)
    /// Additional information 28–30 (reserved) or an indefinite length where none is allowed.
    case malformedHead(offset: Int)
    /// A "break" (0xff) outside an indefinite-length item.
    case unexpectedBreak(offset: Int)
    /// A chunk of an indefinite-length string is not a definite string of the same type.
    case invalidChunk(offset: Int)
    /// A two-byte simple value below 32 (RFC 8949 §3.3).
    case invalidSimpleValue(offset: Int)
    /// A text string is not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// A map contains the same key twice.
    case duplicateMapKey(offset: Int)
    /// The input is larger than `maxInputSize`.
    case inputTooLarge(size: Int, limit: Int)
    /// Nesting exceeds `maxDepth`.
    case tooDeep(limit: Int)
    /// More than `maxItems` data items.
    case tooManyItems(limit: Int)
    /// A string, array or map length exceeds `maxLength`.
    case tooLong(length: UInt64, limit: Int, offset: Int)
    /// `requireDeterministic` is set and the input is not deterministically encoded.
    case notDeterministic
    /// `CBORReader` found an item of another type than the one asked for.
    case unexpectedType(offset: Int)

    public var description: String {
        switch self {
        case .truncated(let o): return "CBOR input ends in the middle of an item (offset \(o))"
        case .trailingBytes(let o): return "CBOR input has extra bytes after the item (offset \(o))"
        case .malformedHead(let o): return "malformed CBOR item head (offset \(o))"
        case .unexpectedBreak(let o): return "unexpected CBOR break code (offset \(o))"
        case .invalidChunk(let o): return "invalid chunk in an indefinite-length CBOR string (offset \(o))"
        case .invalidSimpleValue(let o): return "invalid CBOR simple value (offset \(o))"
        case .invalidUTF8(let o): return "CBOR text string is not valid UTF-8 (offset \(o))"
        case .duplicateMapKey(let o): return "CBOR map has a duplicate key (offset \(o))"
        case .inputTooLarge(let s, let l): return "CBOR input of \(s) bytes exceeds the limit of \(l)"
        case .tooDeep(let l): return "CBOR input nests deeper than \(l) levels"
        case .tooManyItems(let l): return "CBOR input has more than \(l) items"
        case .tooLong(let len, let l, let o): return "CBOR length \(len) exceeds the limit of \(l) (offset \(o))"
        case .notDeterministic: return "CBOR input is not in deterministic encoding"
        case .unexpectedType(let o): return "unexpected CBOR item type (offset \(o))"
        }
    }
}

extension CBOR {
    /// Decodes exactly one item that fills `bytes`.
    public static func decode(_ bytes: [UInt8], options: CBORDecodingOptions = .default) throws(CBORError) -> CBOR {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(CBORError) -> CBOR in try decode(buffer, options: options) }
        }.get()
    }

    /// Decodes exactly one item that fills `buffer`.
    public static func decode(_ buffer: UnsafeRawBufferPointer,
                              options: CBORDecodingOptions = .default) throws(CBORError) -> CBOR {
        let (item, used) = try decodePrefix(buffer, options: options)
        if used != buffer.count { throw .trailingBytes(offset: used) }
        return item
    }

    /// Decodes the first item of `bytes` and returns it with the number of bytes it
    /// used (for CBOR sequences, RFC 8742, or items followed by other data).
    public static func decodePrefix(_ bytes: [UInt8],
                                    options: CBORDecodingOptions = .default) throws(CBORError) -> (CBOR, Int) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(CBORError) -> (CBOR, Int) in try decodePrefix(buffer, options: options) }
        }.get()
    }

    /// Decodes the first item of `buffer`; see `decodePrefix(_:options:)`.
    public static func decodePrefix(_ buffer: UnsafeRawBufferPointer,
                                    options: CBORDecodingOptions = .default) throws(CBORError) -> (CBOR, Int) {
        if buffer.count > options.maxInputSize {
            throw .inputTooLarge(size: buffer.count, limit: options.maxInputSize)
        }
        var parser = CBORParser(buffer: buffer, options: options)
        let item = try parser.readItem(depth: 1)
        if options.requireDeterministic {
            let canonical = item.encoded()
            if !canonical.elementsEqual(UnsafeRawBufferPointer(rebasing: buffer[0..<parser.position])) {
                throw .notDeterministic
            }
        }
        return (item, parser.position)
    }
}

struct CBORParser {
    let buffer: UnsafeRawBufferPointer
    let options: CBORDecodingOptions
    let maxDepth: Int
    var position = 0
    var items = 0

    init(buffer: UnsafeRawBufferPointer, options: CBORDecodingOptions) {
        self.buffer = buffer
        self.options = options
        self.maxDepth = min(options.maxDepth, CBORDecodingOptions.depthCeiling)
    }

    var remaining: Int { buffer.count - position }

    mutating func readByte() throws(CBORError) -> UInt8 {
        guard position < buffer.count else { throw .truncated(offset: position) }
        defer { position += 1 }
        return buffer[position]
    }

    mutating func readBigEndian(_ size: Int) throws(CBORError) -> UInt64 {
        guard remaining >= size else { throw .truncated(offset: position) }
        var v: UInt64 = 0
        for i in 0..<size { v = v << 8 | UInt64(buffer[position + i]) }
        position += size
        return v
    }

    /// The argument for additional information `ai`; nil means indefinite length (31).
    mutating func readArgument(_ ai: UInt8, headOffset: Int) throws(CBORError) -> UInt64? {
        switch ai {
        case 0..<24: return UInt64(ai)
        case 24: return try readBigEndian(1)
        case 25: return try readBigEndian(2)
        case 26: return try readBigEndian(4)
        case 27: return try readBigEndian(8)
        case 31: return nil
        default: throw .malformedHead(offset: headOffset)
        }
    }

    /// Checks a definite length against the limit and against what is left of the input,
    /// where each unit needs at least `minimumBytesEach` bytes.
    func checkLength(_ length: UInt64, minimumBytesEach: Int, at offset: Int) throws(CBORError) -> Int {
        guard length <= UInt64(options.maxLength) else {
            throw .tooLong(length: length, limit: options.maxLength, offset: offset)
        }
        let n = Int(length)
        guard n <= remaining / minimumBytesEach else { throw .truncated(offset: buffer.count) }
        return n
    }

    mutating func countItem() throws(CBORError) {
        items += 1
        if items > options.maxItems { throw .tooManyItems(limit: options.maxItems) }
    }

    mutating func readItem(depth: Int) throws(CBORError) -> CBOR {
        if depth > maxDepth { throw .tooDeep(limit: maxDepth) }
        try countItem()
        let start = position
        let initial = try readByte()
        let major = initial >> 5
        let ai = initial & 0x1f
        switch major {
        case 0, 1:
            guard let n = try readArgument(ai, headOffset: start) else { throw .malformedHead(offset: start) }
            return major == 0 ? .unsigned(n) : .negative(n)
        case 2, 3:
            let content = try readStringContent(major: major, ai: ai, start: start)
            if major == 2 { return .bytes(content) }
            guard let text = String(validating: content, as: UTF8.self) else { throw .invalidUTF8(offset: start) }
            return .text(text)
        case 4:
            var elements: [CBOR] = []
            if let length = try readArgument(ai, headOffset: start) {
                let n = try checkLength(length, minimumBytesEach: 1, at: start)
                elements.reserveCapacity(n)
                for _ in 0..<n { elements.append(try readItem(depth: depth + 1)) }
            } else {
                while try !consumeBreak() {
                    if elements.count >= options.maxLength {
                        throw .tooLong(length: UInt64(elements.count + 1), limit: options.maxLength, offset: start)
                    }
                    elements.append(try readItem(depth: depth + 1))
                }
            }
            return .array(elements)
        case 5:
            var entries: [(key: CBOR, value: CBOR)] = []
            if let length = try readArgument(ai, headOffset: start) {
                let n = try checkLength(length, minimumBytesEach: 2, at: start)
                entries.reserveCapacity(n)
                for _ in 0..<n {
                    let key = try readItem(depth: depth + 1)
                    entries.append((key, try readItem(depth: depth + 1)))
                }
            } else {
                while try !consumeBreak() {
                    if entries.count >= options.maxLength {
                        throw .tooLong(length: UInt64(entries.count + 1), limit: options.maxLength, offset: start)
                    }
                    let key = try readItem(depth: depth + 1)
                    entries.append((key, try readItem(depth: depth + 1)))
                }
            }
            if options.rejectDuplicateKeys && entries.count > 1 {
                var seen = Set<CBOR>(minimumCapacity: entries.count)
                for entry in entries where !seen.insert(entry.key).inserted {
                    throw .duplicateMapKey(offset: start)
                }
            }
            return .map(entries)
        case 6:
            guard let tag = try readArgument(ai, headOffset: start) else { throw .malformedHead(offset: start) }
            return .tagged(tag, try readItem(depth: depth + 1))
        default:
            return try readSimpleOrFloat(ai: ai, start: start)
        }
    }

    /// If the next byte is a break code, consumes it and returns true.
    mutating func consumeBreak() throws(CBORError) -> Bool {
        guard position < buffer.count else { throw .truncated(offset: position) }
        if buffer[position] == 0xff {
            position += 1
            return true
        }
        return false
    }

    mutating func readStringContent(major: UInt8, ai: UInt8, start: Int) throws(CBORError) -> [UInt8] {
        if let length = try readArgument(ai, headOffset: start) {
            let n = try checkLength(length, minimumBytesEach: 1, at: start)
            let bytes = Array(buffer[position..<position + n])
            position += n
            return bytes
        }
        // Indefinite length: a sequence of definite-length chunks of the same major type.
        var content: [UInt8] = []
        while try !consumeBreak() {
            try countItem()
            let chunkStart = position
            let head = try readByte()
            guard head >> 5 == major, head & 0x1f != 31,
                  let length = try readArgument(head & 0x1f, headOffset: chunkStart)
            else { throw .invalidChunk(offset: chunkStart) }
            let n = try checkLength(length, minimumBytesEach: 1, at: chunkStart)
            if content.count + n > options.maxLength {
                throw .tooLong(length: UInt64(content.count + n), limit: options.maxLength, offset: start)
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[position..<position + n])
            // RFC 8949 §3.2.3: a code point may not be split across chunks, so each chunk is checked alone.
            if major == 3 && String(validating: chunk, as: UTF8.self) == nil { throw .invalidUTF8(offset: chunkStart) }
            content.append(contentsOf: chunk)
            position += n
        }
        return content
    }

    mutating func readSimpleOrFloat(ai: UInt8, start: Int) throws(CBORError) -> CBOR {
        switch ai {
        case 20: return .bool(false)
        case 21: return .bool(true)
        case 22: return .null
        case 23: return .undefined
        case 0..<20: return .simple(ai)
        case 24:
            let v = try readByte()
            guard v >= 32 else { throw .invalidSimpleValue(offset: start) }
            return .simple(v)
        case 25: return .float(doubleFromHalfBits(UInt16(try readBigEndian(2))))
        case 26: return .float(Double(Float(bitPattern: UInt32(try readBigEndian(4)))))
        case 27: return .float(Double(bitPattern: try readBigEndian(8)))
        case 31: throw .unexpectedBreak(offset: start)
        default: throw .malformedHead(offset: start)
        }
    }
}
