// `/gigi/dm/2.0.0` sessions (DMWire.swift has the format): many pipelined requests per
// stream, answered in order.
//
// Sender (one session per peer worker): one task writes the next messages in id order as
// long as fewer than `sessionWindow` are unanswered (each batch of messages is one
// write); another reads the answers, matches them to the written messages in order,
// submits their results to the group-committing writer and, once committed, answers the
// `send` calls. A message counts against the window until its result is committed, which
// bounds what the sender holds. With nothing to send the session lingers
// (`sessionLinger`) for the next message, then half-closes.
//
// Receiver: one task reads requests and submits everything it has read to the writer at
// once (one transaction; the previous batch may still be committing); another waits for
// each batch's commit in order and writes its answers. At most
// `DMWire.maxPipelinedRequests` / `maxPipelinedBytes` requests are unanswered; beyond,
// the receiver stops reading and Yamux flow control holds the sender back. Rate limits
// (the per-peer token bucket) answer `rate_limited` without decoding the request.

import GigiBase
import GigiStore
import NIOConcurrencyHelpers
import NIOCore
import P2PCore
import P2PHost

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Arms the sender's "no answer" deadline while requests are unanswered.
final class DMSessionProgress: Sendable {
    private struct State: Sendable {
        var outstanding = 0
        var timer: UInt64?
        var timedOut = false
    }

    private let state = NIOLockedValueBox(State())
    private let watchdog: DMWatchdog
    private let timeout: Duration
    private let stream: P2PStream

    init(watchdog: DMWatchdog, timeout: Duration, stream: P2PStream) {
        self.watchdog = watchdog
        self.timeout = timeout
        self.stream = stream
    }

    /// `n` more requests are unanswered: start the deadline if none ran.
    func sent(_ n: Int) {
        let arm = state.withLockedValue { s -> Bool in
            s.outstanding += n
            return s.timer == nil && s.outstanding > 0
        }
        if arm { rearm() }
    }

    /// `n` answers came: the deadline starts again for the rest (or stops).
    func answered(_ n: Int) {
        let old = state.withLockedValue { s -> UInt64? in
            s.outstanding -= n
            defer { s.timer = nil }
            return s.timer
        }
        if let old { watchdog.disarm(old) }
        rearm()
    }

    private func rearm() {
        let token = watchdog.arm(after: timeout) { [state, stream] in
            state.withLockedValue { $0.timedOut = true }
            await stream.reset()
        }
        let keep = state.withLockedValue { s -> Bool in
            guard s.outstanding > 0, s.timer == nil else { return false }
            s.timer = token
            return true
        }
        if !keep { watchdog.disarm(token) }
    }

    func stop() {
        if let t = state.withLockedValue({ s -> UInt64? in defer { s.timer = nil }; return s.timer }) { watchdog.disarm(t) }
    }

    var timedOut: Bool { state.withLockedValue { $0.timedOut } }
}

/// Requests a receiver read together, in order, and what to answer each.
struct DMInboundBatch: Sendable {
    enum Slot: Sendable {
        /// The i-th stored request (its answer comes from the commit).
        case stored(Int)
        case answer(DMAnswer)
    }

    var slots: [Slot] = []
    var records: [(key: MessageKey, record: MessageRecord)] = []
    var ticket: DMWriteTicket<[(Bool, Date)]>?
    var bytes = 0
    /// Answer, then end the session (a request too large to read).
    var endAfter = false
}

extension MessagingService {
    enum SessionOpening: Sendable {
        case session(P2PStream)
        /// The peer chose `/gigi/dm/1.0.0` (the stream is open, nothing written).
        case legacy(P2PStream)
        case failed(String)
    }

    // MARK: Sender

    nonisolated func openSession(to peer: PeerID) async -> SessionOpening {
        do {
            let stream = try await host.newStream(to: peer, protocols: [DMWire.sessionProtocolID, DMWire.protocolID])
            guard stream.protocolID == DMWire.sessionProtocolID else {
                await markLegacy(peer, true)
                return .legacy(stream)
            }
            return .session(stream)
        } catch {
            return .failed(Self.describe(error))
        }
    }

    static func describe(_ error: any Error) -> String {
        (error as? any UserFacingError)?.message ?? "\(error)"
    }

    /// One delivery round on a session: until nothing is left to send (after the linger),
    /// the round fails, or the service stops.
    nonisolated func runSession(_ peer: PeerID, _ stream: P2PStream) async {
        let window = max(1, min(config.sessionWindow, DMWire.maxPipelinedRequests))
        let inflight = DMBoundedQueue<Ref>(maxCount: window)
        let progress = DMSessionProgress(watchdog: watchdog, timeout: config.attemptTimeout, stream: stream)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in await receiveAnswers(peer, stream, inflight, progress) }
            await sendRequests(peer, stream, inflight, progress)
            await group.waitForAll()
        }
        progress.stop()
    }

    private nonisolated func sendRequests(_ peer: PeerID, _ stream: P2PStream, _ inflight: DMBoundedQueue<Ref>,
                                          _ progress: DMSessionProgress) async {
        let clock = ContinuousClock()
        var idleSince: ContinuousClock.Instant?
        var lingerTimer: UInt64?
        while true {
            await inflight.waitForSpace()
            let space = inflight.space.count
            if space <= 0 { break }
            let batch = await nextBatch(peer, max: space)
            if batch.isEmpty {
                if await roundOver(peer) { break }
                if inflight.isIdle {
                    if let since = idleSince {
                        if clock.now - since >= config.sessionLinger { break }
                    } else {
                        idleSince = clock.now
                        lingerTimer = watchdog.arm(after: config.sessionLinger) { [self] in await wakeWorker(peer) }
                    }
                } else {
                    idleSince = nil
                }
                await waitForWork(peer)
                continue
            }
            idleSince = nil
            if let t = lingerTimer { watchdog.disarm(t); lingerTimer = nil }

            // Messages from an earlier run (or beyond the cache) are read from the outbox.
            var stored: [[UInt8]: [UInt8]] = [:]
            let uncached = batch.filter { $0.1 == nil }.map(\.0.id)
            if !uncached.isEmpty {
                stored = (try? store.read { txn in
                    var out: [[UInt8]: [UInt8]] = [:]
                    for id in uncached { if let o = try store.outbox.get(id, in: txn) { out[id] = o.payload } }
                    return out
                }) ?? [:]
            }
            var buffer = ByteBuffer()
            var refs: [Ref] = []
            var gone: [Ref] = []
            for (ref, cached) in batch {
                guard let payload = cached ?? stored[ref.id] else { gone.append(ref); continue }
                DMWire.appendFrame(payload, to: &buffer)
                refs.append(ref)
            }
            var notSent: [Ref] = []
            for ref in refs where !inflight.push(ref) { notSent.append(ref) }
            if !notSent.isEmpty { await flushDeferred(peer, notSent.map(\.id)) }
            if !gone.isEmpty || !notSent.isEmpty {
                await attemptsFinished(peer, gone.map { ($0, .gone) } + notSent.map { ($0, .transient("the session ended", written: false)) },
                                       records: Array(repeating: nil, count: gone.count + notSent.count))
            }
            if !notSent.isEmpty { break }
            progress.sent(refs.count)
            do {
                try await stream.write(buffer)
            } catch {
                await stream.reset()
                break
            }
        }
        if let t = lingerTimer { watchdog.disarm(t) }
        try? await stream.closeWrite()
    }

    private nonisolated func receiveAnswers(_ peer: PeerID, _ stream: P2PStream, _ inflight: DMBoundedQueue<Ref>,
                                            _ progress: DMSessionProgress) async {
        let store = self.store
        var buffer = ByteBuffer()
        var endReason = "the peer ended the session"
        await withTaskGroup(of: Void.self) { commits in
            reading: while true {
                let chunk: ByteBuffer?
                do {
                    chunk = try await stream.read(upTo: 64 << 10)
                } catch {
                    endReason = progress.timedOut ? "no answer within \(config.attemptTimeout)" : Self.describe(error)
                    break
                }
                guard var chunk else { break }
                buffer.writeBuffer(&chunk)
                var results: [(Ref, Outcome)] = []
                var broken: String?
                while let frame = DMWire.nextFrame(&buffer, maxSize: DMWire.maxAnswerSize) {
                    guard case .message(let bytes) = frame else { broken = "the peer sent a malformed answer"; break }
                    guard let ref = inflight.popNow() else { broken = "the peer answered more than was sent"; break }
                    results.append((ref, Self.outcome(of: bytes, for: ref)))
                }
                if !results.isEmpty {
                    progress.answered(results.count)
                    let items = results
                    await flushDeferred(peer, items.map(\.0.id))
                    let ticket = writer.submit { txn in try items.map { try Self.record($0.1, of: $0.0, in: txn, store: store) } }
                    commits.addTask { [self] in
                        let records = try? await ticket.value()
                        await attemptsFinished(peer, items, records: records ?? Array(repeating: nil, count: items.count),
                                               failedCommit: records == nil)
                        inflight.release(count: items.count)
                    }
                }
                if let broken {
                    endReason = broken
                    await stream.reset()
                    break reading
                }
            }
            // What was written and not answered failed this round (the peer may have it: retries are safe).
            let rest = inflight.finish()
            if !rest.isEmpty {
                let items = rest.map { ($0, Outcome.transient(endReason, written: true)) }
                await flushDeferred(peer, rest.map(\.id))
                let records = try? await writer.perform { txn in
                    try items.map { try Self.record($0.1, of: $0.0, in: txn, store: store) }
                }
                await attemptsFinished(peer, items, records: records ?? Array(repeating: nil, count: items.count))
            }
            await commits.waitForAll()
        }
        await wakeWorker(peer)
    }

    static func outcome(of bytes: [UInt8], for ref: Ref) -> Outcome {
        let answer: DMAnswer
        do { answer = try DMWire.decodeAnswer(bytes) } catch {
            return .transient("malformed answer: \(error)", written: true)
        }
        guard answer.id == ref.id || answer.id.isEmpty else {
            return .transient("the answer is for another message", written: true)
        }
        switch answer {
        case .acknowledged(_, let receivedAt): return .delivered(receivedAt: receivedAt)
        case .refused(_, let code):
            return code.isTransient ? .transient("the peer answered \(code.rawValue)", written: true) : .refused(code)
        }
    }

    /// Results of a batch (committed, or `failedCommit`); a failed round wakes the sender so it stops.
    func attemptsFinished(_ peer: PeerID, _ items: [(Ref, Outcome)], records: [MessageRecord?], failedCommit: Bool = false) {
        for ((ref, outcome), record) in zip(items, records) {
            if failedCommit {
                attemptFinished(peer, ref, .transient("could not record the delivery result", written: false), record: nil)
            } else {
                attemptFinished(peer, ref, outcome, record: record)
            }
        }
        if failedCommit { logger.error("could not record delivery results", metadata: ["peer": "\(peer)"]) }
        if roundOver(peer) { wakeWorker(peer) }
    }

    // MARK: Receiver

    func admitSession(_ peer: String) -> Admission {
        guard running else { return .notRunning }
        switch limits.admitSession(peer, now: clock.now().timeIntervalSince1970) {
        case .admitted:
            activeInbound += 1
            return .admitted
        case .tooManyStreams: return .refused("more than \(config.inbound.maxSessionsPerPeer) sessions (or streams) at once")
        case .tooManyPeers: return .refused("more than \(config.inbound.maxSessions) sessions of all peers")
        case .rateLimited: return .rateLimited
        }
    }

    func releaseSession(_ peer: String) {
        limits.releaseSession(peer)
        activeInbound -= 1
    }

    /// Tokens for `count` requests; the rest are answered `rate_limited`.
    func takeTokens(_ peer: String, _ count: Int) -> Int {
        guard running else { return 0 }
        return limits.takeTokens(peer, count, now: clock.now().timeIntervalSince1970)
    }

    nonisolated func serveSession(_ stream: P2PStream) async {
        let peer = name(of: stream.remotePeer)
        switch await admitSession(peer) {
        case .admitted: break
        case .notRunning:
            return await stream.reset()
        case .refused(let reason):
            await noteRejection(peer, reason)
            return await stream.reset()
        case .rateLimited:
            await noteRejection(peer, "rate_limited")
            return await stream.reset()
        }
        let pending = DMBoundedQueue<DMInboundBatch>(maxCount: DMWire.maxPipelinedRequests, maxBytes: DMWire.maxPipelinedBytes)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in await writeAnswers(stream, peer, pending) }
            await readRequests(stream, peer, pending)
            pending.finishProducing()
            await group.waitForAll()
        }
        await releaseSession(peer)
    }

    private nonisolated func readRequests(_ stream: P2PStream, _ peer: String, _ pending: DMBoundedQueue<DMInboundBatch>) async {
        var buffer = ByteBuffer()
        let store = self.store
        let unread = tables.unread
        while true {
            // Take the complete requests that fit.
            var frames: [[UInt8]] = []
            var bytes = 0
            var tooLarge: Int?
            var full = false
            while true {
                guard pending.fits(count: frames.count + 1, bytes: bytes) else { full = true; break }
                guard let frame = DMWire.nextFrame(&buffer, maxSize: DMWire.maxRequestSize) else { break }
                switch frame {
                case .message(let m):
                    frames.append(m)
                    bytes += m.count
                case .tooLarge(let n):
                    tooLarge = n
                case .malformed:
                    await noteRejection(peer, "a malformed length prefix")
                    return await stream.reset()
                }
                if tooLarge != nil { break }
            }
            if !frames.isEmpty || tooLarge != nil {
                var batch = DMInboundBatch()
                batch.bytes = bytes
                let granted = frames.isEmpty ? 0 : await takeTokens(peer, frames.count)
                if granted < frames.count { await noteRejection(peer, "rate_limited", count: frames.count - granted) }
                let now = clock.now()
                for (i, frame) in frames.enumerated() {
                    guard i < granted else { batch.slots.append(.answer(.refused(id: [], .rateLimited))); continue }
                    do {
                        let request = try DMWire.decodeRequest(frame)
                        batch.slots.append(.stored(batch.records.count))
                        batch.records.append(incomingRecord(request, from: peer, now: now))
                    } catch {
                        await noteRejection(peer, error.description)
                        batch.slots.append(.answer(error.answer))
                    }
                }
                if let n = tooLarge {
                    await noteRejection(peer, "too_large: a request of \(n) bytes (limit \(DMWire.maxRequestSize))")
                    batch.slots.append(.answer(.refused(id: [], .tooLarge)))
                    batch.endAfter = true
                }
                if !batch.records.isEmpty {
                    let records = batch.records
                    batch.ticket = writer.submit { txn in
                        try records.map { try Self.storeOnce($0.record, key: $0.key, in: txn, store: store, unread: unread) }
                    }
                }
                guard pending.push(batch, count: batch.slots.count, bytes: bytes) else { return }
                if tooLarge != nil { return }
            }
            if full {
                await pending.waitForSpace()
                if pending.isFinished { return }
                continue
            }
            // Read more: a partial request must complete within `readTimeout`; between requests
            // the session may idle for `sessionIdleTimeout`.
            let midRequest = buffer.readableBytes > 0
            let limit = midRequest ? config.readTimeout : config.sessionIdleTimeout
            let timer = watchdog.arm(after: limit) { await stream.reset() }
            let chunk: ByteBuffer?
            do {
                chunk = try await stream.read(upTo: 64 << 10)
            } catch {
                let fired = !watchdog.disarm(timer)
                if fired {
                    await noteRejection(peer, midRequest ? "the request did not arrive within \(config.readTimeout)"
                                                         : "the session was idle for \(config.sessionIdleTimeout)")
                } else if midRequest {
                    await noteRejection(peer, "the session failed in the middle of a request: \(error)")
                }   // else: the sender went away between requests (a reset at its shutdown)
                return
            }
            watchdog.disarm(timer)
            guard var chunk else {
                if buffer.readableBytes > 0 { await noteRejection(peer, "the session ended in the middle of a request") }
                return
            }
            buffer.writeBuffer(&chunk)
        }
    }

    private nonisolated func writeAnswers(_ stream: P2PStream, _ peer: String, _ pending: DMBoundedQueue<DMInboundBatch>) async {
        while let batch = await pending.pop() {
            var results: [(Bool, Date)] = []
            if let ticket = batch.ticket {
                do { results = try await ticket.value() } catch {
                    logger.error("could not store direct messages", metadata: ["peer": "\(peer)", "error": "\(error)"])
                    pending.finish()
                    return await stream.reset()
                }
            }
            var out = ByteBuffer()
            for slot in batch.slots {
                switch slot {
                case .stored(let i):
                    let (key, record) = batch.records[i]
                    let (isNew, receivedAt) = results[i]
                    DMWire.appendFrame(DMWire.encode(.acknowledged(id: record.id, receivedAt: receivedAt.dmMilliseconds)), to: &out)
                    if isNew { emit(.received(DMInfo(peer: key.conversation, record: record, unread: true))) }
                case .answer(let a):
                    DMWire.appendFrame(DMWire.encode(a), to: &out)
                }
            }
            do {
                try await stream.write(out)
            } catch {
                pending.finish()
                return await stream.reset()
            }
            pending.release(count: batch.slots.count, bytes: batch.bytes)
            if batch.endAfter { break }
        }
        try? await stream.closeWrite()
    }
}
