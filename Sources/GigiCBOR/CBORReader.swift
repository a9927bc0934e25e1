// Low-level reading for hot paths that know the shape of their data.

/// Reads CBOR items one at a time from a buffer, for fixed-shape records where
/// building a `CBOR` tree would cost too much (e.g. the chunk index). The buffer
/// must stay valid while the reader is used. Limits of `options` apply as in
/// `CBOR.decode`.
public struct CBORReader {
    private var parser: CBORParser

    public init(_ buffer: UnsafeRawBufferPointer, options: CBORDecodingOptions = .default) {
        parser = CBORParser(buffer: buffer, options: options)
    }

    /// Bytes consumed so far.
    public var offset: Int { parser.position }

    /// Whether the whole buffer has been read.
    public var isAtEnd: Bool { parser.remaining == 0 }

    private mutating func head(major: UInt8) throws(CBORError) -> UInt64 {
        let start = parser.position
        let initial = try parser.readByte()
        guard initial >> 5 == major, let argument = try parser.readArgument(initial & 0x1f, headOffset: start) else {
            parser.position = start
            throw .unexpectedType(offset: start)
        }
        return argument
    }

    /// Reads a non-negative integer.
    public mutating func readUnsigned() throws(CBORError) -> UInt64 { try head(major: 0) }

    /// Reads the head of a definite-length array and returns its count.
    public mutating func readArrayHeader() throws(CBORError) -> Int {
        let start = parser.position
        let n = try head(major: 4)
        return try parser.checkLength(n, minimumBytesEach: 1, at: start)
    }

    /// Reads a definite-length byte string.
    public mutating func readBytes() throws(CBORError) -> [UInt8] {
        let start = parser.position
        let n = try parser.checkLength(try head(major: 2), minimumBytesEach: 1, at: start)
        defer { parser.position += n }
        return Array(parser.buffer[parser.position..<parser.position + n])
    }

    /// Reads one whole item of any kind.
    public mutating func readItem() throws(CBORError) -> CBOR { try parser.readItem(depth: 1) }
}
