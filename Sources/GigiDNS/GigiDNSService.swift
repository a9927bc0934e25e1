import Dispatch
import GigiBase
import NIOConcurrencyHelpers
import NIOCore
import P2PHost

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How discovery runs on this machine. Build it with `fromEnvironment` so every
/// command honours `GIGI_LAN_DISCOVERY=off` and `GIGI_LAN_INTERFACES=if1,if2`.
public struct GigiDNSServiceConfig: Sendable {
    public var enabled = true
    /// Pinned interfaces; nil = every up, multicast-capable, non-loopback interface.
    public var interfaces: [String]?
    public var ipv6 = true
    public var port = GigiDNSPackets.port
    public var protocolConfig = GigiDNSConfig()

    public init() {}

    /// Reads `GIGI_LAN_DISCOVERY` (off/0/false/no disable), `GIGI_LAN_INTERFACES`
    /// (comma-separated names) and `GIGI_LAN_TTL` (seconds we announce; tests use short ones).
    /// Explicit values (the `--lan-discovery`, `--lan-interfaces`, `--lan-ttl` options) win
    /// over the environment.
    public static func fromEnvironment(_ env: [String: String], flag: String? = nil, interfaces: String? = nil,
                                       ttl: UInt32? = nil) -> GigiDNSServiceConfig {
        var c = GigiDNSServiceConfig()
        let switchValue = (flag ?? env["GIGI_LAN_DISCOVERY"] ?? "on").lowercased()
        c.enabled = !["off", "0", "false", "no"].contains(switchValue)
        if let list = interfaces ?? env["GIGI_LAN_INTERFACES"], !list.isEmpty {
            c.interfaces = list.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        }
        if let ttl = ttl ?? env["GIGI_LAN_TTL"].flatMap(UInt32.init), ttl > 0 {
            c.setRecordTTL(ttl)
        }
        return c
    }

    /// Sets the TTL we announce, and announces at least three times per TTL so a live peer never expires.
    public mutating func setRecordTTL(_ ttl: UInt32) {
        protocolConfig.recordTTL = ttl
        let third = max(Int64(ttl) * 1000 / 3, 200)
        if protocolConfig.announceInterval > .milliseconds(third) {
            protocolConfig.announceInterval = .milliseconds(third)
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// A discovered peer in wall-clock terms: what the CLI shows and the store keeps.
public struct GigiDNSPeerRecord: Sendable, Equatable, Codable {
    public var peerID: String
    public var nickname: String
    public var addresses: [String]
    public var capabilities: [String]
    public var meta: [GigiDNSMetaEntry]
    /// Seconds since 1970.
    public var lastSeen: Double
    public var expires: Double

    public init(peerID: String, nickname: String, addresses: [String], capabilities: [String],
                meta: [GigiDNSMetaEntry], lastSeen: Double, expires: Double) {
        self.peerID = peerID; self.nickname = nickname; self.addresses = addresses
        self.capabilities = capabilities; self.meta = meta; self.lastSeen = lastSeen; self.expires = expires
    }

    public var rendezvousKeys: [String] {
        meta.filter { $0.key == GigiDNSRecord.rendezvousMetaKey }.map { $0.value.lowercased() }
    }

    /// The addresses with `/p2p/<peer ID>` appended, ready to dial.
    public var dialAddresses: [String] {
        addresses.map { GigiDNSRecord.strippingP2P($0) + "/p2p/" + peerID }
    }
}

/// Where discovered peers are kept between runs (LMDB `peers`: `GigiDNSLMDBPeerStore`).
public protocol GigiDNSPeerStore: Sendable {
    func save(_ peer: GigiDNSPeerRecord) throws
    func remove(peerID: String) throws
    func all() throws -> [GigiDNSPeerRecord]
    /// Several changes at once (nil removes); stores with transactions write them in one.
    func apply(_ changes: [(peerID: String, record: GigiDNSPeerRecord?)]) throws
}

extension GigiDNSPeerStore {
    public func apply(_ changes: [(peerID: String, record: GigiDNSPeerRecord?)]) throws {
        for c in changes {
            if let r = c.record { try save(r) } else { try remove(peerID: c.peerID) }
        }
    }
}

/// A `GigiDNSPeerStore` in memory (tests, and commands run without a home).
public final class GigiDNSMemoryPeerStore: GigiDNSPeerStore, @unchecked Sendable {
    private var peers: [String: GigiDNSPeerRecord] = [:]
    private let lock = NIOLock()
    public init() {}
    public func save(_ peer: GigiDNSPeerRecord) throws { lock.withLock { peers[peer.peerID] = peer } }
    public func remove(peerID: String) throws { lock.withLock { peers[peerID] = nil } }
    public func all() throws -> [GigiDNSPeerRecord] { lock.withLock { Array(peers.values) } }
}

/// Runs `GigiDNSStateMachine` on a NIO event loop over `MulticastTransport`.
/// All mutable state is confined to `eventLoop`.
///
/// How a node uses it (share / fetch / daemon). Start it only when `config.enabled` (the CLI's
/// `LANOptions.serviceConfig(home:)` folds in `--lan-discovery`, the environment and config.toml):
///
/// ```swift
/// let config = try lan.serviceConfig(home: home)              // in the CLI: LANOptions
/// guard config.enabled else { … }                             // discovery off: no sockets at all
/// let lan = try await GigiDNSService.start(eventLoop: loop, config: config,
///                                          local: GigiDNSLocalPeer(peerID: id, nickname: nick, addresses: []))
/// lan.setListenAddresses(await node.dialableAddresses())      // the TCP multiaddrs to announce
/// lan.setRendezvousKeys([ShareCode.rendezvousKey(nameplate: code.nameplate)])   // sharer
/// let sharers = await lan.findRendezvous(key, timeout: .seconds(3))            // fetcher
/// for await event in lan.events { … }                                          // discovered / updated / expired
/// await lan.stop()                                                              // goodbye
/// ```
public final class GigiDNSService: @unchecked Sendable {
    /// At most this many `findRendezvous` calls wait at once; more return no peers at once.
    public static let maxRendezvousWaiters = 64
    /// Discovered-peer changes are written to the store at most this often (one transaction each).
    public static let storeFlushInterval = TimeAmount.seconds(1)

    public let eventLoop: EventLoop
    private var machine: GigiDNSStateMachine
    private var transport: MulticastTransport?
    private var timer: Scheduled<Void>?
    private var template: GigiDNSLocalPeer?
    private var interfaces: [MulticastInterface] = []
    private let store: GigiDNSPeerStore?
    private var pendingStore: [String: GigiDNSPeerRecord?] = [:]
    private var storeFlush: Scheduled<Void>?
    /// Store writes run here, in order, never on the event loop.
    private let storeQueue = DispatchQueue(label: "gigi.dns.store")
    private var waiters: [UInt64: RendezvousWaiter] = [:]
    private var nextWaiterID: UInt64 = 0
    private let continuation: AsyncStream<GigiDNSEvent>.Continuation
    /// Discovery events (discovered / updated / expired), in order. Buffer bounded to 1024.
    public let events: AsyncStream<GigiDNSEvent>

    private struct RendezvousWaiter {
        let keyHex: String
        let continuation: CheckedContinuation<[GigiDNSPeerRecord], Never>
        var retry: Scheduled<Void>?
        var timeout: Scheduled<Void>?
    }

    private init(eventLoop: EventLoop, config: GigiDNSServiceConfig, local: GigiDNSLocalPeer?, store: GigiDNSPeerStore?) {
        self.eventLoop = eventLoop
        self.template = local
        self.store = store
        self.machine = GigiDNSStateMachine(config: config.protocolConfig, local: nil, now: .now(),
                                           idSeed: UInt16.random(in: 0...UInt16.max))
        (self.events, self.continuation) = AsyncStream.makeStream(of: GigiDNSEvent.self, bufferingPolicy: .bufferingNewest(1024))
    }

    /// Opens the multicast sockets and starts announcing (when `local` is given) and querying.
    /// `local.addresses` may hold unspecified addresses (`/ip4/0.0.0.0/tcp/P`, or a bare
    /// `/ip4/0.0.0.0`): they are announced once per interface IPv4 address, following
    /// interface changes.
    public static func start(eventLoop: EventLoop, config: GigiDNSServiceConfig, local: GigiDNSLocalPeer?,
                             store: GigiDNSPeerStore? = nil) async throws -> GigiDNSService {
        let s = GigiDNSService(eventLoop: eventLoop, config: config, local: local, store: store)
        let tc = MulticastTransportConfig(port: config.port, ipv4Group: GigiDNSPackets.ipv4Group,
                                          ipv6Group: config.ipv6 ? GigiDNSPackets.ipv6Group : nil,
                                          interfaces: config.interfaces)
        let transport = try await MulticastTransport.start(
            eventLoop: eventLoop, config: tc,
            onDatagram: { bytes in s.perform(s.machine.receive(bytes, now: .now())) },
            onInterfacesChanged: { ifaces in s.interfacesChanged(ifaces) })
        try await eventLoop.submit {
            s.transport = transport
            s.interfaces = s.interfaces.isEmpty ? MulticastTransport.usableInterfaces(only: config.interfaces) : s.interfaces
            _ = s.machine.updateLocal(s.expandedLocal(), now: .now())
            s.perform(s.machine.start(now: .now()))
        }.get()
        return s
    }

    /// Current table, as wall-clock records.
    public func peers() async -> [GigiDNSPeerRecord] {
        (try? await eventLoop.submit { self.machine.peers.map(self.record) }.get()) ?? []
    }

    /// Names of the interfaces discovery runs on now (empty: none is up, or none of the pinned ones exists).
    public func interfaceNames() async -> [String] {
        (try? await eventLoop.submit { self.interfaces.map(\.name) }.get()) ?? []
    }

    /// Counters: packets received, malformed packets and records dropped, replies sent and rate-limited, …
    public func stats() async -> GigiDNSStats {
        (try? await eventLoop.submit { self.machine.stats }.get()) ?? GigiDNSStats()
    }

    /// Announces these rendezvous keys (raw bytes, e.g. the 32-byte BLAKE2b of a nameplate) in
    /// `meta` as `rv:<hex>`, and answers queries for them. Replaces the previous set; `[]` stops.
    public func setRendezvousKeys(_ keys: [[UInt8]]) {
        setRendezvousKeys(hex: keys.map { Hex.encode($0) })
    }

    /// The same with keys in hex.
    public func setRendezvousKeys(hex keys: [String]) {
        eventLoop.execute { self.perform(self.machine.setRendezvousKeys(keys, now: .now())) }
    }

    /// The node's listen addresses to announce (multiaddr text, e.g. `/ip4/10.1.0.2/tcp/40123`;
    /// a trailing `/p2p/<id>` is dropped, `/ip4/0.0.0.0/…` is expanded per interface).
    /// Addresses no longer listed get a goodbye. Ignored by a passive service (started with `local: nil`).
    public func setListenAddresses(_ addresses: [String]) {
        eventLoop.execute {
            guard var local = self.template else { return }
            local.addresses = addresses
            self.template = local
            self.perform(self.machine.updateLocal(self.expandedLocal(), now: .now()))
        }
    }

    /// Changes what we announce (nickname, listen addresses, …); nil stops announcing.
    public func updateLocal(_ local: GigiDNSLocalPeer?) {
        eventLoop.execute {
            self.template = local
            self.perform(self.machine.updateLocal(self.expandedLocal(), now: .now()))
        }
    }

    /// Who on the LAN announces rendezvous key `key`? Returns the peers holding it as soon as
    /// the first answer arrives (usually one peer, in a few milliseconds on a LAN), or `[]`
    /// after `timeout`. A peer already in the table answers at once; otherwise a query goes
    /// out now and again after 250 ms, 500 ms, 1 s, … (the sharer's replies are rate-limited).
    /// Returns `[]` at once after `stop()`. Task cancellation is not observed: `timeout` bounds the wait.
    /// Dial a result with `dialAddresses` (each address with `/p2p/<peer ID>`).
    public func findRendezvous(_ key: [UInt8], timeout: Duration) async -> [GigiDNSPeerRecord] {
        await findRendezvous(hex: Hex.encode(key), timeout: timeout)
    }

    /// The same with the key in hex.
    public func findRendezvous(hex key: String, timeout: Duration) async -> [GigiDNSPeerRecord] {
        let keyHex = key.lowercased()
        let (seconds, attoseconds) = timeout.components
        let wait = TimeAmount.nanoseconds(max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000)
        return await withCheckedContinuation { (c: CheckedContinuation<[GigiDNSPeerRecord], Never>) in
            eventLoop.execute { self.addWaiter(keyHex, timeout: wait, c) }
        }
    }

    /// Sends goodbyes (unless `goodbye` is false: a crash-like stop), closes the sockets and
    /// writes pending peer-table changes to the store.
    public func stop(goodbye: Bool = true) async {
        let t: MulticastTransport? = try? await eventLoop.submit { () -> MulticastTransport? in
            self.timer?.cancel()
            if goodbye { self.perform(self.machine.stop()) }
            let t = self.transport
            self.transport = nil
            for id in Array(self.waiters.keys) { self.finishWaiter(id, with: []) }
            return t
        }.get()
        await t?.close()
        let batch: [(peerID: String, record: GigiDNSPeerRecord?)] =
            (try? await eventLoop.submit { self.takePendingStore() }.get()) ?? []
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            storeQueue.async {
                if let store = self.store, !batch.isEmpty { try? store.apply(batch) }
                c.resume()
            }
        }
        continuation.finish()
    }

    // MARK: - on the loop

    private func perform(_ actions: [GigiDNSStateMachine.Action]) {
        for a in actions {
            switch a {
            case .send(let bytes): transport?.send(bytes)
            case .event(let e):
                persist(e)
                continuation.yield(e)
                if !waiters.isEmpty { wakeWaiters(for: e) }
            }
        }
        reschedule()
    }

    private func reschedule() {
        timer?.cancel()
        guard transport != nil else { return }
        timer = eventLoop.scheduleTask(deadline: machine.nextDeadline) { [self] in
            self.perform(self.machine.tick(now: .now()))
        }
    }

    private func interfacesChanged(_ ifaces: [MulticastInterface]) {
        interfaces = ifaces
        guard transport != nil else { return }
        // Goodbyes for addresses that went away, then a fresh query and announcement.
        perform(machine.updateLocal(expandedLocal(), now: .now()) + machine.requery(now: .now()))
    }

    /// Replaces `/ip4/0.0.0.0[/…]` by one address per interface IPv4 address.
    private func expandedLocal() -> GigiDNSLocalPeer? {
        guard var local = template else { return nil }
        var out: [String] = []
        for a in local.addresses.map(GigiDNSRecord.strippingP2P) {
            if a == "/ip4/0.0.0.0" || a.hasPrefix("/ip4/0.0.0.0/") {
                let rest = a.dropFirst("/ip4/0.0.0.0".count)
                for i in interfaces { for ip in i.ipv4 { out.append("/ip4/\(ip)\(rest)") } }
            } else {
                out.append(a)
            }
        }
        local.addresses = Array(Set(out)).sorted()
        return local
    }

    // MARK: rendezvous waiters

    private func matches(_ keyHex: String) -> [GigiDNSPeerRecord] {
        machine.peers.filter { $0.rendezvousKeys.contains(keyHex) }.map(record)
    }

    private func addWaiter(_ keyHex: String, timeout: TimeAmount, _ c: CheckedContinuation<[GigiDNSPeerRecord], Never>) {
        let found = matches(keyHex)
        guard found.isEmpty, transport != nil, timeout > .zero, waiters.count < Self.maxRendezvousWaiters else {
            c.resume(returning: found)
            return
        }
        let id = nextWaiterID
        nextWaiterID += 1
        var w = RendezvousWaiter(keyHex: keyHex, continuation: c)
        w.timeout = eventLoop.scheduleTask(in: timeout) { self.finishWaiter(id, with: self.matches(keyHex)) }
        waiters[id] = w
        askAgain(id, after: .milliseconds(250))
    }

    /// Sends the query now and schedules the next one after `delay` (doubling, at most 2 s).
    private func askAgain(_ id: UInt64, after delay: TimeAmount) {
        guard var w = waiters[id], transport != nil else { return }
        perform(machine.queryRendezvous(keyHex: w.keyHex))
        w.retry = eventLoop.scheduleTask(in: delay) { self.askAgain(id, after: min(delay * 2, .seconds(2))) }
        waiters[id] = w
    }

    private func wakeWaiters(for event: GigiDNSEvent) {
        let peer: GigiDNSPeer
        switch event {
        case .discovered(let p), .updated(let p): peer = p
        case .expired: return
        }
        let keys = Set(peer.rendezvousKeys)
        for (id, w) in waiters where keys.contains(w.keyHex) { finishWaiter(id, with: matches(w.keyHex)) }
    }

    private func finishWaiter(_ id: UInt64, with peers: [GigiDNSPeerRecord]) {
        guard let w = waiters.removeValue(forKey: id) else { return }
        w.retry?.cancel()
        w.timeout?.cancel()
        w.continuation.resume(returning: peers)
    }

    // MARK: persistence (batched, off the loop)

    private func persist(_ e: GigiDNSEvent) {
        guard store != nil else { return }
        switch e {
        case .discovered(let p), .updated(let p): pendingStore[p.peerID] = .some(record(p))
        case .expired(let p, _): pendingStore[p.peerID] = .some(nil)
        }
        guard storeFlush == nil else { return }
        storeFlush = eventLoop.scheduleTask(in: Self.storeFlushInterval) {
            self.storeFlush = nil
            let batch = self.takePendingStore()
            guard let store = self.store, !batch.isEmpty else { return }
            self.storeQueue.async { try? store.apply(batch) }
        }
    }

    private func takePendingStore() -> [(peerID: String, record: GigiDNSPeerRecord?)] {
        storeFlush?.cancel()
        storeFlush = nil
        defer { pendingStore = [:] }
        return pendingStore.sorted { $0.key < $1.key }.map { (peerID: $0.key, record: $0.value) }
    }

    private func record(_ p: GigiDNSPeer) -> GigiDNSPeerRecord {
        let now = NIODeadline.now()
        let wall = Self.wallNow()
        func toWall(_ d: NIODeadline) -> Double { wall + Double((d - now).nanoseconds) / 1e9 }
        return GigiDNSPeerRecord(peerID: p.peerID, nickname: p.nickname, addresses: p.sortedAddresses,
                                 capabilities: p.capabilities, meta: p.meta,
                                 lastSeen: toWall(p.lastSeen), expires: toWall(p.expires))
    }

    static func wallNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
