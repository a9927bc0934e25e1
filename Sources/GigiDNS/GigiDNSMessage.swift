// GigiDNS: LAN nickname discovery, wire-compatible with the original Gigi's gigi-dns.
//
// Goals: discover Gigi peers on the local link (nickname, peer ID, listen
// addresses, capabilities, metadata) and locate the sharer of a nameplate.
// Non-goals: general mDNS/DNS-SD (no probing, no conflict resolution, no
// known-answer suppression), anything beyond one link (multicast TTL 1).
//
// Spec followed: RFC 1035 §4 (message format, name compression), RFC 6762
// (multicast DNS: TTL 0 goodbyes §10.1, message size §17) and the Gigi TXT
// format described in GigiDNSTXTRecord.swift. This file is the generic DNS
// message codec: bounded, typed errors, never traps on hostile input.

/// Limits on what a remote peer can make the decoder do. Each cites its source.
public enum DNSLimits {
    /// RFC 6762 §17: a multicast DNS message may be up to 9000 bytes (jumbo frame);
    /// anything longer is not a DNS message we accept.
    public static let maxMessageBytes = 9000
    /// RFC 1035 §2.3.4: labels are 63 octets or less.
    public static let maxLabelBytes = 63
    /// RFC 1035 §2.3.4: names are 255 octets or less (wire form).
    public static let maxNameBytes = 255
    /// Our bound on compression pointers followed for one name. Pointers must also
    /// point strictly backwards, so loops are impossible; this bounds the work.
    public static let maxPointerHops = 32
    /// Our bound on records per section (Gigi packets carry one or two).
    public static let maxRecordsPerSection = 64
}

/// Why a packet was rejected. Every malformed packet maps to one case; none traps.
public enum DNSParseError: Error, Equatable, Sendable {
    case truncated
    case oversized(Int)
    case labelTooLong
    case nameTooLong
    case badPointer
    case pointerLoop
    case badLabelType
    case tooManyRecords(Int)
    case badRData(type: UInt16)
}

/// A domain name as a list of labels (raw bytes). Comparison ignores ASCII case (RFC 1035 §2.3.3).
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    public var labels: [[UInt8]]

    public init(labels: [[UInt8]]) { self.labels = labels }

    /// `"_gigi-dns._udp.local"` → labels; empty labels (a trailing dot) are skipped.
    public init(_ dotted: String) {
        self.labels = dotted.split(separator: ".", omittingEmptySubsequences: true).map { Array($0.utf8) }
    }

    public var description: String {
        labels.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ".")
    }

    private var folded: [[UInt8]] {
        labels.map { $0.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 } }
    }

    public static func == (a: DNSName, b: DNSName) -> Bool { a.folded == b.folded }
    public func hash(into h: inout Hasher) { h.combine(folded) }

    /// True when `self` ends with the labels of `suffix`.
    public func hasSuffix(_ suffix: DNSName) -> Bool {
        guard labels.count >= suffix.labels.count else { return false }
        return DNSName(labels: Array(labels.suffix(suffix.labels.count))) == suffix
    }
}

/// Record types we decode into structured data; anything else stays opaque.
public enum DNSType {
    public static let a: UInt16 = 1
    public static let ptr: UInt16 = 12
    public static let txt: UInt16 = 16
    public static let aaaa: UInt16 = 28
    public static let srv: UInt16 = 33
    public static let any: UInt16 = 255
}

public enum DNSClass {
    public static let inet: UInt16 = 1
}

/// Record data. TXT keeps its character-strings (RFC 1035 §3.3.14) as given.
public enum DNSRData: Hashable, Sendable {
    case a([UInt8])
    case aaaa([UInt8])
    case ptr(DNSName)
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case other(type: UInt16, bytes: [UInt8])

    public var type: UInt16 {
        switch self {
        case .a: return DNSType.a
        case .aaaa: return DNSType.aaaa
        case .ptr: return DNSType.ptr
        case .txt: return DNSType.txt
        case .srv: return DNSType.srv
        case .other(let t, _): return t
        }
    }
}

public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: UInt16
    /// Class with the mDNS unicast-response bit (RFC 6762 §5.4) left in place.
    public var qclass: UInt16
    public init(name: DNSName, type: UInt16, qclass: UInt16 = DNSClass.inet) {
        self.name = name; self.type = type; self.qclass = qclass
    }
}

public struct DNSResourceRecord: Hashable, Sendable {
    public var name: DNSName
    /// Class with the mDNS cache-flush bit (RFC 6762 §10.2) left in place.
    public var rrClass: UInt16
    public var ttl: UInt32
    public var data: DNSRData
    public init(name: DNSName, rrClass: UInt16 = DNSClass.inet, ttl: UInt32, data: DNSRData) {
        self.name = name; self.rrClass = rrClass; self.ttl = ttl; self.data = data
    }
}

/// A DNS message (RFC 1035 §4.1).
public struct DNSMessage: Hashable, Sendable {
    public var id: UInt16
    public var flags: UInt16
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    public init(id: UInt16, flags: UInt16, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [],
                authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []) {
        self.id = id; self.flags = flags; self.questions = questions; self.answers = answers
        self.authorities = authorities; self.additionals = additionals
    }

    /// QR bit: a response (or announcement) rather than a query.
    public var isResponse: Bool { flags & 0x8000 != 0 }
}

// MARK: - Decoding

extension DNSMessage {
    /// Decodes one datagram. Throws `DNSParseError`; never traps. Bytes after the
    /// last counted record are ignored (as most resolvers do).
    public init(decoding bytes: [UInt8]) throws(DNSParseError) {
        guard bytes.count <= DNSLimits.maxMessageBytes else { throw .oversized(bytes.count) }
        var r = DNSReader(bytes: bytes)
        let id = try r.u16()
        let flags = try r.u16()
        let counts = [try r.u16(), try r.u16(), try r.u16(), try r.u16()]
        for c in counts where Int(c) > DNSLimits.maxRecordsPerSection { throw .tooManyRecords(Int(c)) }
        var questions: [DNSQuestion] = []
        for _ in 0..<counts[0] {
            let name = try r.readName()
            questions.append(DNSQuestion(name: name, type: try r.u16(), qclass: try r.u16()))
        }
        var sections: [[DNSResourceRecord]] = [[], [], []]
        for s in 0..<3 {
            for _ in 0..<counts[s + 1] { sections[s].append(try r.record()) }
        }
        self.init(id: id, flags: flags, questions: questions, answers: sections[0],
                  authorities: sections[1], additionals: sections[2])
    }
}

/// A bounds-checked cursor over a datagram.
struct DNSReader {
    let bytes: [UInt8]
    var pos = 0

    mutating func u8() throws(DNSParseError) -> UInt8 {
        guard pos < bytes.count else { throw .truncated }
        defer { pos += 1 }
        return bytes[pos]
    }

    mutating func u16() throws(DNSParseError) -> UInt16 {
        UInt16(try u8()) << 8 | UInt16(try u8())
    }

    mutating func u32() throws(DNSParseError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ n: Int) throws(DNSParseError) -> [UInt8] {
        guard n >= 0, n <= bytes.count - pos else { throw .truncated }
        defer { pos += n }
        return Array(bytes[pos..<pos + n])
    }

    /// Reads a possibly compressed name (RFC 1035 §4.1.4). A pointer must point
    /// strictly before the pointer itself, and at most `maxPointerHops` are followed.
    mutating func readName() throws(DNSParseError) -> DNSName {
        var labels: [[UInt8]] = []
        var wireLength = 1  // the terminating zero octet
        var cursor = pos
        var jumped = false
        var hops = 0
        while true {
            guard cursor < bytes.count else { throw .truncated }
            let len = bytes[cursor]
            switch len & 0xC0 {
            case 0x00:
                if len == 0 {
                    if !jumped { pos = cursor + 1 }
                    return DNSName(labels: labels)
                }
                let n = Int(len)
                guard cursor + 1 + n <= bytes.count else { throw .truncated }
                wireLength += 1 + n
                guard wireLength <= DNSLimits.maxNameBytes else { throw .nameTooLong }
                labels.append(Array(bytes[(cursor + 1)...(cursor + n)]))
                cursor += 1 + n
            case 0xC0:
                guard cursor + 1 < bytes.count else { throw .truncated }
                let target = Int(len & 0x3F) << 8 | Int(bytes[cursor + 1])
                guard target < cursor else { throw .badPointer }
                hops += 1
                guard hops <= DNSLimits.maxPointerHops else { throw .pointerLoop }
                if !jumped { pos = cursor + 2; jumped = true }
                cursor = target
            default:
                throw .badLabelType  // 0x40 / 0x80: extended label types (RFC 6891), not used here
            }
        }
    }

    mutating func record() throws(DNSParseError) -> DNSResourceRecord {
        let name = try readName()
        let type = try u16()
        let rrClass = try u16()
        let ttl = try u32()
        let rdLength = Int(try u16())
        guard rdLength <= bytes.count - pos else { throw .truncated }
        let end = pos + rdLength
        let data: DNSRData
        switch type {
        case DNSType.a:
            guard rdLength == 4 else { throw .badRData(type: type) }
            data = .a(try take(4))
        case DNSType.aaaa:
            guard rdLength == 16 else { throw .badRData(type: type) }
            data = .aaaa(try take(16))
        case DNSType.ptr:
            data = .ptr(try readName())
        case DNSType.srv:
            let priority = try u16(), weight = try u16(), port = try u16()
            data = .srv(priority: priority, weight: weight, port: port, target: try readName())
        case DNSType.txt:
            var strings: [[UInt8]] = []
            while pos < end {
                let n = Int(try u8())
                guard n <= end - pos else { throw .badRData(type: type) }
                strings.append(try take(n))
            }
            data = .txt(strings)
        default:
            data = .other(type: type, bytes: try take(rdLength))
        }
        // The parsed data must use exactly RDLENGTH octets (a name may not run past it).
        guard pos == end else { throw .badRData(type: type) }
        return DNSResourceRecord(name: name, rrClass: rrClass, ttl: ttl, data: data)
    }
}

// MARK: - Encoding

extension DNSMessage {
    /// Encodes without name compression (as the original gigi-dns does), so
    /// announcements are byte-for-byte what the original sends.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.appendU16(id)
        out.appendU16(flags)
        for c in [questions.count, answers.count, authorities.count, additionals.count] { out.appendU16(UInt16(c)) }
        for q in questions {
            out.appendName(q.name)
            out.appendU16(q.type)
            out.appendU16(q.qclass)
        }
        for rr in answers + authorities + additionals {
            out.appendName(rr.name)
            out.appendU16(rr.data.type)
            out.appendU16(rr.rrClass)
            out.appendU32(rr.ttl)
            var rdata: [UInt8] = []
            switch rr.data {
            case .a(let b), .aaaa(let b), .other(_, let b): rdata = b
            case .ptr(let n): rdata.appendName(n)
            case .txt(let strings):
                for s in strings {
                    rdata.append(UInt8(s.count))
                    rdata.append(contentsOf: s)
                }
            case .srv(let priority, let weight, let port, let target):
                rdata.appendU16(priority); rdata.appendU16(weight); rdata.appendU16(port)
                rdata.appendName(target)
            }
            out.appendU16(UInt16(rdata.count))
            out.append(contentsOf: rdata)
        }
        return out
    }
}

extension Array where Element == UInt8 {
    mutating func appendU16(_ v: UInt16) { append(UInt8(v >> 8)); append(UInt8(v & 0xFF)) }
    mutating func appendU32(_ v: UInt32) { appendU16(UInt16(v >> 16)); appendU16(UInt16(v & 0xFFFF)) }
    /// Labels longer than 63 octets are truncated: encoders only see names we built.
    mutating func appendName(_ n: DNSName) {
        for label in n.labels {
            let l = label.prefix(DNSLimits.maxLabelBytes)
            append(UInt8(l.count))
            append(contentsOf: l)
        }
        append(0)
    }
}
