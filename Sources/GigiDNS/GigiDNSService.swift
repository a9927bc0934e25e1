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
    /// An explicit `--lan-discovery` value wins over the environment.
    public static func fromEnvironment(_ env: [String: String], flag: String? = nil) -> GigiDNSServiceConfig {
        var c = GigiDNSServiceConfig()
        let switchValue = (flag ?? env["GIGI_LAN_DISCOVERY"] ?? "on").lowercased()
        c.enabled = !["off", "0", "false", "no"].contains(switchValue)
        if let list = env["GIGI_LAN_INTERFACES"], !list.isEmpty {
            c.interfaces = list.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        }
        if let ttl = env["GIGI_LAN_TTL"].flatMap(UInt32.init), ttl > 0 {
            c.protocolConfig.recordTTL = ttl
            // Announce at least three times per TTL so a live peer never expires.
            let third = max(Int64(ttl) * 1000 / 3, 200)
            if c.protocolConfig.announceInterval > .milliseconds(third) {
                c.protocolConfig.announceInterval = .milliseconds(third)
            }
        }
        return c
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
}

/// Where discovered peers are kept between runs (LMDB `peers` when the store is wired in).
public protocol GigiDNSPeerStore: Sendable {
    func save(_ peer: GigiDNSPeerRecord) throws
    func remove(peerID: String) throws
    func all() throws -> [GigiDNSPeerRecord]
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
public final class GigiDNSService: @unchecked Sendable {
    public let eventLoop: EventLoop
    private var machine: GigiDNSStateMachine
    private var transport: MulticastTransport?
    private var timer: Scheduled<Void>?
    private var template: GigiDNSLocalPeer?
    private var interfaces: [MulticastInterface] = []
    private let store: GigiDNSPeerStore?
    private let continuation: AsyncStream<GigiDNSEvent>.Continuation
    /// Discovery events (discovered / updated / expired), in order. Buffer bounded to 1024.
    public let events: AsyncStream<GigiDNSEvent>

    private init(eventLoop: EventLoop, config: GigiDNSServiceConfig, local: GigiDNSLocalPeer?, store: GigiDNSPeerStore?) {
        self.eventLoop = eventLoop
        self.template = local
        self.store = store
        self.machine = GigiDNSStateMachine(config: config.protocolConfig, local: nil, now: .now(),
                                           idSeed: UInt16.random(in: 0...UInt16.max))
        (self.events, self.continuation) = AsyncStream.makeStream(of: GigiDNSEvent.self, bufferingPolicy: .bufferingNewest(1024))
    }

    /// Opens the multicast sockets and starts announcing (when `local` is given) and querying.
    /// `local.addresses` may hold unspecified listen addresses (`/ip4/0.0.0.0/tcp/P`): they are
    /// announced once per interface address, following interface changes.
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

    public func stats() async -> GigiDNSStats {
        (try? await eventLoop.submit { self.machine.stats }.get()) ?? GigiDNSStats()
    }

    /// Announces these rendezvous keys (hex) and answers queries for them.
    public func setRendezvousKeys(_ keys: [String]) {
        eventLoop.execute { self.perform(self.machine.setRendezvousKeys(keys, now: .now())) }
    }

    /// Changes what we announce (nickname, listen addresses, …).
    public func updateLocal(_ local: GigiDNSLocalPeer?) {
        eventLoop.execute {
            self.template = local
            self.perform(self.machine.updateLocal(self.expandedLocal(), now: .now()))
        }
    }

    /// Finds the peer announcing `keyHex`: asks at once and again with backoff until `timeout`.
    public func findRendezvous(keyHex: String, timeout: TimeAmount) async -> GigiDNSPeerRecord? {
        let key = keyHex.lowercased()
        let deadline = NIODeadline.now() + timeout
        var wait = TimeAmount.milliseconds(100)
        while NIODeadline.now() < deadline {
            let hit: GigiDNSPeerRecord? = try? await eventLoop.submit { () -> GigiDNSPeerRecord? in
                if let p = self.machine.peers.first(where: { $0.rendezvousKeys.contains(key) }) { return self.record(p) }
                self.perform(self.machine.queryRendezvous(keyHex: key))
                return nil
            }.get()
            if let hit { return hit }
            try? await Task.sleep(nanoseconds: UInt64(min(wait, deadline - .now()).nanoseconds.clamped()))
            wait = min(wait * 2, .seconds(1))
        }
        return nil
    }

    /// Sends goodbyes (unless `goodbye` is false: a crash-like stop) and closes the sockets.
    public func stop(goodbye: Bool = true) async {
        let t: MulticastTransport? = try? await eventLoop.submit { () -> MulticastTransport? in
            self.timer?.cancel()
            if goodbye { self.perform(self.machine.stop()) }
            let t = self.transport
            self.transport = nil
            return t
        }.get()
        await t?.close()
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
        _ = machine.updateLocal(expandedLocal(), now: .now())
        perform(machine.requery(now: .now()))
    }

    /// Replaces `/ip4/0.0.0.0/…` by one address per interface IPv4 address.
    private func expandedLocal() -> GigiDNSLocalPeer? {
        guard var local = template else { return nil }
        var out: [String] = []
        for a in local.addresses {
            if a.hasPrefix("/ip4/0.0.0.0/") {
                let rest = a.dropFirst("/ip4/0.0.0.0".count)
                for i in interfaces { for ip in i.ipv4 { out.append("/ip4/\(ip)\(rest)") } }
            } else {
                out.append(a)
            }
        }
        local.addresses = Array(Set(out)).sorted()
        return local
    }

    private func persist(_ e: GigiDNSEvent) {
        guard let store else { return }
        switch e {
        case .discovered(let p), .updated(let p): try? store.save(record(p))
        case .expired(let p, _): try? store.remove(peerID: p.peerID)
        }
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

extension Int64 {
    fileprivate func clamped() -> Int64 { Swift.max(self, 0) }
}
