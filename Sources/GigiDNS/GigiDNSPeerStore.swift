import Foundation
import GigiStore

/// Keeps discovered LAN peers in the LMDB `peers` table (source "lan").
/// Only entries this store wrote (source "lan") are removed on expiry; peers
/// learned elsewhere (Kademlia, manual) are left alone.
public final class GigiDNSLMDBPeerStore: GigiDNSPeerStore, Sendable {
    public static let source = "lan"
    private let store: Store

    public init(store: Store) { self.store = store }

    public func save(_ peer: GigiDNSPeerRecord) throws {
        try store.write { txn in
            try store.peers.put(PeerRecord(addresses: peer.addresses, nickname: peer.nickname,
                                           capabilities: peer.capabilities,
                                           lastSeen: Date(timeIntervalSince1970: peer.lastSeen),
                                           source: Self.source),
                                for: peer.peerID, in: txn)
        }
    }

    public func remove(peerID: String) throws {
        try store.write { txn in
            if try store.peers.get(peerID, in: txn)?.source == Self.source {
                _ = try store.peers.delete(peerID, in: txn)
            }
        }
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
