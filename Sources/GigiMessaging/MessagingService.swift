// GigiMessaging: direct messages over `/gigi/dm/1.0.0` (DMWire.swift has the wire format),
// the persistent outbox, and contacts.
//
// Goals: a message is durable (LMDB, with its outbox record, in one transaction) before
// any delivery is tried; the receiver stores each id once, so retries — after timeouts,
// crashes, restarts — deliver exactly once from its point of view; per-conversation order
// is the order of the (monotonic UUIDv7) ids on both sides; memory is bounded whatever a
// remote peer does (admission limits, bounded sizes, bounded event buffers) and what
// the outbox holds in memory is ~100 bytes per undelivered message.
// Non-goals: group messages, end-to-end encryption on top of Noise, read receipts,
// delivery through third parties (store-and-forward relays).
//
// Delivery: each peer with undelivered messages gets one worker task while it is being
// tried. The worker opens one `/gigi/dm/2.0.0` session (MessagingSessions.swift) and
// pipelines the peer's outbox on it in id order, up to `sessionWindow` requests
// unanswered; a peer that only speaks `/gigi/dm/1.0.0` gets one stream per message, up to
// `window` in flight. The first transient failure stops the round and the peer is
// retried with exponential backoff (1 s doubling to 5 min), or at once when
// `peerReachable` is called (discovery, a new connection). Stores and acknowledgements are
// committed in shared LMDB transactions (`DMStoreWriter`), so one fsync covers everything
// that arrived meanwhile.
//
// Durability: `send` answers only after its message and outbox record are committed, and
// `delivered` only after the delivery record is committed; the receiver acknowledges only
// after storing. The network send of a new message does not wait for its own commit: its
// queued record is held back up to `queuedCommitDelay` to share the delivery record's
// transaction, and is always submitted before any other write about the message (the
// writer commits in submission order, so the delivery record can never land before it).
// A crash in between may leave the peer holding a message whose `send` never answered,
// never the reverse.

import GigiBase
import GigiStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import P2PCore
import P2PHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Settings of a `MessagingService`. Every default is usable as is.
public struct MessagingConfig: Sendable {
    /// An undelivered message expires (state `expired`, an event) after this long (issue #8: 7 days).
    public var outboxExpiry: TimeInterval = 7 * 24 * 3600
    /// How long `send` waits for the acknowledgement before it answers `.queued`
    /// (delivery goes on in the background).
    public var sendTimeout: Duration = .seconds(5)
    /// One delivery attempt: open the stream (dialling if needed), write, read the answer.
    public var attemptTimeout: Duration = .seconds(10)
    /// An inbound request must arrive completely within this.
    public var readTimeout: Duration = .seconds(10)
    /// Backoff between delivery rounds to a peer: base, doubling, capped.
    public var retryBase: TimeInterval = 1
    public var retryCap: TimeInterval = 300
    /// Requests in flight per peer to a peer that only speaks `/gigi/dm/1.0.0` (each on its
    /// own stream). Below the receiver's concurrent-stream limit (64) and Yamux's inbound
    /// stream limit (256).
    public var window = 32
    /// Requests unanswered on a `/gigi/dm/2.0.0` session (at most `DMWire.maxPipelinedRequests`
    /// are read by the receiver; more wait in flow control).
    public var sessionWindow = DMWire.maxPipelinedRequests
    /// A sender's session with nothing to send stays open this long for the next message.
    public var sessionLinger: Duration = .seconds(2)
    /// A receiver resets a session that sends nothing for this long between requests.
    public var sessionIdleTimeout: Duration = .seconds(60)
    /// Encoded requests of new messages kept in memory (all peers) so they go out without
    /// waiting for their commit or re-reading the store; beyond, they are read from the outbox.
    public var maxCachedPayloadBytes = 8 << 20
    /// A new message's queued record waits this long for the acknowledgement, to be
    /// committed in one transaction with the delivery record (one commit instead of two);
    /// without an answer by then it is committed on its own. `send` answers only after it
    /// is committed either way. Zero: commit at once.
    public var queuedCommitDelay: Duration = .milliseconds(100)
    /// Most undelivered messages in the outbox; `send` throws `outboxFull` beyond.
    public var maxOutbox = 100_000
    /// Undelivered events kept per `events` subscriber (the newest).
    public var eventBuffer = 4096
    /// How often the outbox is checked for expiry and due retries.
    public var maintenanceInterval: Duration = .seconds(1)
    /// How often timeouts (`sendTimeout`, `attemptTimeout`, `readTimeout`) are checked:
    /// they fire up to this much late.
    public var timeoutResolution: Duration = .milliseconds(50)
    /// Limits on inbound requests per remote peer.
    public var inbound = DMInboundLimitsConfig()

    public init() {}
}

/// Wall-clock time, injectable so tests can move it (expiry, backoff).
public protocol DMClock: Sendable {
    func now() -> Date
}

public struct DMSystemClock: DMClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A stored message as callers see it.
public struct DMInfo: Sendable, Hashable {
    /// 16-byte UUIDv7.
    public var id: [UInt8]
    /// The other peer of the conversation (sender of incoming, recipient of outgoing), as a peer ID string.
    public var peer: String
    public var direction: MessageDirection
    public var status: MessageStatus
    public var text: String
    /// The sender's clock.
    public var sentAt: Date
    /// Incoming: when stored here. Outgoing: when the peer stored it (its acknowledgement).
    public var receivedAt: Date?
    /// The sender's self-chosen nickname (incoming: untrusted; outgoing: ours).
    public var nickname: String?
    public var replyTo: [UInt8]?
    /// Why an outgoing message failed or expired, or why the last attempt failed.
    public var failure: String?
    /// Incoming and not yet marked read.
    public var unread: Bool

    public var idHex: String { Hex.encode(id) }

    /// `text` safe to print on a terminal: control characters other than newline and tab
    /// (escape sequences a peer could use to rewrite the screen) become U+FFFD.
    public var displayText: String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            scalar == "\n" || scalar == "\t" || scalar.properties.generalCategory != .control ? scalar : "\u{FFFD}"
        }))
    }

    init(peer: String, record r: MessageRecord, unread: Bool) {
        id = r.id
        self.peer = peer
        direction = r.direction
        status = r.status == .pending ? .queued : r.status
        text = r.body
        sentAt = r.sent
        receivedAt = r.received
        nickname = r.nickname
        replyTo = r.replyTo
        failure = r.failure
        self.unread = unread
    }
}

/// What `send` achieved within its timeout.
public enum DMSendResult: Sendable, Hashable {
    /// The peer acknowledged the message.
    case delivered(DMInfo)
    /// Stored in the outbox; delivery goes on (the reason the first try did not finish).
    case queued(DMInfo, reason: String)
    /// The peer refused it for good (e.g. `bad_request`); it left the outbox.
    case failed(DMInfo, reason: String)

    public var info: DMInfo {
        switch self {
        case .delivered(let i), .queued(let i, _), .failed(let i, _): return i
        }
    }
}

/// Messaging events, for the control API's subscription.
public enum DMEvent: Sendable, Hashable {
    case received(DMInfo)
    case delivered(DMInfo)
    case failed(DMInfo, reason: String)
    case expired(DMInfo)
    /// `send` returned `.queued` for this message.
    case queued(DMInfo, reason: String)
}

/// Direct messaging for one node: serves `/gigi/dm/1.0.0` and delivers the outbox.
public actor MessagingService {
    public nonisolated let host: P2PHost
    public nonisolated let store: Store
    public nonisolated let nickname: String?
    public nonisolated let config: MessagingConfig
    nonisolated let clock: any DMClock
    nonisolated let tables: DMTables
    nonisolated let writer: DMStoreWriter
    nonisolated let watchdog = DMWatchdog()
    nonisolated let logger = Logger(label: "gigi.dm")
    private nonisolated let subscribers = NIOLockedValueBox(Subscribers())
    private nonisolated let ownPeer: String
    /// Peer ID → its text (Base58 encoding shows up in profiles); cleared beyond 4096 entries.
    private nonisolated let peerNames = NIOLockedValueBox<[PeerID: String]>([:])

    private struct Subscribers: Sendable {
        var next: UInt64 = 0
        var all: [UInt64: AsyncStream<DMEvent>.Continuation] = [:]
        var finished = false
    }

    /// An undelivered message, as the outbox keeps it in memory.
    struct Ref: Sendable {
        let id: [UInt8]
        let key: MessageKey
        let expires: Date
    }

    struct DeferredWrite {
        let body: @Sendable (LMDBWriteTransaction) throws -> Void
        let ticket: DMWriteTicket<Void>
        let timer: UInt64
    }

    struct Waiter {
        let continuation: CheckedContinuation<DMSendResult, Never>
        let info: DMInfo
        let timer: UInt64
        /// Stays through failed delivery rounds (answered only by delivery, refusal, expiry or the timeout).
        let patient: Bool
    }

    /// One peer's outbox.
    struct PeerQueue {
        /// Id order; delivered entries are skipped (and dropped when a round restarts).
        var order: [Ref] = []
        var cursor = 0
        var live: [[UInt8]: Ref] = [:]
        var inFlight: Set<[UInt8]> = []
        /// Not yet committed by `send` (the worker waits at such an entry unless its payload is cached).
        var uncommitted: Set<[UInt8]> = []
        /// Encoded requests of new messages (see `maxCachedPayloadBytes`).
        var payloads: [[UInt8]: [UInt8]] = [:]
        /// Results that came before `send` saw its own commit (it returns them at once).
        var early: [[UInt8]: DMSendResult] = [:]
        /// Queued records held back to join the delivery record's transaction (`queuedCommitDelay`).
        var deferred: [[UInt8]: DeferredWrite] = [:]
        /// A session worker waiting for work; `workPending` records a wake-up while it was busy.
        var wake: CheckedContinuation<Void, Never>?
        var workPending = false
        var waiters: [[UInt8]: Waiter] = [:]
        var attempts = 0
        var nextAttempt = Date.distantPast
        var worker: Task<Void, Never>?
        var roundFailed: String?
        var lastError: String?
    }

    var running = false
    private var stopped = false
    private var idGenerator = DMMessageIDGenerator()
    var limits: DMInboundLimits
    var activeInbound = 0
    var queues: [PeerID: PeerQueue] = [:]
    private var outboxCount = 0
    private var cachedPayloadBytes = 0
    /// Peers whose last stream chose `/gigi/dm/1.0.0` (no sessions); cleared beyond 4096.
    var legacyPeers: Set<PeerID> = []
    private var maintenance: Task<Void, Never>?
    private var watchdogLoop: Task<Void, Never>?
    private var hostEvents: Task<Void, Never>?
    private var rejectionLog: [String: (count: Int, lastLogged: Date)] = [:]

    /// - Parameters:
    ///   - nickname: sent with every message (`nick`), as the user's display name.
    ///   - clock: wall clock (expiry, backoff, timestamps); the system clock when nil.
    public init(host: P2PHost, store: Store, nickname: String?, config: MessagingConfig = .init(),
                clock: (any DMClock)? = nil) throws {
        self.host = host
        self.store = store
        self.nickname = nickname.flatMap { Self.displayName($0) }
        self.config = config
        self.clock = clock ?? DMSystemClock()
        tables = try DMTables(store: store)
        writer = DMStoreWriter(store: store)
        limits = DMInboundLimits(config: config.inbound)
        ownPeer = host.peerID.description
    }

    // MARK: Lifecycle

    /// Registers the protocol handler, loads the outbox from the store and starts
    /// delivering it (everything pending is tried at once), and starts the maintenance loop.
    public func start() async throws {
        guard !running, !stopped else { return }
        let loaded: [(PeerID, [Ref])] = try store.read { txn in
            var byPeer: [String: [Ref]] = [:]
            try store.outbox.forEach(in: txn) { id, record in
                if id.count == DMWire.idLength,
                   let key = try? record.messageKey.withUnsafeBytes({ try MessageKey(keyBytes: $0) }) {
                    byPeer[record.recipient, default: []].append(Ref(id: id, key: key, expires: record.expires))
                }
                return true
            }
            return byPeer.compactMap { peer, refs in
                (try? PeerID(peer)).map { ($0, refs.sorted { Self.precedes($0.key, $1.key) }) }
            }
        }
        for (peer, refs) in loaded {
            var q = PeerQueue()
            q.order = refs
            for r in refs { q.live[r.id] = r }
            queues[peer] = q
            outboxCount += refs.count
        }
        running = true
        await host.setHandler(DMWire.protocolID) { [self] stream in await serveInbound(stream) }
        await host.setHandler(DMWire.sessionProtocolID) { [self] stream in await serveSession(stream) }
        let events = host.events
        hostEvents = Task { [self] in
            for await event in events {
                if case .connected(let connection) = event { peerReachable(connection.remotePeer) }
            }
        }
        watchdogLoop = Task.detached { [watchdog, interval = config.timeoutResolution] in
            await watchdog.run(every: interval)
        }
        maintenance = Task { [self, interval = config.maintenanceInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                await runMaintenance()
            }
        }
        if outboxCount > 0 { logger.info("outbox loaded", metadata: ["messages": "\(outboxCount)", "peers": "\(queues.count)"]) }
        for peer in queues.keys { kick(peer, force: true) }
    }

    /// Stops serving and delivering: removes the handler, ends the workers (undelivered
    /// messages stay in the outbox), answers waiting `send` calls with `.queued`, waits for
    /// inbound requests being stored, and finishes the event streams. The store stays open.
    public func stop() async {
        guard running else { stopped = true; return }
        running = false
        stopped = true
        await host.removeHandler(DMWire.protocolID)
        await host.removeHandler(DMWire.sessionProtocolID)
        maintenance?.cancel()
        hostEvents?.cancel()
        let workers = queues.values.compactMap(\.worker)
        for w in workers { w.cancel() }
        for peer in Array(queues.keys) {
            wakeWorker(peer)
            resolveWaiters(of: peer, reason: "messaging stopped")
        }
        // Ends every attempt and inbound read in progress (their streams are reset).
        watchdogLoop?.cancel()
        await watchdog.close()
        for w in workers { await w.value }
        for (peer, q) in queues where !q.deferred.isEmpty { flushDeferred(peer, Array(q.deferred.keys)) }
        // Every write submitted so far (a `send` waiting for its commit) finishes before the store may close.
        await writer.barrier()
        let clock = ContinuousClock()
        let deadline = clock.now + config.readTimeout + .seconds(1)
        while activeInbound > 0, clock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        let all = subscribers.withLockedValue { s -> [AsyncStream<DMEvent>.Continuation] in
            s.finished = true
            defer { s.all = [:] }
            return Array(s.all.values)
        }
        for c in all { c.finish() }
    }

    // MARK: Sending

    /// Stores `text` for `peer` (message queued + outbox record, one transaction), then
    /// tries to deliver it for up to `timeout` (default `config.sendTimeout`).
    ///
    /// By default a failed attempt (peer unreachable) answers `.queued` at once; with
    /// `waitThroughFailures` the call keeps waiting until the timeout, so a peer that
    /// shows up meanwhile (`peerReachable`) still gets it delivered within the call.
    /// Either way the message stays in the outbox until delivered, refused or expired.
    public func send(text: String, to peer: PeerID, replyTo: [UInt8]? = nil, timeout: Duration? = nil,
                     waitThroughFailures: Bool = false) async throws -> DMSendResult {
        guard running else { throw MessagingError.notRunning }
        guard !text.isEmpty else { throw MessagingError.emptyText }
        guard text.utf8.count <= DMWire.maxTextBytes else {
            throw MessagingError.textTooLong(bytes: text.utf8.count, limit: DMWire.maxTextBytes)
        }
        guard peer != host.peerID else { throw MessagingError.sendToSelf }
        if let replyTo, replyTo.count != DMWire.idLength { throw MessagingError.invalidReplyTo }
        guard outboxCount < config.maxOutbox else { throw MessagingError.outboxFull(limit: config.maxOutbox) }

        let now = clock.now()
        let id = idGenerator.next(milliseconds: now.dmMilliseconds)
        let ms = DMMessageIDGenerator.milliseconds(of: id)
        let request = DMRequest(id: id, text: text, sentAt: ms, nick: nickname, replyTo: replyTo)
        let payload = try DMWire.encode(request)
        let conversation = name(of: peer)
        let key = MessageKey(conversation: conversation, messageID: id)
        let record = MessageRecord(id: id, sender: ownPeer, direction: .outgoing, status: .queued, body: text,
                                   sent: Date(dmMilliseconds: ms), nickname: nickname, replyTo: replyTo)
        let expires = now.addingTimeInterval(config.outboxExpiry)
        let outboxRecord = OutboxRecord(recipient: conversation, messageKey: key, payload: payload,
                                        nextAttempt: now, expires: expires)
        let ref = Ref(id: id, key: key, expires: expires)
        // In the queue and submitted to the writer in one actor turn, so concurrent sends keep
        // id order and any later write about this message commits after this one. With its
        // payload cached the worker may send it before the commit finishes.
        outboxCount += 1
        queues[peer, default: PeerQueue()].order.append(ref)
        queues[peer]!.live[id] = ref
        queues[peer]!.uncommitted.insert(id)
        if cachedPayloadBytes + payload.count <= config.maxCachedPayloadBytes {
            queues[peer]!.payloads[id] = payload
            cachedPayloadBytes += payload.count
        }
        let store = self.store
        let write: @Sendable (LMDBWriteTransaction) throws -> Void = { txn in
            try store.messages.put(record, for: key, in: txn)
            try store.outbox.put(outboxRecord, for: id, in: txn)
        }
        let ticket = DMWriteTicket<Void>()
        if queues[peer]!.payloads[id] != nil, config.queuedCommitDelay > .zero {
            // Sent from the cached payload; committed with its result, or at the delay.
            let timer = watchdog.arm(after: config.queuedCommitDelay) { [self] in await flushDeferred(peer, [id]) }
            queues[peer]!.deferred[id] = DeferredWrite(body: write, ticket: ticket, timer: timer)
        } else {
            writer.submit(write, to: ticket)
        }
        kick(peer, force: true)
        do {
            try await ticket.value()
        } catch {
            queues[peer]?.uncommitted.remove(id)
            queues[peer]?.early.removeValue(forKey: id)
            removeFromOutbox(peer, id)
            kick(peer, force: false)
            throw error
        }
        queues[peer]?.uncommitted.remove(id)
        let info = DMInfo(peer: conversation, record: record, unread: false)
        if let early = queues[peer]?.early.removeValue(forKey: id) {
            if case .queued(let i, let reason) = early { emit(.queued(i, reason: reason)) }
            dropIfIdle(peer)
            return early
        }
        guard running, queues[peer]?.live[id] != nil else {
            return .queued(info, reason: "messaging stopped")
        }
        return await withCheckedContinuation { continuation in
            let timeout = timeout ?? config.sendTimeout
            let timer = watchdog.arm(after: timeout) { [self] in await timedOut(peer, id, info, after: timeout) }
            queues[peer]!.waiters[id] = Waiter(continuation: continuation, info: info, timer: timer,
                                               patient: waitThroughFailures)
            kick(peer, force: true)
        }
    }

    /// The node saw `peer` (a connection, a discovery announcement): deliver its outbox now.
    public func peerReachable(_ peer: PeerID) {
        legacyPeers.remove(peer)
        guard running, queues[peer] != nil else { return }
        queues[peer]!.attempts = 0
        queues[peer]!.nextAttempt = .distantPast
        kick(peer, force: true)
    }

    /// Expires overdue messages and starts due retries. Runs every `maintenanceInterval`;
    /// public so tests with an injected clock (and the daemon's own timers) can run it.
    public func runMaintenance() async {
        guard running else { return }
        let now = clock.now()
        var expired: [(PeerID, Ref)] = []
        for (peer, q) in queues {
            for ref in q.live.values where ref.expires <= now && !q.inFlight.contains(ref.id) && !q.uncommitted.contains(ref.id) {
                expired.append((peer, ref))
                queues[peer]!.inFlight.insert(ref.id)
            }
        }
        if !expired.isEmpty { await expire(expired) }
        for (peer, q) in queues where q.worker == nil && q.nextAttempt <= now { kick(peer, force: false) }
    }

    /// Undelivered messages in the outbox (all peers).
    public var outboxSize: Int { outboxCount }

    // MARK: Reading

    /// The last `limit` messages of the conversation with `peer` (a peer ID string) sent
    /// before `before`, oldest first.
    public nonisolated func messages(with peer: String, limit: Int = 50, before: Date? = nil) throws -> [DMInfo] {
        guard limit > 0 else { return [] }
        let lower = MessageKey(conversation: peer, milliseconds: 0, sequence: 0)
        let upper = MessageKey(conversation: peer, milliseconds: before?.dmMilliseconds ?? .max,
                               sequence: before == nil ? .max : 0)
        return try store.read { txn in
            var out: [DMInfo] = []
            try store.messages.forEach(in: txn, from: lower, to: upper, reverse: true) { key, record in
                guard key.conversation == peer else { return true }
                let unread = try record.direction == .incoming && tables.unread.contains(key, in: txn)
                out.append(DMInfo(peer: key.conversation, record: record, unread: unread))
                return out.count < limit
            }
            return out.reversed()
        }
    }

    /// Incoming messages of all conversations, newest first (only unread ones if asked).
    public nonisolated func inbox(unreadOnly: Bool, limit: Int = 100) throws -> [DMInfo] {
        guard limit > 0 else { return [] }
        return try store.read { txn in
            var out: [DMInfo] = []
            if unreadOnly {
                var keys: [MessageKey] = []
                try tables.unread.forEach(in: txn) { key, _ in keys.append(key); return true }
                keys.sort { Self.precedes($1, $0) }
                for key in keys.prefix(limit) {
                    if let record = try store.messages.get(key, in: txn) {
                        out.append(DMInfo(peer: key.conversation, record: record, unread: true))
                    }
                }
            } else {
                var all: [(MessageKey, MessageRecord)] = []
                try store.messages.forEach(in: txn) { key, record in
                    if record.direction == .incoming { all.append((key, record)) }
                    return true
                }
                all.sort { Self.precedes($1.0, $0.0) }
                for (key, record) in all.prefix(limit) {
                    out.append(DMInfo(peer: key.conversation, record: record,
                                      unread: try tables.unread.contains(key, in: txn)))
                }
            }
            return out
        }
    }

    /// Marks every incoming message from `peer` read; returns how many were unread.
    @discardableResult
    public nonisolated func markRead(peer: String) throws -> Int {
        let unread = tables.unread
        return try store.write { txn in
            var keys: [MessageKey] = []
            try unread.forEach(in: txn, prefix: MessageKey.prefix(conversation: peer)) { key, _ in
                if key.conversation == peer { keys.append(key) }
                return true
            }
            for key in keys { try unread.delete(key, in: txn) }
            return keys.count
        }
    }

    /// Messaging events from now on. Each access is a new subscription keeping at most
    /// `config.eventBuffer` undelivered events (the newest).
    public nonisolated var events: AsyncStream<DMEvent> {
        let (stream, continuation) = AsyncStream<DMEvent>.makeStream(bufferingPolicy: .bufferingNewest(config.eventBuffer))
        let key: UInt64? = subscribers.withLockedValue { s in
            guard !s.finished else { return nil }
            s.next += 1
            s.all[s.next] = continuation
            return s.next
        }
        guard let key else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [subscribers] _ in
            _ = subscribers.withLockedValue { $0.all.removeValue(forKey: key) }
        }
        return stream
    }

    nonisolated func emit(_ event: DMEvent) {
        let all = subscribers.withLockedValue { Array($0.all.values) }
        for c in all { c.yield(event) }
    }

    // MARK: Outbox workers

    /// Starts the peer's worker unless it runs, the queue is empty, its head awaits its
    /// commit, or (without `force`) the peer is in backoff.
    func kick(_ peer: PeerID, force: Bool) {
        guard running, var q = queues[peer] else { return }
        if q.worker != nil { return wakeWorker(peer) }
        if q.live.isEmpty {
            // (Not while a send still waits for its commit: its early answer is in the queue.)
            dropIfIdle(peer)
            return
        }
        guard force || q.nextAttempt <= clock.now() else { return }
        guard let next = q.order[q.cursor...].first(where: { q.live[$0.id] != nil && !q.inFlight.contains($0.id) }),
              !q.uncommitted.contains(next.id) || q.payloads[next.id] != nil else { return }
        q.roundFailed = nil
        q.worker = Task { [self] in await runWorker(peer) }
        queues[peer] = q
    }

    /// The next message to send to `peer`, in id order; nil at the end, after a failure in
    /// this round, or at a message whose commit is still running.
    private func nextToSend(_ peer: PeerID) -> Ref? {
        nextBatch(peer, max: 1).first?.0
    }

    private nonisolated func runWorker(_ peer: PeerID) async {
        if await host.connections(to: peer).isEmpty, await host.addresses(for: peer).isEmpty {
            let known = (try? ContactBook(store: store).addresses(for: peer)) ?? []
            if !known.isEmpty { await host.addAddresses(known, for: peer) }
        }
        // The stream that found the peer speaks only 1.0.0 carries the first message.
        var first: P2PStream?
        if await !isLegacy(peer) {
            switch await openSession(to: peer) {
            case .session(let stream):
                await runSession(peer, stream)
                return await workerFinished(peer)
            case .legacy(let stream):
                first = stream
            case .failed(let reason):
                await roundFailed(peer, reason)
                return await workerFinished(peer)
            }
        }
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            while true {
                while inFlight < config.window, let ref = await nextToSend(peer) {
                    let stream = first
                    first = nil
                    group.addTask { [self] in await deliver(ref, to: peer, on: stream) }
                    inFlight += 1
                }
                if inFlight == 0 { break }
                await group.next()
                inFlight -= 1
            }
        }
        await first?.reset()
        await workerFinished(peer)
    }

    func workerFinished(_ peer: PeerID) {
        // No answer can come now for what waits to join one: commit it on its own.
        if let held = queues[peer]?.deferred.keys, !held.isEmpty { flushDeferred(peer, Array(held)) }
        guard var q = queues[peer] else { return }
        q.worker = nil
        q.wake = nil
        q.workPending = false
        q.order = q.order.filter { q.live[$0.id] != nil }
        q.cursor = 0
        let failure = q.roundFailed
        if let failure {
            q.attempts += 1
            let delay = min(config.retryCap, config.retryBase * Double(1 << min(q.attempts - 1, 30)))
            q.nextAttempt = clock.now().addingTimeInterval(delay * Double.random(in: 0.8...1.0))
            q.lastError = failure
            q.roundFailed = nil
        } else {
            q.attempts = 0
            q.nextAttempt = .distantPast
        }
        queues[peer] = q
        if let failure {
            resolveWaiters(of: peer, reason: failure, includingPatient: false)
            logger.debug("delivery round failed", metadata: ["peer": "\(peer)", "reason": "\(failure)",
                                                             "queued": "\(q.live.count)"])
        } else {
            kick(peer, force: false)
        }
    }

    enum Outcome: Sendable {
        case delivered(receivedAt: UInt64)
        case refused(DMWire.ErrorCode)
        case transient(String, written: Bool)
        case gone
    }

    /// One attempt for one message: open a stream, write the request, read the answer,
    /// then commit the result.
    private nonisolated func deliver(_ ref: Ref, to peer: PeerID, on opened: P2PStream? = nil) async {
        let outcome = await attempt(ref, to: peer, payload: await cachedPayload(peer, ref.id), on: opened)
        await flushDeferred(peer, [ref.id])
        let store = self.store
        let record: MessageRecord?
        do {
            if case .gone = outcome {
                record = nil
            } else {
                record = try await writer.perform { txn in try Self.record(outcome, of: ref, in: txn, store: store) }
            }
        } catch {
            logger.error("could not record a delivery result", metadata: ["peer": "\(peer)", "error": "\(error)"])
            await attemptFinished(peer, ref, .transient("database error: \(error)", written: false), record: nil)
            return
        }
        await attemptFinished(peer, ref, outcome, record: record)
    }

    /// Writes what an attempt achieved (in a writer transaction); returns the message's record.
    static func record(_ outcome: Outcome, of ref: Ref, in txn: LMDBWriteTransaction, store: Store) throws -> MessageRecord? {
        let key = ref.key, id = ref.id
        switch outcome {
        case .delivered(let receivedAt):
            var r = try store.messages.get(key, in: txn)
            if r != nil {
                r!.status = .delivered
                r!.received = Date(dmMilliseconds: receivedAt)
                r!.failure = nil
                try store.messages.put(r!, for: key, in: txn)
            }
            try store.outbox.delete(id, in: txn)
            return r
        case .refused(let code):
            var r = try store.messages.get(key, in: txn)
            if r != nil {
                r!.status = .failed
                r!.failure = "the peer refused it: \(code.rawValue)"
                try store.messages.put(r!, for: key, in: txn)
            }
            try store.outbox.delete(id, in: txn)
            return r
        case .transient(let reason, let written):
            guard var o = try store.outbox.get(id, in: txn) else { return nil }
            o.attempts += 1
            o.lastError = reason
            try store.outbox.put(o, for: id, in: txn)
            var r = try store.messages.get(key, in: txn)
            if written, r != nil, r!.status != .sent {
                r!.status = .sent
                try store.messages.put(r!, for: key, in: txn)
            }
            return r
        case .gone:
            return nil
        }
    }

    /// - Parameter opened: a stream already negotiated for `/gigi/dm/1.0.0` (else one is opened).
    private nonisolated func attempt(_ ref: Ref, to peer: PeerID, payload cached: [UInt8]?,
                                     on opened: P2PStream?) async -> Outcome {
        let payload: [UInt8]
        if let cached {
            payload = cached
        } else {
            do {
                guard let record = try store.read({ txn in try store.outbox.get(ref.id, in: txn) }) else { return .gone }
                payload = record.payload
            } catch {
                return .transient("database error: \(error)", written: false)
            }
        }
        // On timeout (or stop) the watchdog resets the stream, which ends the stream
        // operations; a dial in progress ends by the host's own dial and upgrade timeouts.
        let stream = NIOLockedValueBox<(stream: P2PStream?, timedOut: Bool)>((nil, false))
        let timer = watchdog.arm(after: config.attemptTimeout) {
            let s = stream.withLockedValue { v -> P2PStream? in v.timedOut = true; return v.stream }
            await s?.reset()
        }
        defer { watchdog.disarm(timer) }
        var written = false
        do {
            let s: P2PStream
            if let opened { s = opened } else { s = try await host.newStream(to: peer, protocols: [DMWire.protocolID]) }
            if stream.withLockedValue({ v -> Bool in v.stream = s; return v.timedOut }) {
                await s.reset()
                throw DMTimeoutError(what: "delivery")
            }
            try await s.writeLengthPrefixed(payload)
            written = true
            try await s.closeWrite()
            guard let buffer = try await s.readLengthPrefixed(maxSize: DMWire.maxAnswerSize) else {
                throw DMWireError("the peer closed the stream without an answer")
            }
            return Self.outcome(of: Array(buffer.readableBytesView), for: ref)
        } catch {
            let (s, timedOut) = stream.withLockedValue { ($0.stream, $0.timedOut) }
            await s?.reset()
            let reason: String
            if timedOut {
                reason = "no answer within \(config.attemptTimeout)"
            } else if let e = error as? any UserFacingError {
                reason = e.message
            } else {
                reason = "\(error)"
            }
            return .transient(reason, written: written)
        }
    }

    func attemptFinished(_ peer: PeerID, _ ref: Ref, _ outcome: Outcome, record: MessageRecord?) {
        guard queues[peer] != nil else { return }
        queues[peer]!.inFlight.remove(ref.id)
        let info = record.map { DMInfo(peer: name(of: peer), record: $0, unread: false) }
        switch outcome {
        case .delivered:
            removeFromOutbox(peer, ref.id)
            if let info {
                answer(peer, ref.id, .delivered(info))
                emit(.delivered(info))
            }
        case .refused(let code):
            removeFromOutbox(peer, ref.id)
            logger.notice("message refused by the peer", metadata: ["peer": "\(peer)", "error": "\(code.rawValue)"])
            if let info {
                answer(peer, ref.id, .failed(info, reason: code.rawValue))
                emit(.failed(info, reason: "the peer refused it: \(code.rawValue)"))
            }
        case .transient(let reason, _):
            if queues[peer]!.roundFailed == nil { queues[peer]!.roundFailed = reason }
        case .gone:
            removeFromOutbox(peer, ref.id)
        }
    }

    private func removeFromOutbox(_ peer: PeerID, _ id: [UInt8]) {
        if queues[peer]?.live.removeValue(forKey: id) != nil { outboxCount -= 1 }
        if let p = queues[peer]?.payloads.removeValue(forKey: id) { cachedPayloadBytes -= p.count }
    }

    /// Submits the held-back queued records of these messages (before any later write about
    /// them: the writer commits in submission order).
    func flushDeferred(_ peer: PeerID, _ ids: [[UInt8]]) {
        for id in ids {
            guard let d = queues[peer]?.deferred.removeValue(forKey: id) else { continue }
            watchdog.disarm(d.timer)
            writer.submit(d.body, to: d.ticket)
        }
    }

    /// The cached encoded request of message `id`, if any.
    func cachedPayload(_ peer: PeerID, _ id: [UInt8]) -> [UInt8]? {
        queues[peer]?.payloads[id]
    }

    /// Answers `send`'s waiter, or keeps the result for a `send` still waiting for its commit.
    private func answer(_ peer: PeerID, _ id: [UInt8], _ result: DMSendResult) {
        if queues[peer]?.uncommitted.contains(id) == true {
            queues[peer]!.early[id] = result
        } else {
            resolveWaiter(peer, id, result)
        }
    }

    /// Forgets an idle peer's queue.
    private func dropIfIdle(_ peer: PeerID) {
        if let q = queues[peer], q.live.isEmpty, q.worker == nil, q.waiters.isEmpty, q.uncommitted.isEmpty {
            queues[peer] = nil
        }
    }

    /// Ends the current round (first failure wins).
    func roundFailed(_ peer: PeerID, _ reason: String) {
        if queues[peer] != nil, queues[peer]!.roundFailed == nil { queues[peer]!.roundFailed = reason }
    }

    func isLegacy(_ peer: PeerID) -> Bool { legacyPeers.contains(peer) }

    func markLegacy(_ peer: PeerID, _ legacy: Bool) {
        if legacy {
            if legacyPeers.count >= 4096 { legacyPeers.removeAll() }
            legacyPeers.insert(peer)
        } else {
            legacyPeers.remove(peer)
        }
    }

    /// Wakes the peer's session worker if it waits for work (or tells it there is some).
    func wakeWorker(_ peer: PeerID) {
        guard queues[peer] != nil else { return }
        if let c = queues[peer]!.wake {
            queues[peer]!.wake = nil
            c.resume()
        } else {
            queues[peer]!.workPending = true
        }
    }

    /// Waits until `wakeWorker` is called (returns at once if it was since the last wait).
    func waitForWork(_ peer: PeerID) async {
        guard running, queues[peer] != nil else { return }
        if queues[peer]!.workPending {
            queues[peer]!.workPending = false
            return
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            queues[peer]!.wake = c
        }
    }

    /// Up to `max` next messages for `peer`'s session, in id order, marked in flight, with
    /// their cached payloads; empty when there is nothing to send now or the round failed.
    func nextBatch(_ peer: PeerID, max: Int) -> [(Ref, [UInt8]?)] {
        var out: [(Ref, [UInt8]?)] = []
        guard running, queues[peer]?.roundFailed == nil else { return out }
        // In place (`queues[peer]!`): a copy of the queue would copy its sets on every change.
        queues[peer]!.workPending = false
        while out.count < max, queues[peer]!.cursor < queues[peer]!.order.count {
            let ref = queues[peer]!.order[queues[peer]!.cursor]
            if queues[peer]!.live[ref.id] == nil || queues[peer]!.inFlight.contains(ref.id) {
                queues[peer]!.cursor += 1
                continue
            }
            let payload = queues[peer]!.payloads[ref.id]
            if payload == nil, queues[peer]!.uncommitted.contains(ref.id) { break }
            queues[peer]!.cursor += 1
            queues[peer]!.inFlight.insert(ref.id)
            out.append((ref, payload))
        }
        // A session that never idles never ends its round: drop what was delivered before the
        // cursor (what is still live stays, for the next round to retry) so `order` stays bounded.
        if queues[peer]!.cursor >= 4096 {
            let q = queues[peer]!
            let kept = q.order[..<q.cursor].filter { q.live[$0.id] != nil }
            queues[peer]!.order = kept + q.order[q.cursor...]
            queues[peer]!.cursor = kept.count
        }
        return out
    }

    /// Whether the peer's worker should stop: stopping, or the round failed.
    func roundOver(_ peer: PeerID) -> Bool {
        !running || queues[peer]?.roundFailed != nil
    }

    private func expire(_ refs: [(PeerID, Ref)]) async {
        let store = self.store
        let items = refs
        let records: [MessageRecord?]
        do {
            records = try await writer.perform { txn in
                try items.map { _, ref in
                    try store.outbox.delete(ref.id, in: txn)
                    guard var r = try store.messages.get(ref.key, in: txn) else { return nil }
                    r.status = .expired
                    r.failure = "not delivered before the outbox expiry"
                    try store.messages.put(r, for: ref.key, in: txn)
                    return r
                }
            }
        } catch {
            logger.error("could not expire outbox messages", metadata: ["error": "\(error)"])
            for (peer, ref) in refs { queues[peer]?.inFlight.remove(ref.id) }
            return
        }
        for ((peer, ref), record) in zip(refs, records) {
            queues[peer]?.inFlight.remove(ref.id)
            removeFromOutbox(peer, ref.id)
            guard let record else { continue }
            let info = DMInfo(peer: name(of: peer), record: record, unread: false)
            answer(peer, ref.id, .queued(info, reason: "expired"))
            emit(.expired(info))
        }
        logger.info("outbox messages expired", metadata: ["count": "\(refs.count)"])
    }

    private func resolveWaiter(_ peer: PeerID, _ id: [UInt8], _ result: DMSendResult) {
        guard let waiter = queues[peer]?.waiters.removeValue(forKey: id) else { return }
        watchdog.disarm(waiter.timer)
        if case .queued(let info, let reason) = result { emit(.queued(info, reason: reason)) }
        waiter.continuation.resume(returning: result)
        dropIfIdle(peer)
    }

    /// Answers the peer's waiting `send` calls with `.queued` (all of them, or the impatient ones).
    private func resolveWaiters(of peer: PeerID, reason: String, includingPatient: Bool = true) {
        guard let waiters = queues[peer]?.waiters else { return }
        for (id, w) in waiters where includingPatient || !w.patient {
            resolveWaiter(peer, id, .queued(w.info, reason: reason))
        }
    }

    private func timedOut(_ peer: PeerID, _ id: [UInt8], _ info: DMInfo, after timeout: Duration) {
        var reason = "no acknowledgement within \(timeout)"
        if let last = queues[peer]?.lastError { reason += " (last attempt: \(last))" }
        resolveWaiter(peer, id, .queued(info, reason: reason))
    }

    // MARK: Inbound

    enum Admission { case admitted, refused(String), notRunning, rateLimited }

    private func admit(_ peer: String) -> Admission {
        guard running else { return .notRunning }
        let now = clock.now().timeIntervalSince1970
        switch limits.admitStream(peer, now: now) {
        case .admitted: break
        case .tooManyStreams: return .refused("more than \(config.inbound.maxConcurrentStreamsPerPeer) concurrent streams")
        case .tooManyPeers: return .refused("too many peers sending at once")
        case .rateLimited: return .rateLimited
        }
        guard limits.takeToken(peer, now: now) else {
            limits.releaseStream(peer)
            return .rateLimited
        }
        activeInbound += 1
        return .admitted
    }

    private func release(_ peer: String) {
        limits.releaseStream(peer)
        activeInbound -= 1
    }

    /// Logs a refusal of `peer`'s request; a flood is logged once per 5 seconds with a count.
    func noteRejection(_ peer: String, _ reason: String, count: Int = 1) {
        let key = peer + " " + reason
        let now = clock.now()
        var entry = rejectionLog[key] ?? (0, .distantPast)
        entry.count += count
        if now.timeIntervalSince(entry.lastLogged) >= 5 {
            logger.notice("refused a direct message", metadata: [
                "peer": "\(peer)", "reason": "\(reason)", "count": "\(entry.count)"])
            entry = (0, now)
        }
        rejectionLog[key] = entry
        if rejectionLog.count > 1024 { rejectionLog = rejectionLog.filter { now.timeIntervalSince($0.value.lastLogged) < 5 } }
    }

    private nonisolated func serveInbound(_ stream: P2PStream) async {
        let peer = name(of: stream.remotePeer)
        switch await admit(peer) {
        case .admitted: break
        case .notRunning:
            await stream.reset()
            return
        case .refused(let reason):
            await noteRejection(peer, reason)
            await stream.reset()
            return
        case .rateLimited:
            await noteRejection(peer, "rate_limited")
            try? await stream.writeLengthPrefixed(DMWire.encode(.refused(id: [], .rateLimited)))
            try? await stream.closeWrite()
            return
        }
        let answer = await answerRequest(on: stream, from: peer)
        // The slot is free before the answer goes out: a sender that opens its next stream
        // as soon as it reads the answer must find it free. (Released after the answer, the
        // release could lag behind that next stream under load, and a sender using its whole
        // window was then refused with a reset: "The peer aborted the stream".)
        await release(peer)
        if let answer {
            do {
                try await stream.writeLengthPrefixed(DMWire.encode(answer))
                try await stream.closeWrite()
            } catch {
                await stream.reset()
            }
        } else {
            await stream.reset()
        }
    }

    /// Reads, checks and stores one request; nil = no answer possible (reset the stream).
    private nonisolated func answerRequest(on stream: P2PStream, from peer: String) async -> DMAnswer? {
        let bytes: [UInt8]
        let timer = watchdog.arm(after: config.readTimeout) { await stream.reset() }
        do {
            let buffer = try await stream.readLengthPrefixed(maxSize: DMWire.maxRequestSize)
            guard watchdog.disarm(timer) else {
                await noteRejection(peer, "the request did not arrive within \(config.readTimeout)")
                return nil
            }
            guard let buffer else {
                await noteRejection(peer, "stream closed without a request")
                return nil
            }
            bytes = Array(buffer.readableBytesView)
        } catch P2PStreamError.messageTooLarge(let size) {
            watchdog.disarm(timer)
            await noteRejection(peer, "too_large: a request of \(size) bytes (limit \(DMWire.maxRequestSize))")
            return .refused(id: [], .tooLarge)
        } catch {
            let reason = watchdog.disarm(timer) ? "reading the request failed: \(error)"
                : "the request did not arrive within \(config.readTimeout)"
            await noteRejection(peer, reason)
            return nil
        }
        let request: DMRequest
        do { request = try DMWire.decodeRequest(bytes) } catch {
            await noteRejection(peer, error.description)
            return error.answer
        }
        do {
            return try await storeIncoming(request, from: peer)
        } catch {
            logger.error("could not store a direct message", metadata: ["peer": "\(peer)", "error": "\(error)"])
            return nil
        }
    }

    nonisolated func storeIncoming(_ request: DMRequest, from peer: String) async throws -> DMAnswer {
        let (key, record) = incomingRecord(request, from: peer, now: clock.now())
        let store = self.store
        let unread = tables.unread
        let (isNew, receivedAt) = try await writer.perform { txn in
            try Self.storeOnce(record, key: key, in: txn, store: store, unread: unread)
        }
        if isNew { emit(.received(DMInfo(peer: peer, record: record, unread: true))) }
        return .acknowledged(id: request.id, receivedAt: receivedAt.dmMilliseconds)
    }

    /// The stored form of an incoming request.
    nonisolated func incomingRecord(_ request: DMRequest, from peer: String, now: Date) -> (MessageKey, MessageRecord) {
        (MessageKey(conversation: peer, messageID: request.id),
         MessageRecord(id: request.id, sender: peer, direction: .incoming, status: .received,
                       body: request.text, sent: Date(dmMilliseconds: request.sentAt), received: now,
                       nickname: request.nick.flatMap { Self.displayName($0) }, replyTo: request.replyTo))
    }

    /// Stores an incoming message unless its key is already there (a retry); returns whether
    /// it is new and its `received_at`.
    static func storeOnce(_ record: MessageRecord, key: MessageKey, in txn: LMDBWriteTransaction, store: Store,
                          unread: StoreTable<MessageKey, [UInt8]>) throws -> (Bool, Date) {
        if let existing = try store.messages.get(key, in: txn) {
            return (false, existing.received ?? existing.sent)
        }
        try store.messages.put(record, for: key, in: txn)
        try unread.put(record.id, for: key, in: txn)
        return (true, record.received ?? record.sent)
    }

    // MARK: Helpers

    nonisolated func name(of peer: PeerID) -> String {
        if let known = peerNames.withLockedValue({ $0[peer] }) { return known }
        let text = peer.description
        peerNames.withLockedValue { names in
            if names.count >= 4096 { names.removeAll(keepingCapacity: true) }
            names[peer] = text
        }
        return text
    }

    /// Key order within a conversation (milliseconds, then sequence).
    static func precedes(_ a: MessageKey, _ b: MessageKey) -> Bool {
        (a.milliseconds, a.sequence) < (b.milliseconds, b.sequence)
    }

    /// A nickname fit for display: control characters dropped, at most 64 characters; nil if empty.
    static func displayName(_ raw: String) -> String? {
        let cleaned = String(String.UnicodeScalarView(raw.unicodeScalars.filter { $0.properties.generalCategory != .control }))
        let cut = String(cleaned.prefix(64))
        return cut.isEmpty ? nil : cut
    }
}
