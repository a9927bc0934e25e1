// Where direct messages live in GigiStore, and the group-committing writer.
//
// Tables (docs/store.md):
// - `messages`: `MessageKey(conversation: peer ID, milliseconds: id timestamp, sequence: id bytes 6..<14)`
//   → `MessageRecord`. The key is derived from the message id, so a conversation scans in id
//   order (= send order for Gigi senders) and a duplicate request finds its stored copy by key.
// - `outbox`: message id → `OutboxRecord` (payload = the encoded request).
// - `dm_unread` (this module): `MessageKey` of an unread incoming message → its id.

import Dispatch
import GigiStore
import NIOConcurrencyHelpers
import P2PCore

extension MessageKey {
    /// The key of message `id` in `conversation` (the other peer's ID string).
    public init(conversation: String, messageID id: [UInt8]) {
        precondition(id.count == DMWire.idLength, "message ids are 16 bytes")
        let sequence = id[6..<14].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        self.init(conversation: conversation, milliseconds: DMMessageIDGenerator.milliseconds(of: id), sequence: sequence)
    }

    var bytes: [UInt8] { withKeyBytes { Array($0) } }
}

/// The tables messaging uses (opened once per store).
struct DMTables: Sendable {
    let store: Store
    let unread: StoreTable<MessageKey, [UInt8]>

    init(store: Store) throws {
        self.store = store
        unread = try StoreTable(Store.dmUnreadName, in: store.environment)
    }
}

/// Runs write closures in shared LMDB transactions (group commit): while one commit (and
/// its fsync) is in progress, new writes queue up and all of them go into the next
/// transaction together: one commit per batch, never one per message. A closure that
/// throws aborts its batch; the batch is then replayed one closure per transaction so only
/// the failing write fails. Closures must be repeatable (LMDB may re-run them after growing
/// the map) and have no effects outside the transaction.
///
/// Commits run on a serial dispatch queue of their own, not on Swift's cooperative pool (a
/// commit blocks its thread in fsync; on a 2-core machine the pool has two threads).
/// `submit` enqueues synchronously and writes are applied in submission order, so a caller
/// that submitted write A before write B knows B's transaction is A's or a later one.
final class DMStoreWriter: Sendable {
    typealias Operation = @Sendable (LMDBWriteTransaction) throws -> Void

    private struct Pending: Sendable {
        let operation: Operation
        let done: @Sendable (Result<Void, any Error>) -> Void
    }

    private struct State: Sendable {
        var queue: [Pending] = []
        var draining = false
    }

    private let store: Store
    private let maxBatch: Int
    private let state = NIOLockedValueBox(State())
    private let queue = DispatchQueue(label: "gigi.dm.store-writer")

    init(store: Store, maxBatch: Int = 4096) {
        self.store = store
        self.maxBatch = maxBatch
    }

    /// Enqueues `body` (at once, in order with earlier submissions); the ticket gives its result.
    func submit<R: Sendable>(_ body: @escaping @Sendable (LMDBWriteTransaction) throws -> R) -> DMWriteTicket<R> {
        let ticket = DMWriteTicket<R>()
        submit(body, to: ticket)
        return ticket
    }

    /// Enqueues `body`, whose result completes `ticket` (made earlier, e.g. by a write that
    /// was held back to join a later one).
    func submit<R: Sendable>(_ body: @escaping @Sendable (LMDBWriteTransaction) throws -> R, to ticket: DMWriteTicket<R>) {
        let box = ResultBox<R>()
        let pending = Pending(operation: { txn in box.value = try body(txn) }, done: { result in
            ticket.complete(result.map { box.value! })
        })
        let start = state.withLockedValue { s -> Bool in
            s.queue.append(pending)
            if s.draining { return false }
            s.draining = true
            return true
        }
        if start { queue.async { [self] in drain() } }
    }

    /// Runs `body` in a write transaction (maybe shared with other writes) and returns its result.
    func perform<R: Sendable>(_ body: @escaping @Sendable (LMDBWriteTransaction) throws -> R) async throws -> R {
        try await submit(body).value()
    }

    /// Returns once every write submitted before the call has been committed (or failed).
    func barrier() async {
        _ = try? await perform { _ in () }
    }

    private func take() -> [Pending] {
        state.withLockedValue { s in
            let batch = Array(s.queue.prefix(maxBatch))
            s.queue.removeFirst(batch.count)
            if batch.isEmpty { s.draining = false }
            return batch
        }
    }

    /// Commits batches until the queue is empty (on `queue`).
    private func drain() {
        while true {
            let batch = take()
            if batch.isEmpty { return }
            do {
                try store.write { txn in for p in batch { try p.operation(txn) } }
                for p in batch { p.done(.success(())) }
            } catch {
                for p in batch {
                    do {
                        try store.write { txn in try p.operation(txn) }
                        p.done(.success(()))
                    } catch {
                        p.done(.failure(error))
                    }
                }
            }
        }
    }
}

/// The result of one `DMStoreWriter.submit`, available once its transaction committed.
final class DMWriteTicket<R: Sendable>: Sendable {
    init() {}

    private struct State: Sendable {
        var result: Result<R, any Error>?
        var waiters: [CheckedContinuation<R, any Error>] = []
    }

    private let state = NIOLockedValueBox(State())

    fileprivate func complete(_ result: Result<R, any Error>) {
        let waiters = state.withLockedValue { s -> [CheckedContinuation<R, any Error>] in
            s.result = result
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume(with: result) }
    }

    /// Waits for the commit; throws what the write threw.
    func value() async throws -> R {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<R, any Error>) in
            let ready = state.withLockedValue { s -> Result<R, any Error>? in
                if let r = s.result { return r }
                s.waiters.append(c)
                return nil
            }
            if let ready { c.resume(with: ready) }
        }
    }

    /// The result if the write has finished.
    var result: Result<R, any Error>? { state.withLockedValue { $0.result } }
}

/// Carries a write closure's result out of the transaction (written before the ticket completes).
final class ResultBox<R>: @unchecked Sendable {
    var value: R?
}
