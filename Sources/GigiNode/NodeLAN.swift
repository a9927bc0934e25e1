// What LAN discovery tells the node, in the node's own terms.

import Foundation
import GigiDNS
import P2PCore

/// A peer seen on the LAN.
public struct LANPeer: Sendable, Equatable {
    public let peerID: String
    public let nickname: String
    /// Dialable addresses (with /p2p/<peer ID>).
    public let addresses: [String]
    public let capabilities: [String]
}

/// A change in the LAN peer table.
public enum LANPeerEvent: Sendable, Equatable {
    case discovered(LANPeer)
    case updated(LANPeer)
    case expired(LANPeer, reason: String)
}

extension GigiNode {
    /// Whether LAN discovery runs on this node.
    public var lanDiscoveryEnabled: Bool { lan != nil }

    /// Feeds what the LAN tells into the host's address book and the outbox:
    /// a peer seen on the LAN may have messages waiting for it.
    func startLANFeed() -> AsyncStream<LANPeerEvent>? {
        guard let events = lanEvents else { return nil }
        let host = self.host, messaging = self.messaging
        let (out, continuation) = AsyncStream<LANPeerEvent>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        Task {
            for await e in events {
                switch e {
                case .discovered(let p), .updated(let p):
                    if let id = try? PeerID(p.peerID) {
                        await host.addAddresses(p.addresses.compactMap { try? Multiaddr($0) }, for: id)
                        await messaging.peerReachable(id)
                    }
                case .expired: break
                }
                continuation.yield(e)
            }
            continuation.finish()
        }
        return out
    }

    /// LAN peer changes (one consumer: `startLANFeed`). Nil when discovery is off.
    var lanEvents: AsyncStream<LANPeerEvent>? {
        guard let source = lan?.events else { return nil }
        return AsyncStream(bufferingPolicy: .bufferingNewest(1024)) { continuation in
            let task = Task {
                for await e in source {
                    switch e {
                    case .discovered(let p): continuation.yield(.discovered(Self.peer(p)))
                    case .updated(let p): continuation.yield(.updated(Self.peer(p)))
                    case .expired(let p, let why): continuation.yield(.expired(Self.peer(p), reason: why.rawValue))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The peers currently known on the LAN.
    public func lanPeers() async -> [LANPeer] {
        guard let lan else { return [] }
        return await lan.peers().map {
            LANPeer(peerID: $0.peerID, nickname: $0.nickname, addresses: $0.dialAddresses, capabilities: $0.capabilities)
        }
    }

    static func peer(_ p: GigiDNSPeer) -> LANPeer {
        LANPeer(peerID: p.peerID, nickname: p.nickname,
                addresses: p.sortedAddresses.map { GigiDNSRecord.strippingP2P($0) + "/p2p/" + p.peerID },
                capabilities: p.capabilities)
    }
}

extension LANPeer {
    var json: JSONValue {
        ["peer": .string(peerID), "nickname": .string(nickname),
         "addrs": .array(addresses.map(JSONValue.string)), "caps": .array(capabilities.map(JSONValue.string))]
    }
}
