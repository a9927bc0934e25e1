// The fetcher's pull scheduler: which chunk to request next, from which
// provider, how many in flight, what to retry. A pure state machine over
// global chunk numbers (all files of a manifest, in order); no I/O, no clock.
//
// Window per provider: starts at `initialWindow`, grows by one on each good
// chunk up to `maxWindow`, halves on a timeout or error (AIMD). A chunk whose
// data fails verification is requeued and counts a strike against the
// provider; a provider with `maxStrikes` strikes is dropped. A chunk that
// failed `maxAttempts` times fails the fetch.

import GigiStore

public struct FetchSchedulerConfig: Sendable {
    public var initialWindow = 8
    public var maxWindow = 12
    public var maxAttempts = 5
    public var maxStrikes = 3
    /// Chunk streams the fetcher opens to each provider; the provider's window is
    /// shared by them, and each carries at most `maxWindow / streamsPerProvider`
    /// requests (rounded up). Several streams let answers be verified and written
    /// on several cores while more arrive.
    public var streamsPerProvider = 2
    public init() {}
}

/// What the fetch should do next.
public enum FetchSchedulerAction<Provider: Hashable & Sendable>: Equatable, Sendable {
    case request(chunk: Int, from: Provider)
    /// A chunk failed too often: the fetch fails.
    case fail(chunk: Int)
    /// A provider misbehaved too often and was dropped.
    case dropProvider(Provider)
}

public struct FetchScheduler<Provider: Hashable & Sendable>: Sendable {
    struct ProviderState: Sendable {
        var window: Int
        var inFlight: Set<Int> = []
        var strikes = 0
    }

    public let config: FetchSchedulerConfig
    public private(set) var verified: ChunkBitmap
    public private(set) var verifiedCount: Int
    private var providers: [Provider: ProviderState] = [:]
    private var providerOrder: [Provider] = []
    private var pending: [Int]          // chunks to request, a stack (lowest on top)
    private var inFlight: [Int: Provider] = [:]
    private var attempts: [Int: Int] = [:]
    private var failed = false

    /// `verified` holds chunks already present (resume, local reuse).
    public init(verified: ChunkBitmap, config: FetchSchedulerConfig = .init()) {
        self.config = config
        self.verified = verified
        self.verifiedCount = verified.setCount
        self.pending = (0..<verified.count).reversed().filter { !verified[$0] }
    }

    public var isComplete: Bool { verifiedCount == verified.count }
    public var inFlightCount: Int { inFlight.count }
    public func window(of p: Provider) -> Int? { providers[p]?.window }

    public mutating func addProvider(_ p: Provider) {
        guard providers[p] == nil else { return }
        providers[p] = ProviderState(window: config.initialWindow)
        providerOrder.append(p)
    }

    /// The provider went away: its chunks in flight are requeued.
    public mutating func removeProvider(_ p: Provider) {
        guard let state = providers.removeValue(forKey: p) else { return }
        providerOrder.removeAll { $0 == p }
        for c in state.inFlight { inFlight[c] = nil }
        pending = (pending + state.inFlight).sorted(by: >)
    }

    public var hasProviders: Bool { !providers.isEmpty }

    /// Fills every provider's window.
    public mutating func nextActions() -> [FetchSchedulerAction<Provider>] {
        guard !failed else { return [] }
        var out: [FetchSchedulerAction<Provider>] = []
        var progress = true
        while progress && !pending.isEmpty {
            progress = false
            for p in providerOrder {
                guard var st = providers[p], st.inFlight.count < st.window, let c = pending.popLast() else { continue }
                if verified[c] { progress = true; continue }
                st.inFlight.insert(c)
                providers[p] = st
                inFlight[c] = p
                out.append(.request(chunk: c, from: p))
                progress = true
            }
        }
        return out
    }

    /// Up to `limit` chunks to request from `p` now, within its window (for a
    /// fetcher that drives each provider's streams separately).
    public mutating func nextRequests(for p: Provider, limit: Int) -> [Int] {
        guard !failed, var st = providers[p] else { return [] }
        var out: [Int] = []
        while out.count < limit, st.inFlight.count < st.window, let c = pending.popLast() {
            if verified[c] { continue }
            st.inFlight.insert(c)
            inFlight[c] = p
            out.append(c)
        }
        providers[p] = st
        return out
    }

    public func hasProvider(_ p: Provider) -> Bool { providers[p] != nil }
    public var hasFailed: Bool { failed }

    /// A chunk arrived from `p`; `valid` says whether its BLAKE3 matched.
    public mutating func received(chunk c: Int, from p: Provider, valid: Bool) -> [FetchSchedulerAction<Provider>] {
        guard inFlight[c] == p else { return [] }   // late or unsolicited: ignore
        inFlight[c] = nil
        providers[p]?.inFlight.remove(c)
        if valid {
            if !verified[c] { verified[c] = true; verifiedCount += 1 }
            if var st = providers[p] { st.window = min(config.maxWindow, st.window + 1); providers[p] = st }
            return []
        }
        var out = retry(c)
        if var st = providers[p] {
            st.strikes += 1
            st.window = max(1, st.window / 2)
            providers[p] = st
            if st.strikes >= config.maxStrikes {
                removeProvider(p)
                out.append(.dropProvider(p))
            }
        }
        return out
    }

    /// A request timed out or the provider answered with an error.
    public mutating func requestFailed(chunk c: Int, from p: Provider) -> [FetchSchedulerAction<Provider>] {
        guard inFlight[c] == p else { return [] }
        inFlight[c] = nil
        providers[p]?.inFlight.remove(c)
        if var st = providers[p] { st.window = max(1, st.window / 2); providers[p] = st }
        return retry(c)
    }

    private mutating func retry(_ c: Int) -> [FetchSchedulerAction<Provider>] {
        attempts[c, default: 0] += 1
        if attempts[c]! >= config.maxAttempts {
            failed = true
            return [.fail(chunk: c)]
        }
        pending.append(c)
        return []
    }
}
