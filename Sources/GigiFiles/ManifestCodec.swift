// The manifest's wire form, written and read by hand (the manifest is encoded
// once per share and decoded once per fetch, but for 1000 small files the
// generic Codable path cost ~7% of the sharer's and ~6% of the fetcher's CPU).
//
// Bytes: exactly what `CBOREncoder().encode(manifest)` writes — deterministic
// CBOR (RFC 8949 §4.2.1): shortest heads, definite lengths, map keys sorted by
// their encoded bytes (for these short text keys: length first, then bytewise):
//
//     {"e": [{"c": bytes, "h": bytes, "k": uint, "m": uint, "n": uint,
//             "p": text, "s": uint, "t": int}, ...],
//      "v": int, "cs": int}
//
// Empty `sha256` / `chunkHashes` are written as empty byte strings (h'').
//
// Reading accepts exactly the inputs that the generic path (`CBORDecoder` with
// `requireDeterministic`, maxDepth 8 and the default item and length limits)
// accepted, with the same values; ManifestCodecTests compare the two on
// mutated encodings. That includes the generic decoder's leniencies:
//   * keys the type does not know (of any CBOR type, with any well-formed
//     deterministic value) are skipped, in their canonical place;
//   * `h` and `c` may be arrays of integers 0...255 instead of byte strings;
// Its default item and string limits (2^20 items, about 61,000 entries; 16 MiB
// per string, a file of 128 GiB) were below the manifest's own and are gone: the
// bounds are Manifest.maxEncodedSize for the input and every string,
// Manifest.maxEntries and Manifest.maxFileSize (validate()).
// Where the generic path's answer was not well defined it now rejects: two
// text keys of one map that differ in bytes but are canonically equivalent
// Unicode (`Set<CBOR>` compared them as equal strings but hashed their bytes).

import GigiCBOR

extension Manifest {
    /// The canonical bytes (the manifest id is their BLAKE3), byte-identical to
    /// `CBOREncoder().encode(self)`. Never throws; `throws` is kept for callers.
    public func encoded() throws -> [UInt8] {
        var capacity = 16
        for e in entries { capacity += 80 + e.path.utf8.count + e.sha256.count + e.chunkHashes.count }
        var w = CBORWriter(capacity: capacity)
        w.writeMapHeader(count: 3)
        w.writeKey(0x65)   // "e"
        w.writeArrayHeader(count: entries.count)
        for e in entries {
            w.writeMapHeader(count: 8)
            w.writeKey(0x63); w.writeByteString(e.chunkHashes)   // "c"
            w.writeKey(0x68); w.writeByteString(e.sha256)        // "h"
            w.writeKey(0x6b); w.writeUnsigned(UInt64(e.kind.rawValue))
            w.writeKey(0x6d); w.writeUnsigned(UInt64(e.mode))
            w.writeKey(0x6e); w.writeUnsigned(UInt64(e.mtimeNanos))
            w.writeKey(0x70); w.writeTextString(e.path)          // "p"
            w.writeKey(0x73); w.writeUnsigned(e.size)
            w.writeKey(0x74); w.writeInteger(e.mtime)
        }
        w.writeKey(0x76); w.writeInteger(version)   // "v"
        w.bytes.append(contentsOf: [0x62, 0x63, 0x73])   // "cs"
        w.writeInteger(chunkSize)
        return w.bytes
    }

    /// Decodes and validates an untrusted manifest.
    public static func decode(_ bytes: [UInt8]) throws -> Manifest {
        guard bytes.count <= maxEncodedSize else { throw ManifestError.tooLarge("\(bytes.count) bytes") }
        let m: Manifest
        do {
            m = try bytes.withUnsafeBytes { buffer in
                var reader = ManifestReader(buffer)
                return try reader.readManifest()
            }
        } catch {
            throw ManifestError.malformed("undecodable: \(error)")
        }
        try m.validate()
        return m
    }
}

private extension CBORWriter {
    /// A one-letter text key.
    @inline(__always)
    mutating func writeKey(_ letter: UInt8) {
        bytes.append(0x61)
        bytes.append(letter)
    }

    @inline(__always)
    mutating func writeByteString(_ b: [UInt8]) {
        writeHead(major: 2, argument: UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    @inline(__always)
    mutating func writeTextString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            writeHead(major: 3, argument: UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }
}

/// Why a manifest's bytes were refused (before `validate`), with the offset.
struct ManifestDecodingError: Error, CustomStringConvertible {
    let description: String
}

/// A strict reader of the manifest's canonical CBOR. Every length is checked
/// against the remaining input before anything is allocated.
struct ManifestReader {
    /// Nesting as the generic decoder allowed it; items and string lengths are bounded
    /// by the input itself (every item takes at least one byte of it).
    static let maxDepth = 8
    static let maxItems = Manifest.maxEncodedSize
    static let maxLength = Manifest.maxEncodedSize
    /// The smallest entry: a map head and eight one-letter keys with one-byte values.
    static let minEntryBytes = 1 + 8 * 3

    private let buffer: UnsafeRawBufferPointer
    private var position = 0
    /// Data items read so far, counted as the generic parser counts them.
    private var items = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    private var remaining: Int { buffer.count - position }

    private func failure(_ why: String, at offset: Int? = nil) -> ManifestDecodingError {
        ManifestDecodingError(description: "\(why) (offset \(offset ?? position))")
    }

    // MARK: Heads

    /// Reads the head of one item with a definite argument in its shortest form.
    /// (For major type 7 this rejects everything but simple values 0...23, which no
    /// known field holds; unknown items are read by `skipItem`.)
    @inline(__always)
    private mutating func readHead() throws -> (major: UInt8, argument: UInt64) {
        let start = position
        guard position < buffer.count else { throw failure("truncated") }
        let initial = buffer[position]
        position += 1
        items += 1
        let ai = initial & 0x1f
        let major = initial >> 5
        if ai < 24 { return (major, UInt64(ai)) }
        let size: Int
        let minimum: UInt64
        switch ai {
        case 24: size = 1; minimum = 24
        case 25: size = 2; minimum = 0x100
        case 26: size = 4; minimum = 0x1_0000
        case 27: size = 8; minimum = 0x1_0000_0000
        default: throw failure("indefinite length or reserved head", at: start)
        }
        guard remaining >= size else { throw failure("truncated") }
        var v: UInt64 = 0
        for i in 0..<size { v = v << 8 | UInt64(buffer[position + i]) }
        position += size
        guard v >= minimum else { throw failure("integer or length not in its shortest form", at: start) }
        return (major, v)
    }

    /// The count of a string, array or map, checked against the limit and the
    /// input left (each unit needs `minimumBytesEach` bytes).
    private func checkedCount(_ n: UInt64, minimumBytesEach: Int, at start: Int) throws -> Int {
        guard n <= UInt64(Self.maxLength) else { throw failure("length \(n) over \(Self.maxLength)", at: start) }
        guard Int(n) <= remaining / minimumBytesEach else { throw failure("length \(n) beyond the input", at: start) }
        return Int(n)
    }

    /// The head of a string, array or map and its checked count. (Two statements: a
    /// non-mutating call would capture `self` before an argument that reads.)
    private mutating func readCount(major: UInt8, _ what: String, minimumBytesEach: Int) throws -> Int {
        let start = position
        let n = try readHead(major: major, what)
        return try checkedCount(n, minimumBytesEach: minimumBytesEach, at: start)
    }

    private mutating func readHead(major expected: UInt8, _ what: String) throws -> UInt64 {
        let start = position
        let (major, argument) = try readHead()
        guard major == expected else { throw failure("\(what) has the wrong type", at: start) }
        return argument
    }

    // MARK: Values of known fields (the Codable conversions of the generic decoder)

    private mutating func readUnsigned(max: UInt64, _ what: String) throws -> UInt64 {
        let start = position
        let v = try readHead(major: 0, what)
        guard v <= max else { throw failure("\(what) out of range", at: start) }
        return v
    }

    private mutating func readInt64(_ what: String) throws -> Int64 {
        let start = position
        let (major, n) = try readHead()
        guard major <= 1 else { throw failure("\(what) is not an integer", at: start) }
        guard n <= UInt64(Int64.max) else { throw failure("\(what) out of range", at: start) }
        return major == 0 ? Int64(n) : -1 - Int64(n)
    }

    private mutating func readText(_ what: String) throws -> String {
        let start = position
        let n = try readCount(major: 3, what, minimumBytesEach: 1)
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[position..<position + n])
        guard let s = String(validating: bytes.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw failure("\(what) is not UTF-8", at: start)
        }
        position += n
        return s
    }

    /// A byte string, or (as the generic decoder tolerated) an array of integers 0...255.
    private mutating func readByteArray(_ what: String) throws -> [UInt8] {
        let start = position
        let (major, argument) = try readHead()
        switch major {
        case 2:
            let n = try checkedCount(argument, minimumBytesEach: 1, at: start)
            defer { position += n }
            return Array(UnsafeRawBufferPointer(rebasing: buffer[position..<position + n]))
        case 4:
            let n = try checkedCount(argument, minimumBytesEach: 1, at: start)
            var out: [UInt8] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(UInt8(try readUnsigned(max: 0xff, what))) }
            return out
        default:
            throw failure("\(what) is not a byte string", at: start)
        }
    }

    // MARK: Map keys

    /// Whether the encoded key at `a` sorts strictly before the one at `b`.
    private func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        let n = min(a.count, b.count)
        for i in 0..<n where buffer[a.lowerBound + i] != buffer[b.lowerBound + i] {
            return buffer[a.lowerBound + i] < buffer[b.lowerBound + i]
        }
        return a.count < b.count
    }

    /// Keys of one map: in strictly ascending order of their bytes (which also
    /// rules out duplicates), unknown text keys not canonically equivalent.
    private struct KeyOrder {
        var previous: Range<Int>?
        var unknownTexts: Set<String>?
    }

    private mutating func checkOrder(_ key: Range<Int>, _ order: inout KeyOrder) throws {
        if let p = order.previous, !precedes(p, key) {
            throw failure("map keys out of canonical order or repeated", at: key.lowerBound)
        }
        order.previous = key
    }

    /// Reads a key that is not one of the known ones (any item), then checks its place.
    private mutating func skipUnknownKey(depth: Int, _ order: inout KeyOrder) throws {
        let start = position
        let key = try skipItem(depth: depth)
        try checkOrder(start..<position, &order)
        if case .text(let s) = key {
            if order.unknownTexts == nil { order.unknownTexts = [] }
            guard order.unknownTexts!.insert(s).inserted else {
                throw failure("map keys that are the same Unicode text", at: start)
            }
        }
    }

    // MARK: Items of unknown keys

    /// Reads one whole item of any kind through the generic parser (under the
    /// limits left), which also checks that it is deterministically encoded.
    @discardableResult
    private mutating func skipItem(depth: Int) throws -> CBOR {
        var options = CBORDecodingOptions()
        options.maxInputSize = Int.max
        options.maxDepth = Self.maxDepth - depth + 1
        options.maxItems = max(0, Self.maxItems - items)
        options.maxLength = Self.maxLength
        options.rejectDuplicateKeys = true
        options.requireDeterministic = true
        let start = position
        let item: CBOR
        let used: Int
        do {
            (item, used) = try CBOR.decodePrefix(UnsafeRawBufferPointer(rebasing: buffer[position...]), options: options)
        } catch {
            throw failure("unknown field: \(error)", at: start)
        }
        position += used
        items += try Self.countItems(item)
        return item
    }

    /// The number of data items in `item` (as the parser counted them), refusing
    /// maps with two canonically equivalent text keys.
    private static func countItems(_ item: CBOR) throws -> Int {
        switch item {
        case .array(let elements):
            return try elements.reduce(1) { try $0 + countItems($1) }
        case .map(let entries):
            var texts = Set<String>()
            var n = 1
            for e in entries {
                if case .text(let s) = e.key, !texts.insert(s).inserted {
                    throw ManifestDecodingError(description: "map keys that are the same Unicode text")
                }
                n += try countItems(e.key) + countItems(e.value)
            }
            return n
        case .tagged(_, let inner):
            return try 1 + countItems(inner)
        default:
            return 1
        }
    }

    private func checkItemCount() throws {
        guard items <= Self.maxItems else { throw failure("more than \(Self.maxItems) data items") }
    }

    // MARK: The manifest

    mutating func readManifest() throws -> Manifest {
        let start = position
        let count = try readCount(major: 5, "the manifest", minimumBytesEach: 2)
        var entries: [ManifestEntry]?
        var version: Int?
        var chunkSize: Int?
        var order = KeyOrder()
        for _ in 0..<count {
            let keyStart = position
            var field: UInt8 = 0
            if remaining >= 2 && buffer[position] == 0x61 && (buffer[position + 1] == 0x65 || buffer[position + 1] == 0x76) {
                field = buffer[position + 1]   // "e", "v"
                position += 2
            } else if remaining >= 3 && buffer[position] == 0x62 && buffer[position + 1] == 0x63 && buffer[position + 2] == 0x73 {
                field = 0x63   // "cs"
                position += 3
            } else {
                try skipUnknownKey(depth: 2, &order)
                try skipItem(depth: 2)
                continue
            }
            items += 1
            try checkOrder(keyStart..<position, &order)
            switch field {
            case 0x65: entries = try readEntries()
            case 0x76: version = Int(try readInt64("the version"))
            default: chunkSize = Int(try readInt64("the chunk size"))
            }
        }
        try checkItemCount()
        guard position == buffer.count else { throw failure("extra bytes after the manifest") }
        guard let entries else { throw failure("no entries field", at: start) }
        guard let version else { throw failure("no version field", at: start) }
        guard let chunkSize else { throw failure("no chunk size field", at: start) }
        var m = Manifest(entries: entries, chunkSize: chunkSize)
        m.version = version
        return m
    }

    private mutating func readEntries() throws -> [ManifestEntry] {
        let count = try readCount(major: 4, "the entries", minimumBytesEach: Self.minEntryBytes)
        var entries: [ManifestEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            entries.append(try readEntry())
            try checkItemCount()
        }
        return entries
    }

    private mutating func readEntry() throws -> ManifestEntry {
        let start = position
        let count = try readCount(major: 5, "an entry", minimumBytesEach: 2)
        var path: String?, kind: ManifestEntry.Kind?, size: UInt64?, mode: UInt32?
        var mtime: Int64?, mtimeNanos: UInt32?, sha256: [UInt8]?, chunkHashes: [UInt8]?
        var order = KeyOrder()
        for _ in 0..<count {
            let keyStart = position
            guard remaining >= 2, buffer[position] == 0x61, Self.isEntryKey(buffer[position + 1]) else {
                try skipUnknownKey(depth: 4, &order)
                try skipItem(depth: 4)
                continue
            }
            let field = buffer[position + 1]
            position += 2
            items += 1
            try checkOrder(keyStart..<position, &order)
            switch field {
            case 0x63: chunkHashes = try readByteArray("the chunk hashes")
            case 0x68: sha256 = try readByteArray("the SHA-256")
            case 0x6b:
                kind = ManifestEntry.Kind(rawValue: UInt8(try readUnsigned(max: 1, "the kind")))
            case 0x6d: mode = UInt32(try readUnsigned(max: UInt64(UInt32.max), "the mode"))
            case 0x6e: mtimeNanos = UInt32(try readUnsigned(max: UInt64(UInt32.max), "the mtime nanoseconds"))
            case 0x70: path = try readText("the path")
            case 0x73: size = try readUnsigned(max: .max, "the size")
            default: mtime = try readInt64("the mtime")
            }
        }
        guard let path, let kind, let size, let mode, let mtime, let mtimeNanos, let sha256, let chunkHashes else {
            throw failure("an entry lacks a field", at: start)
        }
        var e = ManifestEntry(path: path, kind: kind, size: size, mode: 0, mtime: mtime, mtimeNanos: mtimeNanos,
                              sha256: sha256, chunkHashes: chunkHashes)
        e.mode = mode   // as received (the initializer masks it; the Codable one did not)
        return e
    }

    /// "c", "h", "k", "m", "n", "p", "s", "t".
    @inline(__always)
    private static func isEntryKey(_ letter: UInt8) -> Bool {
        switch letter {
        case 0x63, 0x68, 0x6b, 0x6d, 0x6e, 0x70, 0x73, 0x74: return true
        default: return false
        }
    }
}
