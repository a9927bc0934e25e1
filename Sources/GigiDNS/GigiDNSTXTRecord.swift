// The Gigi TXT record: what one announcement says about one listen address.
//
// Wire format (the original gigi-dns, kept for interop):
//   text = "peer_id=<id> nickname=<nick> addr=<multiaddr without /p2p>[ caps=a,b][ meta=k:v,k:v]"
//   The text's UTF-8 bytes are cut into consecutive character-strings of at most
//   255 bytes (RFC 1035 §3.3.14); a reader concatenates them back unchanged.
//
// Fixes over the original: a nickname holding a space, '=' or '%' (or a control
// character) is percent-escaped (`%20`, `%3D`, `%25`), so the record splits
// correctly; the original's unescaped form ("nickname=Bob Smith addr=…") is still
// read where it is unambiguous (a word without '=' continues the nickname).

/// One `k:v` entry of the `meta` field, in the order sent.
public struct GigiDNSMetaEntry: Hashable, Sendable, Codable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
}

/// Why a TXT record was rejected.
public enum GigiDNSRecordError: Error, Equatable, Sendable {
    case tooLong(Int)
    case notUTF8
    case missingField(String)
    case badPeerID
    case badNickname
    case badAddress
    case tooManyItems(String)
}

/// The fields of one Gigi TXT record.
public struct GigiDNSRecord: Hashable, Sendable {
    /// Limits, from the original where it has one, else ours.
    public enum Limits {
        /// The original's `GigiDnsRecord::MAX_TXT_LENGTH`.
        public static let maxTextBytes = 4096
        /// The original's `MAX_NICKNAME_LENGTH` (64), counted in UTF-8 bytes after unescaping.
        public static let maxNicknameBytes = 64
        /// A peer ID string (base58 `12D3KooW…` is 52 characters; CIDv1 forms are longer).
        public static let maxPeerIDBytes = 128
        /// One multiaddr in text form.
        public static let maxAddressBytes = 512
        /// Capabilities and meta entries per record (ours).
        public static let maxItems = 32
        /// One capability, meta key or meta value (ours; fits a 64-byte key in hex).
        public static let maxItemBytes = 160
    }

    /// The `meta` key under which a sharer lists the rendezvous keys (hex) of its active nameplates.
    public static let rendezvousMetaKey = "rv"

    public var peerID: String
    public var nickname: String
    /// A multiaddr in text form without a trailing `/p2p/<id>`.
    public var address: String
    public var capabilities: [String]
    public var meta: [GigiDNSMetaEntry]

    public init(peerID: String, nickname: String, address: String,
                capabilities: [String] = [], meta: [GigiDNSMetaEntry] = []) {
        self.peerID = peerID
        self.nickname = nickname
        self.address = Self.strippingP2P(address)
        self.capabilities = capabilities
        self.meta = meta
    }

    /// The rendezvous keys (lowercase hex) listed in `meta`.
    public var rendezvousKeys: [String] {
        meta.filter { $0.key == Self.rendezvousMetaKey }.map { $0.value.lowercased() }
    }

    /// `/ip4/1.2.3.4/tcp/1/p2p/12D3…` → `/ip4/1.2.3.4/tcp/1`.
    public static func strippingP2P(_ address: String) -> String {
        let b = Array(address.utf8), needle = Array("/p2p/".utf8)
        guard b.count >= needle.count else { return address }
        for i in 0...(b.count - needle.count) where Array(b[i..<i + needle.count]) == needle {
            return String(decoding: b[..<i], as: UTF8.self)
        }
        return address
    }

    // MARK: text

    /// The record's text (before splitting into character-strings).
    public var text: String {
        var parts = ["peer_id=\(peerID)", "nickname=\(Self.escape(nickname, extra: []))", "addr=\(address)"]
        if !capabilities.isEmpty {
            parts.append("caps=" + capabilities.map { Self.escape($0, extra: [","]) }.joined(separator: ","))
        }
        if !meta.isEmpty {
            parts.append("meta=" + meta.map {
                Self.escape($0.key, extra: [",", ":"]) + ":" + Self.escape($0.value, extra: [","])
            }.joined(separator: ","))
        }
        return parts.joined(separator: " ")
    }

    /// The text cut into character-strings of at most 255 bytes.
    public var characterStrings: [[UInt8]] {
        let bytes = Array(text.utf8)
        return stride(from: 0, to: bytes.count, by: 255).map { Array(bytes[$0..<min($0 + 255, bytes.count)]) }
    }

    /// Parses concatenated character-strings.
    public init(characterStrings: [[UInt8]]) throws(GigiDNSRecordError) {
        let total = characterStrings.reduce(0) { $0 + $1.count }
        guard total <= Limits.maxTextBytes else { throw .tooLong(total) }
        let bytes = characterStrings.flatMap { $0 }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        try self.init(text: text)
    }

    /// Parses the text form (see the file comment).
    public init(text: String) throws(GigiDNSRecordError) {
        guard text.utf8.count <= Limits.maxTextBytes else { throw .tooLong(text.utf8.count) }
        var fields: [String: String] = [:]
        var lastKey: String?
        for token in text.split(separator: " ", omittingEmptySubsequences: false) {
            if let eq = token.firstIndex(of: "="), token[..<eq].allSatisfy({ $0.isLetter || $0 == "_" }),
               eq != token.startIndex {
                let key = String(token[..<eq])
                lastKey = key
                if fields[key] == nil { fields[key] = String(token[token.index(after: eq)...]) }
            } else if lastKey == "nickname" {
                // The original's unescaped nickname with spaces: the word continues it.
                fields["nickname", default: ""] += " " + token
            }
        }
        guard let peerID = fields["peer_id"] else { throw .missingField("peer_id") }
        guard let rawNickname = fields["nickname"] else { throw .missingField("nickname") }
        guard let address = fields["addr"] else { throw .missingField("addr") }

        guard !peerID.isEmpty, peerID.utf8.count <= Limits.maxPeerIDBytes,
              peerID.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        else { throw .badPeerID }

        let nickname = Self.unescape(rawNickname)
        guard !nickname.isEmpty, nickname.utf8.count <= Limits.maxNicknameBytes,
              !nickname.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw .badNickname }

        guard address.hasPrefix("/"), address.utf8.count <= Limits.maxAddressBytes,
              !address.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw .badAddress }

        var caps: [String] = []
        if let c = fields["caps"], !c.isEmpty {
            let items = c.split(separator: ",", omittingEmptySubsequences: true)
            guard items.count <= Limits.maxItems else { throw .tooManyItems("caps") }
            caps = items.map { Self.unescape(String($0)) }.filter { $0.utf8.count <= Limits.maxItemBytes }
        }
        var meta: [GigiDNSMetaEntry] = []
        if let m = fields["meta"], !m.isEmpty {
            let items = m.split(separator: ",", omittingEmptySubsequences: true)
            guard items.count <= Limits.maxItems else { throw .tooManyItems("meta") }
            for item in items {
                guard let colon = item.firstIndex(of: ":") else { continue }  // the original skips these too
                let k = Self.unescape(String(item[..<colon]))
                let v = Self.unescape(String(item[item.index(after: colon)...]))
                guard k.utf8.count <= Limits.maxItemBytes, v.utf8.count <= Limits.maxItemBytes else { continue }
                meta.append(GigiDNSMetaEntry(k, v))
            }
        }
        self.init(peerID: peerID, nickname: nickname, address: address, capabilities: caps, meta: meta)
    }

    // MARK: escaping

    /// Percent-escapes space, '=', '%', control characters and `extra`.
    static func escape(_ s: String, extra: Set<Character>) -> String {
        var out = ""
        for ch in s {
            if ch == " " || ch == "=" || ch == "%" || extra.contains(ch)
                || ch.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                for b in String(ch).utf8 { out += "%" + hex2(b) }
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// Undoes `escape`; a '%' not followed by two hex digits stays literal (the
    /// original never escaped, so "100%" must survive), as does a decoding that
    /// would not be UTF-8.
    static func unescape(_ s: String) -> String {
        guard s.contains("%") else { return s }
        let bytes = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count,
               let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self) ?? s
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func hex2(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(b >> 4)], digits[Int(b & 0xF)]])
    }
}
