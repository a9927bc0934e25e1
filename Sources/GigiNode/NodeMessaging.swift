// Direct messages and contacts on a node, as JSON-valued methods: the same
// calls serve the daemon's control API and a CLI command's in-process node.

import Foundation
import GigiBase
import GigiMessaging
import GigiStore
import P2PCore

extension GigiNode {
    /// Node-level methods shared by the daemon and in-process commands; nil: not a node method.
    public func call(_ method: String, _ p: [String: JSONValue]) async throws -> JSONValue? {
        switch method {
        case "send": return try await sendMessage(p)
        case "inbox": return try inbox(p)
        case "messages": return try conversation(p)
        case "mark_read": return try markRead(p)
        case "contacts.add": return try addContact(p)
        case "contacts.list": return try listContacts()
        case "contacts.remove": return try removeContact(p)
        case "contacts.rename": return try renameContact(p)
        case "resolve": return try resolvePeer(p)
        case "peers":
            return ["peers": .array(await lanPeers().map(\.json)), "lan_discovery": .bool(lanDiscoveryEnabled)]
        default: return nil
        }
    }

    var contacts: ContactBook { ContactBook(store: index.store) }

    func resolve(_ text: String) throws -> ResolvedPeer {
        try contacts.resolve(text)
    }

    func sendMessage(_ p: [String: JSONValue]) async throws -> JSONValue {
        guard let to = p["peer"]?.string, !to.isEmpty else {
            throw GigiError("send needs \"peer\": a contact, nickname, peer ID or multiaddr.", exitCode: .usage)
        }
        guard let text = p["text"]?.string else { throw GigiError("send needs \"text\".", exitCode: .usage) }
        let (target, fresh) = try resolveForSending(to)
        if fresh, !target.addresses.isEmpty { await host.addAddresses(target.addresses, for: target.peerID) }
        let timeout = p["timeout"]?.doubleValue.map { Duration.milliseconds(Int64($0 * 1000)) }
        let replyTo = p["reply_to"]?.string.flatMap(Hex.decode)
        let result = try await messaging.send(text: text, to: target.peerID, replyTo: replyTo, timeout: timeout,
                                              waitThroughFailures: p["wait"]?.bool ?? false)
        var o = Self.json(result.info).object!
        switch result {
        case .delivered: o["state"] = "delivered"
        case .queued(_, let reason): o["state"] = "queued"; o["reason"] = .string(reason)
        case .failed(_, let reason): o["state"] = "failed"; o["reason"] = .string(reason)
        }
        if let name = target.name { o["contact"] = .string(name) }
        return .object(o)
    }

    /// How long a resolved `send` target is reused: a GUI or a script sending many messages
    /// to one peer resolves it (store reads, multiaddr parsing) once, not per message.
    /// Contact changes on this node clear the cache; a discovery change shows within this time.
    static let sendTargetLifetime: Duration = .seconds(2)

    /// `resolve(text)`, from the cache when recent; `fresh` when it was resolved now.
    func resolveForSending(_ text: String) throws -> (target: ResolvedPeer, fresh: Bool) {
        let now = ContinuousClock.now
        if let hit = sendTargets.withLock({ $0[text] }), now - hit.at < Self.sendTargetLifetime { return (hit.target, false) }
        let target = try resolve(text)
        sendTargets.withLock { cache in
            if cache.count >= 256 { cache.removeAll() }
            cache[text] = (target, now)
        }
        return (target, true)
    }

    func inbox(_ p: [String: JSONValue]) throws -> JSONValue {
        let list = try messaging.inbox(unreadOnly: p["unread"]?.bool ?? false, limit: min(p["limit"]?.int ?? 100, 10_000))
        return ["messages": .array(list.map(Self.json))]
    }

    func conversation(_ p: [String: JSONValue]) throws -> JSONValue {
        guard let who = p["peer"]?.string else { throw GigiError("messages needs \"peer\".", exitCode: .usage) }
        let peer = try resolve(who).peerID
        let limit = min(max(p["limit"]?.int ?? 50, 1), 100_000)
        let before = p["before"]?.doubleValue.map { Date(timeIntervalSince1970: $0) }
        let list = try messaging.messages(with: peer.description, limit: limit, before: before)
        return ["peer": .string(peer.description), "messages": .array(list.map(Self.json))]
    }

    func markRead(_ p: [String: JSONValue]) throws -> JSONValue {
        guard let who = p["peer"]?.string else { throw GigiError("mark_read needs \"peer\".", exitCode: .usage) }
        let n = try messaging.markRead(peer: try resolve(who).peerID.description)
        return ["marked": .int(n)]
    }

    func addContact(_ p: [String: JSONValue]) throws -> JSONValue {
        sendTargets.withLock { $0.removeAll() }
        guard let name = p["name"]?.string, let id = p["peer_id"]?.string else {
            throw GigiError("contacts.add needs \"name\" and \"peer_id\".", exitCode: .usage)
        }
        let peer: PeerID
        do { peer = try PeerID(id) } catch {
            throw GigiError("'\(TerminalSafe.escape(id))' is not a peer ID (12D3KooW…).", exitCode: .usage)
        }
        var addrs: [Multiaddr] = []
        for a in p["addrs"]?.array?.compactMap(\.string) ?? [] {
            do { addrs.append(try Multiaddr(a)) } catch {
                throw GigiError("'\(TerminalSafe.escape(a))' is not a multiaddr.", exitCode: .usage)
            }
        }
        return Self.json(try contacts.add(name: name, peerID: peer, addresses: addrs))
    }

    func listContacts() throws -> JSONValue {
        ["contacts": .array(try contacts.list().map(Self.json))]
    }

    func removeContact(_ p: [String: JSONValue]) throws -> JSONValue {
        sendTargets.withLock { $0.removeAll() }
        guard let name = p["name"]?.string else { throw GigiError("contacts.remove needs \"name\".", exitCode: .usage) }
        return Self.json(try contacts.remove(name))
    }

    func renameContact(_ p: [String: JSONValue]) throws -> JSONValue {
        sendTargets.withLock { $0.removeAll() }
        guard let name = p["name"]?.string, let to = p["new_name"]?.string else {
            throw GigiError("contacts.rename needs \"name\" and \"new_name\".", exitCode: .usage)
        }
        return Self.json(try contacts.rename(name, to: to))
    }

    func resolvePeer(_ p: [String: JSONValue]) throws -> JSONValue {
        guard let text = p["peer"]?.string else { throw GigiError("resolve needs \"peer\".", exitCode: .usage) }
        let r = try resolve(text)
        var o: [String: JSONValue] = ["peer": .string(r.peerID.description), "source": .string(r.source.rawValue),
                                      "addrs": .array(r.addresses.map { .string($0.description) })]
        if let n = r.name { o["name"] = .string(n) }
        return .object(o)
    }

    static func json(_ c: Contact) -> JSONValue {
        ["name": .string(c.name), "peer": .string(c.peerID.description),
         "addrs": .array(c.addresses.map { .string($0.description) }), "added": .double(c.added.timeIntervalSince1970)]
    }

    static func json(_ m: DMInfo) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(m.idHex), "peer": .string(m.peer), "direction": .string(m.direction.rawValue),
            "status": .string(m.status.rawValue), "text": .string(m.text),
            "sent_at": .double(m.sentAt.timeIntervalSince1970), "unread": .bool(m.unread),
        ]
        if let r = m.receivedAt { o["received_at"] = .double(r.timeIntervalSince1970) }
        if let n = m.nickname { o["nickname"] = .string(n) }
        if let r = m.replyTo { o["reply_to"] = .string(Hex.encode(r)) }
        if let f = m.failure { o["failure"] = .string(f) }
        return .object(o)
    }

    /// Messaging events as the control API names them.
    public var messageEvents: AsyncStream<(String, JSONValue)> {
        let source = messaging.events
        return AsyncStream(bufferingPolicy: .bufferingNewest(4096)) { continuation in
            let task = Task {
                for await e in source {
                    switch e {
                    case .received(let m): continuation.yield(("message_received", Self.json(m)))
                    case .delivered(let m): continuation.yield(("message_delivered", Self.json(m)))
                    case .queued(let m, let reason):
                        var o = Self.json(m).object!; o["reason"] = .string(reason)
                        continuation.yield(("message_queued", .object(o)))
                    case .failed(let m, let reason):
                        var o = Self.json(m).object!; o["reason"] = .string(reason)
                        continuation.yield(("message_failed", .object(o)))
                    case .expired(let m): continuation.yield(("message_expired", Self.json(m)))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
