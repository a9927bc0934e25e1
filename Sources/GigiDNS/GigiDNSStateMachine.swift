import NIOCore

/// Timers and limits of the discovery service.
public struct GigiDNSConfig: Sendable, Equatable {
    /// Periodic announcement (the original's `announce_interval`, 15 s).
    public var announceInterval: TimeAmount = .seconds(15)
    /// TTL we put on our records: how long others keep us without hearing from us.
    public var recordTTL: UInt32 = 120
    /// First query retry; doubles up to `maxQueryInterval` (RFC 6762 §5.2 style backoff).
    public var initialQueryInterval: TimeAmount = .seconds(1)
    public var maxQueryInterval: TimeAmount = .seconds(60)
    /// Replies to queries: token bucket, `replyRate` per second, `replyBurst` at once.
    public var replyRate: Int = 10
    public var replyBurst: Int = 10
    /// Peer table bounds (a LAN full of Gigi peers is far smaller).
    public var maxPeers: Int = 256
    public var maxAddressesPerPeer: Int = 16
    /// Upper bound on a received TTL (the original's `MAX_TTL`, 24 h).
    public var maxAcceptedTTL: UInt32 = 86_400
    /// How often expiry is checked.
    public var sweepInterval: TimeAmount = .milliseconds(250)
    /// Rendezvous keys listed in one record's `meta` (each `rv:<64 hex>` is 68 bytes, so 8 keep a
    /// record near 800 bytes, one unfragmented datagram). A node with more active nameplates still
    /// answers a query for any of them: that answer lists the asked key first.
    public var maxAnnouncedRendezvousKeys: Int = 8
    /// Rendezvous keys held at once (ours; a daemon with this many open nameplates is unusual).
    public var maxRendezvousKeys: Int = 256

    public init() {}
}

/// What this node announces about itself.
public struct GigiDNSLocalPeer: Sendable, Equatable {
    public var peerID: String
    public var nickname: String
    /// Listen addresses (multiaddr text, `/p2p` suffix stripped when announced).
    public var addresses: [String]
    public var capabilities: [String]
    public var meta: [GigiDNSMetaEntry]

    public init(peerID: String, nickname: String, addresses: [String],
                capabilities: [String] = [], meta: [GigiDNSMetaEntry] = []) {
        self.peerID = peerID; self.nickname = nickname; self.addresses = addresses
        self.capabilities = capabilities; self.meta = meta
    }
}

/// A discovered peer as the table holds it.
public struct GigiDNSPeer: Sendable, Equatable {
    public var peerID: String
    public var nickname: String
    /// Addresses, each with its own expiry.
    public var addresses: [String: NIODeadline]
    public var capabilities: [String]
    public var meta: [GigiDNSMetaEntry]
    public var firstSeen: NIODeadline
    public var lastSeen: NIODeadline

    public var sortedAddresses: [String] { addresses.keys.sorted() }
    public var expires: NIODeadline { addresses.values.max() ?? lastSeen }
    public var rendezvousKeys: [String] {
        meta.filter { $0.key == GigiDNSRecord.rendezvousMetaKey }.map { $0.value.lowercased() }
    }
}

public enum GigiDNSExpiryReason: String, Sendable, Equatable {
    case ttl
    case goodbye
}

public enum GigiDNSEvent: Sendable, Equatable {
    case discovered(GigiDNSPeer)
    case updated(GigiDNSPeer)
    case expired(GigiDNSPeer, GigiDNSExpiryReason)
}

/// Counters for what the machine saw; malformed input is counted, never fatal.
public struct GigiDNSStats: Sendable, Equatable {
    public var packetsReceived = 0
    public var malformedPackets = 0
    public var malformedRecords = 0
    public var ownPackets = 0
    public var ignoredQuestions = 0
    public var repliesSent = 0
    public var repliesRateLimited = 0
    public var announcementsSent = 0
    public var queriesSent = 0
    public var peersRejected = 0
}

/// The discovery protocol as a pure state machine: packets and time in, actions out.
/// It holds no socket and no clock; the driver passes `now` and performs the actions.
public struct GigiDNSStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Send this datagram to the multicast group on every interface.
        case send([UInt8])
        case event(GigiDNSEvent)
    }

    public let config: GigiDNSConfig
    public private(set) var local: GigiDNSLocalPeer?
    public private(set) var stats = GigiDNSStats()
    private var table: [String: GigiDNSPeer] = [:]
    private var rendezvousKeys: [String] = []
    private var nextAnnounce: NIODeadline?
    private var nextQuery: NIODeadline
    private var queryInterval: TimeAmount
    private var nextSweep: NIODeadline
    private var bucket: TokenBucket
    private var nextID: UInt16
    private var recentQueryIDs: [UInt16] = []
    private var started = false

    /// - Parameters:
    ///   - local: what to announce; nil for a passive listener that only queries.
    ///   - idSeed: first transaction id (pass a random one outside tests).
    public init(config: GigiDNSConfig = GigiDNSConfig(), local: GigiDNSLocalPeer?, now: NIODeadline, idSeed: UInt16) {
        self.config = config
        self.local = local
        self.nextQuery = now
        self.queryInterval = config.initialQueryInterval
        self.nextSweep = now + config.sweepInterval
        self.bucket = TokenBucket(rate: config.replyRate, burst: config.replyBurst, now: now)
        self.nextID = idSeed
    }

    /// Peers currently in the table, by nickname then peer ID.
    public var peers: [GigiDNSPeer] {
        table.values.sorted { ($0.nickname, $0.peerID) < ($1.nickname, $1.peerID) }
    }

    /// When `tick` should next be called.
    public var nextDeadline: NIODeadline {
        var d = min(nextQuery, nextSweep)
        if let a = nextAnnounce { d = min(d, a) }
        return d
    }

    /// First query and (if we have a record) first announcement, at once.
    public mutating func start(now: NIODeadline) -> [Action] {
        started = true
        nextQuery = now
        nextAnnounce = local == nil ? nil : now
        return tick(now: now)
    }

    /// Timers: announcements, queries with backoff, expiry.
    public mutating func tick(now: NIODeadline) -> [Action] {
        guard started else { return [] }
        var out: [Action] = []
        if now >= nextSweep {
            out += sweep(now: now)
            nextSweep = now + config.sweepInterval
        }
        if let a = nextAnnounce, now >= a {
            out += announcements(ttl: config.recordTTL)
            stats.announcementsSent += 1
            nextAnnounce = now + config.announceInterval
        }
        if now >= nextQuery {
            out.append(.send(makeQuery(GigiDNSPackets.query(id: takeID()))))
            nextQuery = now + queryInterval
            queryInterval = min(queryInterval * 2, config.maxQueryInterval)
        }
        return out
    }

    /// Goodbye: every address announced with TTL 0 (RFC 6762 §10.1). Stops timers.
    public mutating func stop() -> [Action] {
        guard started else { return [] }
        started = false
        nextAnnounce = nil
        return announcements(ttl: 0)
    }

    /// Changes what we announce; removed addresses get a goodbye, then we re-announce at once.
    public mutating func updateLocal(_ newLocal: GigiDNSLocalPeer?, now: NIODeadline) -> [Action] {
        var out: [Action] = []
        if started, let old = local {
            let kept = Set((newLocal?.addresses ?? []).map(GigiDNSRecord.strippingP2P))
            let gone = old.addresses.filter { !kept.contains(GigiDNSRecord.strippingP2P($0)) }
            out += records(for: old, addresses: gone).map { .send(GigiDNSPackets.announcement(id: 0, record: $0, ttl: 0).encoded()) }
        }
        local = newLocal
        if started {
            nextAnnounce = newLocal == nil ? nil : now
            out += tick(now: now)
        }
        return out
    }

    /// Rendezvous keys (hex) of our active nameplates: announced in `meta`, and answered.
    /// Keys that are not 1…128 hex digits are dropped; at most `maxRendezvousKeys` are kept.
    public mutating func setRendezvousKeys(_ keys: [String], now: NIODeadline) -> [Action] {
        var seen = Set<String>()
        let normalized = keys.map { $0.lowercased() }
            .filter { !$0.isEmpty && $0.count <= 128 && $0.allSatisfy(\.isHexDigit) && seen.insert($0).inserted }
            .prefix(config.maxRendezvousKeys).map { $0 }
        guard normalized != rendezvousKeys else { return [] }
        rendezvousKeys = normalized
        guard started, local != nil else { return [] }
        nextAnnounce = now
        return tick(now: now)
    }

    /// Asks the LAN who holds `keyHex`; answers arrive as ordinary discoveries
    /// whose `rendezvousKeys` contain it.
    public mutating func queryRendezvous(keyHex: String) -> [Action] {
        stats.queriesSent += 1
        return [.send(makeQuery(GigiDNSPackets.rendezvousQuery(id: takeID(), keyHex: keyHex)))]
    }

    /// Restarts query backoff and queries at once (e.g. an interface came up). Announcing on
    /// the new interface is `updateLocal`'s job, so an interface change announces once, not twice.
    public mutating func requery(now: NIODeadline) -> [Action] {
        queryInterval = config.initialQueryInterval
        nextQuery = now
        return tick(now: now)
    }

    /// One received datagram.
    public mutating func receive(_ bytes: [UInt8], now: NIODeadline) -> [Action] {
        stats.packetsReceived += 1
        let message: DNSMessage
        do {
            message = try DNSMessage(decoding: bytes)
        } catch {
            stats.malformedPackets += 1
            return []
        }
        return message.isResponse ? handleResponse(message, now: now) : handleQuery(message, now: now)
    }

    // MARK: - queries

    private mutating func handleQuery(_ m: DNSMessage, now: NIODeadline) -> [Action] {
        if recentQueryIDs.contains(m.id) { stats.ownPackets += 1; return [] }  // our own, looped back
        guard started, local != nil else { return [] }
        var wanted = false
        var asked: [String] = []
        for q in m.questions {
            switch GigiDNSPackets.classify(q) {
            case .service?: wanted = true
            case .rendezvous(let key)?:
                if rendezvousKeys.contains(key) {
                    wanted = true
                    if !asked.contains(key) { asked.append(key) }
                } else {
                    stats.ignoredQuestions += 1
                }
            case nil: stats.ignoredQuestions += 1
            }
        }
        guard wanted else { return [] }
        guard bucket.take(now: now) else {
            stats.repliesRateLimited += 1
            return []
        }
        stats.repliesSent += 1
        return announcements(ttl: config.recordTTL, rendezvousFirst: asked)
    }

    private mutating func makeQuery(_ m: DNSMessage) -> [UInt8] {
        recentQueryIDs.append(m.id)
        if recentQueryIDs.count > 16 { recentQueryIDs.removeFirst() }
        stats.queriesSent += m.questions.first.map { GigiDNSPackets.classify($0) == .service ? 1 : 0 } ?? 0
        return m.encoded()
    }

    private mutating func takeID() -> UInt16 {
        defer { nextID &+= 1 }
        return nextID
    }

    // MARK: - announcements

    /// One record per address. `rendezvousFirst` (keys a query asked for) lead the `rv` entries,
    /// so an answer always carries the asked key even when more keys exist than one record lists.
    private func records(for peer: GigiDNSLocalPeer, addresses: [String],
                         rendezvousFirst: [String] = []) -> [GigiDNSRecord] {
        var meta = peer.meta.filter { $0.key != GigiDNSRecord.rendezvousMetaKey }
        let keys = rendezvousFirst + rendezvousKeys.filter { !rendezvousFirst.contains($0) }
        meta += keys.prefix(config.maxAnnouncedRendezvousKeys).map { GigiDNSMetaEntry(GigiDNSRecord.rendezvousMetaKey, $0) }
        return addresses.map {
            GigiDNSRecord(peerID: peer.peerID, nickname: peer.nickname, address: $0,
                          capabilities: peer.capabilities, meta: meta)
        }
    }

    private func announcements(ttl: UInt32, rendezvousFirst: [String] = []) -> [Action] {
        guard let local else { return [] }
        return records(for: local, addresses: local.addresses, rendezvousFirst: rendezvousFirst).map {
            .send(GigiDNSPackets.announcement(id: 0, record: $0, ttl: ttl).encoded())
        }
    }

    // MARK: - responses and the peer table

    private mutating func handleResponse(_ m: DNSMessage, now: NIODeadline) -> [Action] {
        var out: [Action] = []
        for rr in m.answers + m.additionals {
            guard case .txt(let strings) = rr.data, rr.name == GigiDNSPackets.serviceName else { continue }
            let record: GigiDNSRecord
            do {
                record = try GigiDNSRecord(characterStrings: strings)
            } catch {
                stats.malformedRecords += 1
                continue
            }
            if record.peerID == local?.peerID { stats.ownPackets += 1; continue }
            if let e = apply(record, ttl: min(rr.ttl, config.maxAcceptedTTL), now: now) { out.append(.event(e)) }
        }
        return out
    }

    private mutating func apply(_ r: GigiDNSRecord, ttl: UInt32, now: NIODeadline) -> GigiDNSEvent? {
        if ttl == 0 {
            guard var peer = table[r.peerID], peer.addresses.removeValue(forKey: r.address) != nil else { return nil }
            if peer.addresses.isEmpty {
                table[r.peerID] = nil
                return .expired(peer, .goodbye)
            }
            table[r.peerID] = peer
            return .updated(peer)
        }
        let expiry = now + .seconds(Int64(ttl))
        guard var peer = table[r.peerID] else {
            guard table.count < config.maxPeers else { stats.peersRejected += 1; return nil }
            let peer = GigiDNSPeer(peerID: r.peerID, nickname: r.nickname, addresses: [r.address: expiry],
                                   capabilities: r.capabilities, meta: r.meta, firstSeen: now, lastSeen: now)
            table[r.peerID] = peer
            return .discovered(peer)
        }
        let before = peer
        peer.lastSeen = now
        if peer.addresses[r.address] != nil || peer.addresses.count < config.maxAddressesPerPeer {
            peer.addresses[r.address] = expiry
        }
        peer.nickname = r.nickname
        peer.capabilities = r.capabilities
        peer.meta = r.meta
        table[r.peerID] = peer
        let changed = before.nickname != peer.nickname || before.capabilities != peer.capabilities
            || before.meta != peer.meta || Set(before.addresses.keys) != Set(peer.addresses.keys)
        return changed ? .updated(peer) : nil
    }

    private mutating func sweep(now: NIODeadline) -> [Action] {
        var out: [Action] = []
        for id in table.keys.sorted() {
            guard var peer = table[id] else { continue }
            let live = peer.addresses.filter { $0.value > now }
            guard live.count != peer.addresses.count else { continue }
            if live.isEmpty {
                table[id] = nil
                out.append(.event(.expired(peer, .ttl)))
            } else {
                peer.addresses = live
                table[id] = peer
                out.append(.event(.updated(peer)))
            }
        }
        return out
    }
}

/// A token bucket: `rate` tokens per second, at most `burst` stored.
struct TokenBucket: Sendable {
    private let rate: Int64
    private let burst: Int64
    /// Tokens in millionths, so refill is exact in integers.
    private var micros: Int64
    private var last: NIODeadline

    init(rate: Int, burst: Int, now: NIODeadline) {
        self.rate = Int64(max(rate, 1))
        self.burst = Int64(max(burst, 1))
        self.micros = self.burst * 1_000_000
        self.last = now
    }

    mutating func take(now: NIODeadline) -> Bool {
        if now > last {
            let elapsedNanos = (now - last).nanoseconds
            let refill = elapsedNanos / 1000 * rate  // ns → µs, times tokens per second = µtokens
            micros = min(burst * 1_000_000, micros + refill)
            last = now
        }
        guard micros >= 1_000_000 else { return false }
        micros -= 1_000_000
        return true
    }
}
