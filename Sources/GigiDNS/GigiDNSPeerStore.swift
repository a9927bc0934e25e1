import Foundation
import GigiStore

/// Keeps discovered LAN peers in the LMDB `peers` table (source "lan").
/// Only entries this store wrote (source "lan") are removed on expiry; peers
/// learned elsewhere (Kademlia, manual) are left alone.
public final class GigiDNSLMDBPeerStore: GigiDNSPeerStore, Sendable {
    public static let source = "lan"
    private let store: Store

    public init(store: Store) { self.store = store }

    /// Opens (creating) the node's store, GIGI_HOME/store, shared with the rest of the node.
    public convenience init(home: String) throws {
        try FileManager.default.createDirectory(atPath: home + "/store", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        self.init(store: try Store(path: home + "/store"))
    }

    public func save(_ peer: GigiDNSPeerRecord) throws {
        try apply([(peerID: peer.peerID, record: peer)])
    }

    public func remove(peerID: String) throws {
        try apply([(peerID: peerID, record: nil)])
    }

    /// All changes in one write transaction (one fsync for a batch of discoveries).
    public func apply(_ changes: [(peerID: String, record: GigiDNSPeerRecord?)]) throws {
        try store.write { txn in
            for c in changes {
                if let peer = c.record {
                    try store.peers.put(Self.stored(peer), for: peer.peerID, in: txn)
                } else if try store.peers.get(c.peerID, in: txn)?.source == Self.source {
                    _ = try store.peers.delete(c.peerID, in: txn)
                }
            }
        }
    }

    private static func stored(_ peer: GigiDNSPeerRecord) -> PeerRecord {
        PeerRecord(addresses: peer.addresses, nickname: peer.nickname, capabilities: peer.capabilities,
                   lastSeen: Date(timeIntervalSince1970: peer.lastSeen), source: source)
    }

    /// LAN peers last written by this store (their TTL is not kept: `expires` = `lastSeen`).
    public func all() throws -> [GigiDNSPeerRecord] {
        try store.read { txn in
            try store.peers.entries(in: txn).compactMap { e -> GigiDNSPeerRecord? in
                guard e.value.source == Self.source else { return nil }
                let seen = e.value.lastSeen.timeIntervalSince1970
                return GigiDNSPeerRecord(peerID: e.key, nickname: e.value.nickname ?? "", addresses: e.value.addresses,
                                         capabilities: e.value.capabilities, meta: [], lastSeen: seen, expires: seen)
            }
        }
    }
}
