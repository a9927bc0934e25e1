import NIOCore

/// A Yamux stream identifier. The client (dialer) uses odd numbers, the server even ones;
/// 0 names the session itself (PING and GO_AWAY). Spec: libp2p/specs yamux/README.md, "StreamID Field".
public struct YamuxStreamID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// The session-level id used by PING and GO_AWAY.
    public static let session = YamuxStreamID(0)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "yamux#\(rawValue)" }
}

/// Frame type (spec "Type Field"). Any other value is a protocol error.
public enum YamuxFrameType: UInt8, Sendable {
    case data = 0
    case windowUpdate = 1
    case ping = 2
    case goAway = 3
}

/// Frame flags (spec "Flag Field"). Bits outside these four are a protocol error.
public struct YamuxFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let syn = YamuxFlags(rawValue: 0x1)
    public static let ack = YamuxFlags(rawValue: 0x2)
    public static let fin = YamuxFlags(rawValue: 0x4)
    public static let rst = YamuxFlags(rawValue: 0x8)
    static let known: YamuxFlags = [.syn, .ack, .fin, .rst]

    public var description: String {
        let names = [(YamuxFlags.syn, "SYN"), (.ack, "ACK"), (.fin, "FIN"), (.rst, "RST")]
            .filter { contains($0.0) }.map(\.1)
        let unknown = rawValue & ~YamuxFlags.known.rawValue
        return (names + (unknown == 0 ? [] : ["0x" + String(unknown, radix: 16)])).joined(separator: "|")
    }
}

/// The error code carried by GO_AWAY (spec "Session termination"). Codes other than the three
/// in the spec are kept as-is (go-libp2p sends 0x1005 when its connection manager prunes).
public struct YamuxGoAwayCode: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let normal = YamuxGoAwayCode(rawValue: 0)
    public static let protocolError = YamuxGoAwayCode(rawValue: 1)
    public static let internalError = YamuxGoAwayCode(rawValue: 2)

    public var description: String {
        switch self {
        case .normal: "normal"
        case .protocolError: "protocol error"
        case .internalError: "internal error"
        default: "code \(rawValue)"
        }
    }
}

/// The 12-byte Yamux frame header (spec "Framing"): version (8), type (8), flags (16),
/// stream id (32), length (32), all big-endian. Only version 0 exists.
public struct YamuxFrameHeader: Hashable, Sendable {
    public static let size = 12
    public static let version: UInt8 = 0

    public var type: YamuxFrameType
    public var flags: YamuxFlags
    public var streamID: YamuxStreamID
    /// DATA: payload length; WINDOW_UPDATE: window delta; PING: opaque value; GO_AWAY: error code.
    public var length: UInt32

    public init(type: YamuxFrameType, flags: YamuxFlags = [], streamID: YamuxStreamID, length: UInt32) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.length = length
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(Self.version, type.rawValue, flags.rawValue,
                                     streamID.rawValue, length)
    }

    /// Decodes a header from the first 12 readable bytes of `buffer` and consumes them, or returns
    /// nil (consuming nothing) when fewer than 12 bytes are readable. Rejects unknown versions,
    /// types and flag bits.
    public static func read(from buffer: inout ByteBuffer) throws(YamuxError) -> YamuxFrameHeader? {
        guard let (version, rawType, rawFlags, id, length) = buffer.getMultipleIntegers(
            at: buffer.readerIndex, as: (UInt8, UInt8, UInt16, UInt32, UInt32).self) else { return nil }
        guard version == Self.version else { throw .unsupportedVersion(version) }
        guard let type = YamuxFrameType(rawValue: rawType) else { throw .unknownFrameType(rawType) }
        let flags = YamuxFlags(rawValue: rawFlags)
        guard YamuxFlags.known.isSuperset(of: flags) else { throw .invalidFlags(type, flags) }
        buffer.moveReaderIndex(forwardBy: size)
        return YamuxFrameHeader(type: type, flags: flags, streamID: YamuxStreamID(id), length: length)
    }
}

/// Incremental Yamux parser over a byte stream that arrives in arbitrary pieces.
///
/// `next(_:)` returns nil until a whole header is available (it keeps a partial header itself).
/// A DATA frame's payload is then handed out as it arrives, in one or more `.payload` items
/// that are zero-copy slices of the input, so a 16 MiB frame never has to be held in one
/// piece. Every other frame type is header-only.
public struct YamuxFrameParser: Sendable {
    public enum Item: Hashable, Sendable {
        /// A complete header. For DATA with a non-zero length, `.payload` items follow.
        case header(YamuxFrameHeader)
        /// Part of the current DATA frame's payload; `remaining` bytes of it are still to come.
        case payload(ByteBuffer, remaining: UInt32)
    }

    /// Largest DATA length accepted. The spec lets a peer send only what the receive window
    /// allows, and our window never exceeds `YamuxConfiguration.maxReceiveWindow` (16 MiB,
    /// as go-yamux and py-libp2p), so a longer frame is a protocol error however the
    /// window stands. The session applies the exact per-stream window check.
    public let maxDataLength: UInt32
    private var partialHeader: ByteBuffer?
    private var payloadRemaining: UInt32 = 0

    public init(maxDataLength: UInt32 = YamuxConfiguration.defaultMaxReceiveWindow) {
        self.maxDataLength = maxDataLength
    }

    /// True when no frame is partly parsed (a clean point to stop reading the connection).
    public var isAtFrameBoundary: Bool { partialHeader == nil && payloadRemaining == 0 }

    public mutating func next(_ input: inout ByteBuffer) throws(YamuxError) -> Item? {
        if payloadRemaining > 0 {
            let n = min(Int(payloadRemaining), input.readableBytes)
            guard n > 0, let chunk = input.readSlice(length: n) else { return nil }
            payloadRemaining -= UInt32(n)
            return .payload(chunk, remaining: payloadRemaining)
        }
        let header: YamuxFrameHeader
        if var pending = partialHeader {
            // Top the partial header up to 12 bytes (only happens when input is cut mid-header).
            let want = YamuxFrameHeader.size - pending.readableBytes
            guard var piece = input.readSlice(length: min(want, input.readableBytes)) else { return nil }
            pending.writeBuffer(&piece)
            guard let h = try YamuxFrameHeader.read(from: &pending) else {
                partialHeader = pending
                return nil
            }
            partialHeader = nil
            header = h
        } else {
            guard let h = try YamuxFrameHeader.read(from: &input) else {
                if input.readableBytes > 0 {
                    var pending = ByteBuffer()
                    pending.reserveCapacity(YamuxFrameHeader.size)
                    pending.writeBuffer(&input)
                    partialHeader = pending
                }
                return nil
            }
            header = h
        }
        if header.type == .data {
            guard header.length <= maxDataLength else {
                throw .frameTooLarge(header.streamID, length: header.length, limit: maxDataLength)
            }
            payloadRemaining = header.length
        }
        return .header(header)
    }
}
