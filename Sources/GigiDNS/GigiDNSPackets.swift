// Building and classifying Gigi DNS packets.
//
// Query (the original's `build_query`): flags 0, one question
//   PTR IN `_gigi-dns._udp.local`.
// Announcement / answer (the original's `build_response`): flags 0x8400
//   (response, authoritative), no question, one answer
//   TXT IN `_gigi-dns._udp.local` TTL <ttl> with the record's character-strings.
//   One packet per listen address. TTL 0 is a goodbye (RFC 6762 §10.1).
// Rendezvous query (ours): a PTR question for
//   `<key hex in labels of ≤ 32 chars>._rv._gigi-dns._udp.local`; only a peer
//   holding that rendezvous key answers it, with its ordinary announcement.
//   The original answers any query with its record, which is harmless.

public enum GigiDNSPackets {
    /// UDP port of the original gigi-dns.
    public static let port = 7173
    /// IPv4 and IPv6 link-local multicast groups (the mDNS groups, RFC 6762 §3).
    public static let ipv4Group = "224.0.0.251"
    public static let ipv6Group = "ff02::fb"

    public static let serviceName = DNSName("_gigi-dns._udp.local")
    static let rendezvousLabel = Array("_rv".utf8)

    /// Flags of the original's announcements: QR | AA.
    public static let responseFlags: UInt16 = 0x8400

    public static func query(id: UInt16) -> DNSMessage {
        DNSMessage(id: id, flags: 0, questions: [DNSQuestion(name: serviceName, type: DNSType.ptr)])
    }

    public static func rendezvousQuery(id: UInt16, keyHex: String) -> DNSMessage {
        DNSMessage(id: id, flags: 0, questions: [DNSQuestion(name: rendezvousName(keyHex), type: DNSType.ptr)])
    }

    /// `<hex>._rv._gigi-dns._udp.local`, the hex cut into labels of 32 characters.
    public static func rendezvousName(_ keyHex: String) -> DNSName {
        let hex = Array(keyHex.lowercased().utf8)
        let labels = stride(from: 0, to: hex.count, by: 32).map { Array(hex[$0..<min($0 + 32, hex.count)]) }
        return DNSName(labels: labels + [rendezvousLabel] + serviceName.labels)
    }

    public static func announcement(id: UInt16, record: GigiDNSRecord, ttl: UInt32) -> DNSMessage {
        DNSMessage(id: id, flags: responseFlags,
                   answers: [DNSResourceRecord(name: serviceName, ttl: ttl, data: .txt(record.characterStrings))])
    }

    /// What a question asks of us.
    public enum Question: Equatable, Sendable {
        case service
        case rendezvous(keyHex: String)
    }

    /// Classifies a question; nil for names that are not ours.
    public static func classify(_ q: DNSQuestion) -> Question? {
        guard q.type == DNSType.ptr || q.type == DNSType.any || q.type == DNSType.txt else { return nil }
        if q.name == serviceName { return .service }
        let n = q.name.labels.count, s = serviceName.labels.count
        guard n > s + 1, q.name.hasSuffix(serviceName),
              q.name.labels[n - s - 1] == rendezvousLabel else { return nil }
        let hexBytes = q.name.labels[0..<(n - s - 1)].flatMap { $0 }
        let hex = String(decoding: hexBytes, as: UTF8.self).lowercased()
        guard !hex.isEmpty, hex.count <= 128, hex.allSatisfy(\.isHexDigit) else { return nil }
        return .rendezvous(keyHex: hex)
    }
}
