// Per-peer admission of inbound DM streams: a concurrency cap and a token bucket.
// Pure state (time is passed in), owned by `MessagingService`.

/// Limits on what one remote peer may make this node do.
public struct DMInboundLimitsConfig: Sendable {
    /// Inbound `/gigi/dm` streams of one peer being served at once; more are reset.
    public var maxConcurrentStreamsPerPeer = 64
    /// Token bucket per peer: capacity (the burst) and refill per second. The defaults let
    /// 20,000 messages through at once and 10,000/s sustained — twice the benchmark goal
    /// (5,000 msgs/s) — while a 100k flood is answered `rate_limited` once the bucket is dry.
    public var burst: Double = 20_000
    public var refillPerSecond: Double = 10_000
    /// Peers tracked at once; idle peers with a full bucket are forgotten first.
    public var maxTrackedPeers = 4096
    /// Open `/gigi/dm/2.0.0` sessions of one peer (a Gigi sender keeps one); more are reset.
    public var maxSessionsPerPeer = 2
    /// Open sessions of all peers together. With `DMWire.maxPipelinedBytes` (plus the one
    /// request that crosses it) per session this bounds the unanswered requests held in
    /// memory to about 69 MiB.
    public var maxSessions = 64

    public init() {}
}

/// The per-peer counters. Not thread-safe: one owner.
struct DMInboundLimits {
    enum Admission: Equatable {
        case admitted
        /// Too many of this peer's streams are open.
        case tooManyStreams
        /// The peer's bucket is empty.
        case rateLimited
        /// Too many peers tracked (each with streams open).
        case tooManyPeers
    }

    private struct PeerState {
        var active = 0
        var sessions = 0
        var tokens: Double
        var updated: Double
    }

    let config: DMInboundLimitsConfig
    private var peers: [String: PeerState] = [:]
    private(set) var sessionCount = 0

    init(config: DMInboundLimitsConfig) {
        self.config = config
    }

    /// Admits one stream of `peer` at time `now` (seconds, any monotonic origin).
    mutating func admitStream(_ peer: String, now: Double) -> Admission {
        if peers[peer] == nil {
            if peers.count >= config.maxTrackedPeers { forgetIdle(now: now) }
            guard peers.count < config.maxTrackedPeers else { return .tooManyPeers }
            peers[peer] = PeerState(tokens: config.burst, updated: now)
        }
        guard peers[peer]!.active < config.maxConcurrentStreamsPerPeer else { return .tooManyStreams }
        peers[peer]!.active += 1
        return .admitted
    }

    /// Admits one session of `peer` (it also counts as one of the peer's streams).
    mutating func admitSession(_ peer: String, now: Double) -> Admission {
        guard sessionCount < config.maxSessions else { return .tooManyPeers }
        if let s = peers[peer], s.sessions >= config.maxSessionsPerPeer { return .tooManyStreams }
        let admission = admitStream(peer, now: now)
        if admission == .admitted {
            peers[peer]!.sessions += 1
            sessionCount += 1
        }
        return admission
    }

    /// Ends a session admitted by `admitSession`.
    mutating func releaseSession(_ peer: String) {
        if var s = peers[peer], s.sessions > 0 {
            s.sessions -= 1
            peers[peer] = s
            sessionCount -= 1
        }
        releaseStream(peer)
    }

    /// Takes up to `count` tokens for requests of `peer`; returns how many it got.
    mutating func takeTokens(_ peer: String, _ count: Int, now: Double) -> Int {
        guard var s = peers[peer], count > 0 else { return 0 }
        s.tokens = min(config.burst, s.tokens + max(0, now - s.updated) * config.refillPerSecond)
        s.updated = now
        let granted = min(count, Int(s.tokens.rounded(.down)))
        s.tokens -= Double(granted)
        peers[peer] = s
        return granted
    }

    /// Ends a stream admitted by `admitStream`.
    mutating func releaseStream(_ peer: String) {
        guard var s = peers[peer] else { return }
        s.active = max(0, s.active - 1)
        peers[peer] = s
    }

    /// Takes one token for a request of `peer`; false when the bucket is empty.
    mutating func takeToken(_ peer: String, now: Double) -> Bool {
        guard var s = peers[peer] else { return false }
        s.tokens = min(config.burst, s.tokens + max(0, now - s.updated) * config.refillPerSecond)
        s.updated = now
        let ok = s.tokens >= 1
        if ok { s.tokens -= 1 }
        peers[peer] = s
        return ok
    }

    var trackedPeers: Int { peers.count }

    private mutating func forgetIdle(now: Double) {
        peers = peers.filter { _, s in
            s.active > 0 || s.tokens + max(0, now - s.updated) * config.refillPerSecond < config.burst
        }
    }
}
