// The fetcher's pull scheduler: which chunk to request next, from which
// provider, how many in flight, what to retry. A pure state machine over
// global chunk numbers (all files of a manifest, in order); no I/O, no clock.
//
// Window per provider, in bytes: starts at `initialWindow` full chunks' worth,
// grows by a chunk's cost on each good chunk up to `maxWindow` full chunks'
// worth, halves on a timeout or error (AIMD). A request costs its chunk's
// length, at least 1/`minCostDivisor` of a full chunk: a share of small files
// keeps hundreds of requests in flight (not a dozen, one round trip each),
// while the count stays bounded. A chunk whose
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
    /// A request costs at least chunkSize / minCostDivisor of the window (so at most
    /// maxWindow × minCostDivisor requests are in flight per provider).
    public var minCostDivisor = 32
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
        var window: Int             // in cost units (bytes)
        var inFlight: Set<Int> = []
        var inFlightCost = 0
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
    private let chunkSize: Int
    private let length: @Sendable (Int) -> Int
    private var maxWindowCost: Int { config.maxWindow * chunkSize }

    /// `verified` holds chunks already present (resume, local reuse); `length` gives
    /// chunk c's length, at most `chunkSize` (the defaults count requests, not bytes).
    public init(verified: ChunkBitmap, config: FetchSchedulerConfig = .init(), chunkSize: Int = 1,
                length: @escaping @Sendable (Int) -> Int = { _ in 1 }) {
        self.config = config
        self.chunkSize = max(1, chunkSize)
        self.length = length
        self.verified = verified
        self.verifiedCount = verified.setCount
        self.pending = (0..<verified.count).reversed().filter { !verified[$0] }
    }

    public var isComplete: Bool { verifiedCount == verified.count }
    public var inFlightCount: Int { inFlight.count }
    /// The provider's window in full chunks (rounded down).
    public func window(of p: Provider) -> Int? { providers[p].map { $0.window / chunkSize } }

    /// What requesting chunk `c` takes of a window.
    public func cost(_ c: Int) -> Int { max(length(c), max(1, chunkSize / max(1, config.minCostDivisor))) }

    public mutating func addProvider(_ p: Provider) {
        guard providers[p] == nil else { return }
        providers[p] = ProviderState(window: config.initialWindow * chunkSize)
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
                guard var st = providers[p], st.inFlightCost < st.window, let c = pending.popLast() else { continue }
                if verified[c] { progress = true; continue }
                st.inFlight.insert(c)
                st.inFlightCost += cost(c)
                providers[p] = st
                inFlight[c] = p
                out.append(.request(chunk: c, from: p))
                progress = true
            }
        }
        return out
    }

    /// Chunks to request from `p` now, costing at most `budget` in all, within its
    /// window (for a fetcher that drives each provider's streams separately).
    public mutating func nextRequests(for p: Provider, budget: Int) -> [Int] {
        guard !failed, var st = providers[p] else { return [] }
        var out: [Int] = [], spent = 0
        while let c = pending.last, spent < budget, st.inFlightCost < st.window {
            pending.removeLast()
            if verified[c] { continue }
            spent += cost(c)
            st.inFlight.insert(c)
            st.inFlightCost += cost(c)
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
        landed(c, from: p)
        if valid {
            if !verified[c] { verified[c] = true; verifiedCount += 1 }
            if var st = providers[p] { st.window = min(maxWindowCost, st.window + cost(c)); providers[p] = st }
            return []
        }
        var out = retry(c)
        if var st = providers[p] {
            st.strikes += 1
            st.window = max(chunkSize, st.window / 2)
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
        landed(c, from: p)
        if var st = providers[p] { st.window = max(chunkSize, st.window / 2); providers[p] = st }
        return retry(c)
    }

    private mutating func landed(_ c: Int, from p: Provider) {
        guard var st = providers[p], st.inFlight.remove(c) != nil else { return }
        st.inFlightCost -= cost(c)
        providers[p] = st
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
