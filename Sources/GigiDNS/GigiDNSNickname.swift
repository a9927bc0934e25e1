import GigiBase

/// The outcome of looking a nickname up among discovered peers.
public enum GigiDNSNicknameResolution: Equatable, Sendable {
    case found(GigiDNSPeerRecord)
    /// Several peers use this name: report them, never guess.
    case ambiguous([GigiDNSPeerRecord])
    case notFound
}

/// Resolves what a user typed (a nickname or a peer ID) to one discovered peer.
public enum GigiDNSNickname {
    /// Exact peer ID first, then exact nickname, then a case-insensitive nickname.
    public static func resolve(_ name: String, among peers: [GigiDNSPeerRecord]) -> GigiDNSNicknameResolution {
        if let p = peers.first(where: { $0.peerID == name }) { return .found(p) }
        for match in [{ (p: GigiDNSPeerRecord) in p.nickname == name },
                      { (p: GigiDNSPeerRecord) in p.nickname.lowercased() == name.lowercased() }] {
            let hits = peers.filter(match).sorted { $0.peerID < $1.peerID }
            if hits.count == 1 { return .found(hits[0]) }
            if hits.count > 1 { return .ambiguous(hits) }
        }
        return .notFound
    }

    /// The same, as a value or a user-facing error (for `gigi fetch` / `gigi send NICKNAME`).
    public static func require(_ name: String, among peers: [GigiDNSPeerRecord]) throws -> GigiDNSPeerRecord {
        switch resolve(name, among: peers) {
        case .found(let p): return p
        case .ambiguous(let ps):
            let list = ps.map { "\($0.peerID) (\($0.addresses.first ?? "no address"))" }.joined(separator: ", ")
            throw GigiError("Several peers on the LAN use the nickname \"\(name)\": \(list); use the peer ID instead.",
                            exitCode: .usage)
        case .notFound:
            throw GigiError("No peer named \"\(name)\" was found on the LAN; check `gigi peers` and that LAN discovery is on.",
                            exitCode: .unavailable)
        }
    }
}
