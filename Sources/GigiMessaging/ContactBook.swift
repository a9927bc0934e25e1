// Contacts (the `contacts` table: peer ID → ContactRecord, whose `nickname` is the contact
// name) and the resolution of a user's peer argument.

import GigiStore
import P2PCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A contact as the CLI shows it.
public struct Contact: Sendable, Hashable {
    public var name: String
    public var peerID: PeerID
    public var addresses: [Multiaddr]
    public var added: Date
}

/// What a peer argument named.
public struct ResolvedPeer: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable {
        /// A contact name.
        case contact
        /// A nickname a discovered peer announced (untrusted: anyone can claim one).
        case nickname
        /// A peer ID as text.
        case peerID
        /// A multiaddr ending in /p2p/ID.
        case multiaddr
    }

    public var peerID: PeerID
    /// Addresses known for the peer: the multiaddr given, the contact's, the discovered ones.
    public var addresses: [Multiaddr]
    /// The contact name, if the peer is a contact.
    public var name: String?
    public var source: Source
}

/// The address book. Cheap to create; every call is one LMDB transaction.
public struct ContactBook: Sendable {
    public static let maxNameLength = 64
    /// Most addresses kept per contact.
    public static let maxAddresses = 16

    public let store: Store

    public init(store: Store) {
        self.store = store
    }

    // MARK: Editing

    /// Adds a contact. Names are unique (ignoring case); a peer is a contact once.
    @discardableResult
    public func add(name: String, peerID: PeerID, addresses: [Multiaddr] = []) throws -> Contact {
        let name = try Self.validatedName(name)
        let addrs = try Self.validatedAddresses(addresses, for: peerID)
        let record = ContactRecord(nickname: name, addresses: addrs.map(\.description))
        try store.write { txn in
            if let existing = try store.contacts.get(peerID.description, in: txn) {
                throw MessagingError.alreadyContact(peer: peerID.description, name: existing.nickname)
            }
            if let other = try contact(named: name, in: txn) {
                throw MessagingError.contactNameTaken(name, peer: other.peer)
            }
            try store.contacts.put(record, for: peerID.description, in: txn)
        }
        return Contact(name: name, peerID: peerID, addresses: addrs, added: record.added)
    }

    /// All contacts, sorted by name.
    public func list() throws -> [Contact] {
        try store.read { txn in
            var out: [Contact] = []
            try store.contacts.forEach(in: txn) { peer, record in
                if let contact = Self.contact(peer, record) { out.append(contact) }
                return true
            }
            return out.sorted { $0.name.lowercased() < $1.name.lowercased() }
        }
    }

    /// Removes the contact named `nameOrPeer` (or with that peer ID) and returns it.
    @discardableResult
    public func remove(_ nameOrPeer: String) throws -> Contact {
        try store.write { txn in
            guard let (peer, record) = try find(nameOrPeer, in: txn) else {
                throw MessagingError.unknownContact(nameOrPeer)
            }
            try store.contacts.delete(peer, in: txn)
            guard let contact = Self.contact(peer, record) else { throw MessagingError.unknownContact(nameOrPeer) }
            return contact
        }
    }

    /// Renames a contact (given by name or peer ID).
    @discardableResult
    public func rename(_ nameOrPeer: String, to newName: String) throws -> Contact {
        let newName = try Self.validatedName(newName)
        return try store.write { txn in
            guard let (peer, record) = try find(nameOrPeer, in: txn) else {
                throw MessagingError.unknownContact(nameOrPeer)
            }
            if let other = try contact(named: newName, in: txn), other.peer != peer {
                throw MessagingError.contactNameTaken(newName, peer: other.peer)
            }
            var updated = record
            updated.nickname = newName
            try store.contacts.put(updated, for: peer, in: txn)
            guard let contact = Self.contact(peer, updated) else { throw MessagingError.unknownContact(nameOrPeer) }
            return contact
        }
    }

    // MARK: Resolution

    /// Resolves a peer argument: a multiaddr with /p2p, a contact name, a peer ID, or a
    /// nickname discovered peers announced — in that order. A contact name wins over
    /// discovered nicknames (those are self-chosen by strangers); a nickname several
    /// peers announce is ambiguous and throws, listing them.
    public func resolve(_ text: String) throws -> ResolvedPeer {
        let text = Self.trimmed(text)
        guard !text.isEmpty else { throw MessagingError.unknownPeer(text) }
        if text.hasPrefix("/") {
            let address: Multiaddr
            do { address = try Multiaddr(text) } catch {
                throw MessagingError.invalidPeer(text, reason: "\(error)")
            }
            guard let peer = address.peerID else {
                throw MessagingError.invalidPeer(text, reason: "the multiaddr has no /p2p/PEER_ID part")
            }
            var resolved = try known(peer, source: .multiaddr)
            resolved.addresses.removeAll { $0 == address.withoutTrailingPeerID }
            resolved.addresses.insert(address.withoutTrailingPeerID, at: 0)
            return resolved
        }
        let byName: (peer: String, record: ContactRecord)? = try store.read { txn in try contact(named: text, in: txn) }
        if let byName, let peer = try? PeerID(byName.peer) {
            return try known(peer, source: .contact)
        }
        if let peer = try? PeerID(text) {
            return try known(peer, source: .peerID)
        }
        let folded = text.lowercased()
        var matches: [(PeerID, PeerRecord)] = []
        try store.read { txn in
            try store.peers.forEach(in: txn) { peer, record in
                if record.nickname?.lowercased() == folded, let id = try? PeerID(peer) { matches.append((id, record)) }
                return matches.count <= 16
            }
        }
        switch matches.count {
        case 0: throw MessagingError.unknownPeer(text)
        case 1: return try known(matches[0].0, source: .nickname)
        default:
            throw MessagingError.ambiguousPeer(text, candidates: matches.map { "\($0.0)" }.sorted())
        }
    }

    /// Every address known for `peer` (contact first, then discovered), and its contact name.
    public func addresses(for peer: PeerID) throws -> [Multiaddr] {
        try known(peer, source: .peerID).addresses
    }

    private func known(_ peer: PeerID, source: ResolvedPeer.Source) throws -> ResolvedPeer {
        let (contact, discovered) = try store.read { txn in
            (try store.contacts.get(peer.description, in: txn), try store.peers.get(peer.description, in: txn))
        }
        var addresses: [Multiaddr] = []
        for text in (contact?.addresses ?? []) + (discovered?.addresses ?? []) {
            if let a = try? Multiaddr(text).withoutTrailingPeerID, !addresses.contains(a) { addresses.append(a) }
        }
        return ResolvedPeer(peerID: peer, addresses: addresses, name: contact?.nickname, source: source)
    }

    // MARK: Helpers

    private func contact(named name: String, in txn: LMDBTransaction) throws -> (peer: String, record: ContactRecord)? {
        let folded = name.lowercased()
        var found: (String, ContactRecord)?
        try store.contacts.forEach(in: txn) { peer, record in
            if record.nickname.lowercased() == folded { found = (peer, record); return false }
            return true
        }
        return found
    }

    private func find(_ nameOrPeer: String, in txn: LMDBTransaction) throws -> (String, ContactRecord)? {
        if let byName = try contact(named: nameOrPeer, in: txn) { return byName }
        if let record = try store.contacts.get(nameOrPeer, in: txn) { return (nameOrPeer, record) }
        return nil
    }

    private static func contact(_ peer: String, _ record: ContactRecord) -> Contact? {
        guard let id = try? PeerID(peer) else { return nil }
        return Contact(name: record.nickname, peerID: id,
                       addresses: (record.addresses ?? []).compactMap { try? Multiaddr($0) }, added: record.added)
    }

    /// Trims surrounding spaces; refuses empty names, names over 64 characters, control
    /// characters and '/' (which would read as a multiaddr).
    static func validatedName(_ raw: String) throws -> String {
        let name = trimmed(raw)
        guard !name.isEmpty else { throw MessagingError.invalidContactName(raw, reason: "it is empty") }
        guard name.count <= maxNameLength else {
            throw MessagingError.invalidContactName(raw, reason: "it is longer than \(maxNameLength) characters")
        }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format && $0.value != 0x200D }) {
            throw MessagingError.invalidContactName(raw, reason: "it contains control characters")
        }
        guard !name.hasPrefix("/") else {
            throw MessagingError.invalidContactName(raw, reason: "it starts with '/', which reads as a multiaddr")
        }
        guard (try? PeerID(name)) == nil else {
            throw MessagingError.invalidContactName(raw, reason: "it is a peer ID")
        }
        return name
    }

    static func trimmed(_ s: String) -> String {
        guard let first = s.firstIndex(where: { !$0.isWhitespace }),
              let last = s.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return first == s.startIndex && s.index(after: last) == s.endIndex ? s : String(s[first...last])
    }

    static func validatedAddresses(_ addresses: [Multiaddr], for peer: PeerID) throws -> [Multiaddr] {
        guard addresses.count <= maxAddresses else {
            throw MessagingError.invalidAddress("\(addresses.count) addresses", reason: "at most \(maxAddresses) are kept")
        }
        var out: [Multiaddr] = []
        for a in addresses {
            if let p = a.peerID, p != peer {
                throw MessagingError.invalidAddress(a.description, reason: "its /p2p part names \(p), not \(peer)")
            }
            guard a.endpoint != nil else { throw MessagingError.invalidAddress(a.description, reason: "it has no IP or DNS address and port") }
            let bare = a.withoutTrailingPeerID
            if !out.contains(bare) { out.append(bare) }
        }
        return out
    }
}
