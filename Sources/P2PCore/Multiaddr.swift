// Multiaddr (multiformats/multiaddr): self-describing network addresses.
// Binary form: repeated (varint protocol code ‖ value); text form:
// `/proto/value/proto/value…`. Protocol codes from multiformats/multicodec
// table.csv. Validation is strict: anything we could not print back the same
// way, or that a dialer could not use, is rejected with the offending part named.

/// One protocol/value pair of a multiaddr.
public enum MultiaddrComponent: Hashable, Sendable, CustomStringConvertible {
    /// IPv4 address (4 bytes, network order).
    case ip4(IPv4)
    /// IPv6 address (16 bytes, network order).
    case ip6(IPv6)
    case tcp(UInt16)
    case udp(UInt16)
    /// QUIC v1 (RFC 9000) over the preceding udp.
    case quicV1
    /// A peer identity (`/p2p/…`; `/ipfs/…` is read as an alias).
    case p2p(PeerID)
    /// A relayed hop (circuit relay v2).
    case p2pCircuit
    /// A DNS name resolving to A and AAAA records.
    case dns(String)
    /// A DNS name resolving to A records only.
    case dns4(String)
    /// A DNS name resolving to AAAA records only.
    case dns6(String)
    /// A name whose `_dnsaddr.` TXT records hold multiaddrs.
    case dnsaddr(String)

    /// An IPv4 address; text is dotted decimal without leading zeros.
    public struct IPv4: Hashable, Sendable, CustomStringConvertible {
        public let bytes: [UInt8]
        public init?(bytes: [UInt8]) {
            guard bytes.count == 4 else { return nil }
            self.bytes = bytes
        }
        public init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var out: [UInt8] = []
            for part in parts {
                guard let byte = parseDecimal(part, max: 255) else { return nil }
                out.append(UInt8(byte))
            }
            bytes = out
        }
        public var description: String { bytes.map(String.init).joined(separator: ".") }
    }

    /// An IPv6 address; text is parsed per RFC 4291 §2.2 (including `::` and
    /// a trailing dotted IPv4) and printed per RFC 5952.
    public struct IPv6: Hashable, Sendable, CustomStringConvertible {
        public let bytes: [UInt8]
        public init?(bytes: [UInt8]) {
            guard bytes.count == 16 else { return nil }
            self.bytes = bytes
        }
        public init?(_ text: String) {
            guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
            var head: [UInt16] = []
            var tail: [UInt16] = []
            var sawGap = false
            let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
            guard halves.count <= 2 else { return nil }
            func groups(_ s: String, allowIPv4: Bool) -> [UInt16]? {
                if s.isEmpty { return [] }
                let parts = s.split(separator: ":", omittingEmptySubsequences: false)
                var out: [UInt16] = []
                for (i, part) in parts.enumerated() {
                    if allowIPv4 && i == parts.count - 1 && part.contains(".") {
                        guard let v4 = IPv4(String(part)) else { return nil }
                        out.append(UInt16(v4.bytes[0]) << 8 | UInt16(v4.bytes[1]))
                        out.append(UInt16(v4.bytes[2]) << 8 | UInt16(v4.bytes[3]))
                        continue
                    }
                    guard (1...4).contains(part.count), let v = UInt16(part, radix: 16),
                          part.allSatisfy(\.isHexDigit) else { return nil }
                    out.append(v)
                }
                return out
            }
            if halves.count == 2 {
                sawGap = true
                guard let h = groups(halves[0], allowIPv4: false),
                      let t = groups(halves[1], allowIPv4: true) else { return nil }
                head = h
                tail = t
                guard head.count + tail.count <= 7 else { return nil }
            } else {
                guard let h = groups(halves[0], allowIPv4: true), h.count == 8 else { return nil }
                head = h
            }
            let middle = [UInt16](repeating: 0, count: sawGap ? 8 - head.count - tail.count : 0)
            bytes = (head + middle + tail).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
        }

        public var description: String {
            // IPv4-mapped addresses keep the dotted tail (RFC 5952 §5).
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
                return "::ffff:" + bytes[12...].map(String.init).joined(separator: ".")
            }
            let words = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
            // RFC 5952 §4.2: compress the longest run (≥ 2) of zero groups, the first if tied.
            var best = (start: -1, length: 0)
            var i = 0
            while i < 8 {
                guard words[i] == 0 else { i += 1; continue }
                var j = i
                while j < 8 && words[j] == 0 { j += 1 }
                if j - i > best.length { best = (i, j - i) }
                i = j
            }
            let hex = words.map { String($0, radix: 16) }
            guard best.length >= 2 else { return hex.joined(separator: ":") }
            return hex[..<best.start].joined(separator: ":") + "::"
                + hex[(best.start + best.length)...].joined(separator: ":")
        }
    }

    /// Multicodec code of this component's protocol.
    public var code: UInt64 {
        switch self {
        case .ip4: return 0x04
        case .tcp: return 0x06
        case .ip6: return 0x29
        case .dns: return 0x35
        case .dns4: return 0x36
        case .dns6: return 0x37
        case .dnsaddr: return 0x38
        case .udp: return 0x0111
        case .p2pCircuit: return 0x0122
        case .p2p: return 0x01a5
        case .quicV1: return 0x01cd
        }
    }

    /// The protocol name used in text form.
    public var name: String {
        switch self {
        case .ip4: return "ip4"
        case .ip6: return "ip6"
        case .tcp: return "tcp"
        case .udp: return "udp"
        case .quicV1: return "quic-v1"
        case .p2p: return "p2p"
        case .p2pCircuit: return "p2p-circuit"
        case .dns: return "dns"
        case .dns4: return "dns4"
        case .dns6: return "dns6"
        case .dnsaddr: return "dnsaddr"
        }
    }

    /// The value in text form; nil for protocols without a value.
    public var textValue: String? {
        switch self {
        case .ip4(let a): return a.description
        case .ip6(let a): return a.description
        case .tcp(let p), .udp(let p): return String(p)
        case .p2p(let id): return id.description
        case .dns(let n), .dns4(let n), .dns6(let n), .dnsaddr(let n): return n
        case .quicV1, .p2pCircuit: return nil
        }
    }

    public var description: String {
        textValue.map { "/\(name)/\($0)" } ?? "/\(name)"
    }

    /// The binary encoding of the value (without the protocol code).
    var valueBytes: [UInt8] {
        switch self {
        case .ip4(let a): return a.bytes
        case .ip6(let a): return a.bytes
        case .tcp(let p), .udp(let p): return [UInt8(p >> 8), UInt8(p & 0xff)]
        case .p2p(let id):
            let b = id.bytes
            return Varint.encode(UInt64(b.count)) + b
        case .dns(let n), .dns4(let n), .dns6(let n), .dnsaddr(let n):
            return Varint.encode(UInt64(n.utf8.count)) + Array(n.utf8)
        case .quicV1, .p2pCircuit: return []
        }
    }
}

/// A multiaddr: a sequence of components such as `/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…`.
///
/// Build from text (`Multiaddr("/ip4/…")`), from bytes (`Multiaddr(bytes:)`)
/// or from components. `Codable` as its text form.
public struct Multiaddr: Hashable, Sendable, CustomStringConvertible, CodableAsText {
    public let components: [MultiaddrComponent]

    /// Upper bounds on input a peer controls (Identify sends lists of these).
    /// Real addresses are well below: a dns name is ≤ 253 bytes, a peer ID ≤ 42.
    public static let maxBinaryLength = 1024
    public static let maxTextLength = 2048
    public static let maxComponents = 32
    /// DNS names: RFC 1035 §2.3.4 limits.
    static let maxDNSNameLength = 253
    static let maxDNSLabelLength = 63

    public init(_ components: [MultiaddrComponent]) {
        self.components = components
    }

    /// Parses the text form, e.g. `/ip6/::1/udp/4001/quic-v1`.
    public init(_ text: String) throws {
        guard text.utf8.count <= Multiaddr.maxTextLength else {
            throw P2PCoreError(.multiaddr, "The multiaddr is longer than \(Multiaddr.maxTextLength) characters.")
        }
        guard text.hasPrefix("/") else {
            throw P2PCoreError(.multiaddr, "'\(text)' is not a multiaddr: it must start with '/', e.g. /ip4/127.0.0.1/tcp/4001.")
        }
        var parts = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.last == "" && parts.count > 1 { parts = parts.dropLast() }   // one trailing slash is tolerated
        var components: [MultiaddrComponent] = []
        var iterator = parts.makeIterator()
        while let rawName = iterator.next() {
            let name = String(rawName)
            func value() throws -> String {
                guard let v = iterator.next(), !v.isEmpty else {
                    throw P2PCoreError(.multiaddr, "'/\(name)' in '\(text)' needs a value after it.")
                }
                return String(v)
            }
            let component: MultiaddrComponent
            switch name {
            case "ip4":
                let v = try value()
                guard let a = MultiaddrComponent.IPv4(v) else {
                    throw P2PCoreError(.multiaddr, "'\(v)' is not an IPv4 address (expected four decimal numbers 0-255, e.g. 127.0.0.1).")
                }
                component = .ip4(a)
            case "ip6":
                let v = try value()
                guard let a = MultiaddrComponent.IPv6(v) else {
                    throw P2PCoreError(.multiaddr, "'\(v)' is not an IPv6 address (e.g. ::1 or 2001:db8::1).")
                }
                component = .ip6(a)
            case "tcp", "udp":
                let v = try value()
                guard let port = parseDecimal(v, max: 65535) else {
                    throw P2PCoreError(.multiaddr, "'\(v)' is not a \(name) port (expected a number 0-65535).")
                }
                component = name == "tcp" ? .tcp(UInt16(port)) : .udp(UInt16(port))
            case "quic-v1": component = .quicV1
            case "p2p-circuit": component = .p2pCircuit
            case "p2p", "ipfs":
                let v = try value()
                do { component = .p2p(try PeerID(v)) } catch let error as P2PCoreError {
                    throw P2PCoreError(.multiaddr, "'/\(name)/\(v)' does not hold a valid peer ID: \(error.message)")
                }
            case "dns", "dns4", "dns6", "dnsaddr":
                let v = try value()
                try Multiaddr.validateDNSName(v)
                switch name {
                case "dns": component = .dns(v)
                case "dns4": component = .dns4(v)
                case "dns6": component = .dns6(v)
                default: component = .dnsaddr(v)
                }
            case "":
                throw P2PCoreError(.multiaddr, "'\(text)' has an empty component ('//').")
            case "quic":
                throw P2PCoreError(.multiaddr, "'/quic' (draft-29) is not supported; use /quic-v1.")
            default:
                throw P2PCoreError(.multiaddr, "'\(name)' in '\(text)' is not a multiaddr protocol Gigi knows (ip4, ip6, tcp, udp, quic-v1, p2p, p2p-circuit, dns, dns4, dns6, dnsaddr).")
            }
            components.append(component)
            guard components.count <= Multiaddr.maxComponents else {
                throw P2PCoreError(.multiaddr, "The multiaddr has more than \(Multiaddr.maxComponents) components.")
            }
        }
        guard !components.isEmpty else {
            throw P2PCoreError(.multiaddr, "The multiaddr '\(text)' is empty.")
        }
        self.components = components
    }

    /// Parses the binary form.
    public init(bytes: [UInt8]) throws {
        guard bytes.count <= Multiaddr.maxBinaryLength else {
            throw P2PCoreError(.multiaddr, "The binary multiaddr is \(bytes.count) bytes; at most \(Multiaddr.maxBinaryLength) are allowed.")
        }
        guard !bytes.isEmpty else {
            throw P2PCoreError(.multiaddr, "The binary multiaddr is empty.")
        }
        var reader = ByteReader(bytes, kind: .multiaddr)
        var components: [MultiaddrComponent] = []
        while !reader.isAtEnd {
            let code = try reader.varint("multiaddr protocol code")
            let component: MultiaddrComponent
            switch code {
            case 0x04: component = .ip4(.init(bytes: try reader.bytes(4, "ip4 address"))!)
            case 0x29: component = .ip6(.init(bytes: try reader.bytes(16, "ip6 address"))!)
            case 0x06, 0x0111:
                let b = try reader.bytes(2, "port")
                let port = UInt16(b[0]) << 8 | UInt16(b[1])
                component = code == 0x06 ? .tcp(port) : .udp(port)
            case 0x01cd: component = .quicV1
            case 0x0122: component = .p2pCircuit
            case 0x01a5:
                let b = try reader.lengthPrefixed(max: 128, "p2p peer ID")
                component = .p2p(try PeerID(bytes: b))
            case 0x35, 0x36, 0x37, 0x38:
                let b = try reader.lengthPrefixed(max: Multiaddr.maxDNSNameLength, "DNS name")
                guard let name = String(validating: b, as: UTF8.self) else {
                    throw P2PCoreError(.multiaddr, "A DNS name in the multiaddr is not valid UTF-8.")
                }
                try Multiaddr.validateDNSName(name)
                switch code {
                case 0x35: component = .dns(name)
                case 0x36: component = .dns4(name)
                case 0x37: component = .dns6(name)
                default: component = .dnsaddr(name)
                }
            default:
                throw P2PCoreError(.multiaddr, "Multiaddr protocol code 0x\(String(code, radix: 16)) is not one Gigi knows.")
            }
            components.append(component)
            guard components.count <= Multiaddr.maxComponents else {
                throw P2PCoreError(.multiaddr, "The multiaddr has more than \(Multiaddr.maxComponents) components.")
            }
        }
        self.components = components
    }

    /// The binary form.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for component in components {
            Varint.encode(component.code, into: &out)
            out.append(contentsOf: component.valueBytes)
        }
        return out
    }

    /// The text form.
    public var description: String {
        components.map(\.description).joined()
    }

    /// Hostnames: 1-253 bytes of dot-separated labels of 1-63 letters, digits,
    /// '-' or '_' (the latter for service names like `_dnsaddr`); no leading or
    /// trailing '-' in a label. A single trailing dot (fully qualified) is allowed.
    static func validateDNSName(_ name: String) throws {
        var labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count > 1 && labels.last == "" { labels.removeLast() }
        let ok = !name.isEmpty && name.utf8.count <= maxDNSNameLength && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= maxDNSLabelLength
                && label.utf8.allSatisfy { c in
                    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                        || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
                }
                && label.first != "-" && label.last != "-"
        }
        guard ok else {
            throw P2PCoreError(.multiaddr, "'\(name)' is not a valid DNS name (labels of letters, digits and '-', at most 253 characters).")
        }
    }
}

// MARK: - Helpers for dialling and announcing

extension Multiaddr {
    /// Where to connect: the host and port of a `/ip…|dns…/tcp|udp/PORT` prefix.
    public struct Endpoint: Hashable, Sendable {
        public enum Host: Hashable, Sendable {
            case ip4(MultiaddrComponent.IPv4)
            case ip6(MultiaddrComponent.IPv6)
            /// A name to resolve; `family` is 4 or 6 for dns4/dns6, nil for dns.
            case dns(String, family: Int?)

            /// The address or name as text (IPv6 without brackets).
            public var string: String {
                switch self {
                case .ip4(let a): return a.description
                case .ip6(let a): return a.description
                case .dns(let n, _): return n
                }
            }
        }
        public enum Transport: Hashable, Sendable { case tcp, udp }

        public let host: Host
        public let port: UInt16
        public let transport: Transport
    }

    /// The host and port this address starts with, or nil if it does not start
    /// with an IP/DNS component followed by tcp or udp.
    public var endpoint: Endpoint? {
        guard components.count >= 2 else { return nil }
        let host: Endpoint.Host
        switch components[0] {
        case .ip4(let a): host = .ip4(a)
        case .ip6(let a): host = .ip6(a)
        case .dns(let n): host = .dns(n, family: nil)
        case .dns4(let n): host = .dns(n, family: 4)
        case .dns6(let n): host = .dns(n, family: 6)
        default: return nil
        }
        switch components[1] {
        case .tcp(let p): return Endpoint(host: host, port: p, transport: .tcp)
        case .udp(let p): return Endpoint(host: host, port: p, transport: .udp)
        default: return nil
        }
    }

    /// `/ip4|ip6/ADDRESS/tcp/PORT` from an IP address string (as a socket reports it).
    public static func tcp(ipAddress: String, port: UInt16) throws -> Multiaddr {
        if let a = MultiaddrComponent.IPv4(ipAddress) { return Multiaddr([.ip4(a), .tcp(port)]) }
        if let a = MultiaddrComponent.IPv6(ipAddress) { return Multiaddr([.ip6(a), .tcp(port)]) }
        throw P2PCoreError(.multiaddr, "'\(ipAddress)' is not an IPv4 or IPv6 address.")
    }

    /// The peer ID of the last `/p2p` component (the peer this address reaches).
    public var peerID: PeerID? {
        for component in components.reversed() {
            if case .p2p(let id) = component { return id }
        }
        return nil
    }

    /// Whether the address goes through a relay (`/p2p-circuit`).
    public var isRelayed: Bool { components.contains(.p2pCircuit) }

    /// This address followed by `component`.
    public func appending(_ component: MultiaddrComponent) -> Multiaddr {
        Multiaddr(components + [component])
    }

    /// This address followed by `other`.
    public func appending(_ other: Multiaddr) -> Multiaddr {
        Multiaddr(components + other.components)
    }

    /// This address ending in `/p2p/<peer>`: unchanged if it already ends with
    /// that peer, appended otherwise.
    /// - Throws: if it already ends with a different peer ID.
    public func withPeerID(_ peer: PeerID) throws -> Multiaddr {
        if case .p2p(let existing)? = components.last {
            guard existing == peer else {
                throw P2PCoreError(.multiaddr, "The address \(self) already names peer \(existing), not \(peer).")
            }
            return self
        }
        return appending(.p2p(peer))
    }

    /// This address without a trailing `/p2p/<peer>` component.
    public var withoutTrailingPeerID: Multiaddr {
        if case .p2p? = components.last { return Multiaddr(Array(components.dropLast())) }
        return self
    }
}

/// A decimal number without sign, leading zeros (except "0" itself) or excess digits, at most `max`.
func parseDecimal<S: StringProtocol>(_ text: S, max: Int) -> Int? {
    guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
    guard text == "0" || text.first != "0" else { return nil }
    guard let value = Int(text), value <= max else { return nil }
    return value
}
