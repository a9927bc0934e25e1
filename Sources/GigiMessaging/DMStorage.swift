// Where direct messages live in GigiStore, and the group-committing writer.
//
// Tables (docs/store.md):
// - `messages`: `MessageKey(conversation: peer ID, milliseconds: id timestamp, sequence: id bytes 6..<14)`
//   → `MessageRecord`. The key is derived from the message id, so a conversation scans in id
//   order (= send order for Gigi senders) and a duplicate request finds its stored copy by key.
// - `outbox`: message id → `OutboxRecord` (payload = the encoded request).
// - `dm_unread` (this module): `MessageKey` of an unread incoming message → its id.

import GigiStore
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
        unread = try StoreTable("dm_unread", in: store.environment)
    }
}

/// Runs write closures in shared LMDB transactions: while one commit (and its fsync) is
/// in progress, new writes queue up and go into the next transaction together. A closure
/// that throws aborts its batch; the batch is then replayed one closure per transaction so
/// only the failing write fails. Closures must be repeatable (LMDB may re-run them after
/// growing the map) and have no effects outside the transaction.
actor DMStoreWriter {
    typealias Operation = @Sendable (LMDBWriteTransaction) throws -> Void

    private struct Pending {
        let operation: Operation
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let store: Store
    private let maxBatch: Int
    private var queue: [Pending] = []
    private var draining = false

    init(store: Store, maxBatch: Int = 1024) {
        self.store = store
        self.maxBatch = maxBatch
    }

    /// Runs `body` in a write transaction (maybe shared with other writes) and returns its result.
    func perform<R: Sendable>(_ body: @escaping @Sendable (LMDBWriteTransaction) throws -> R) async throws -> R {
        let box = ResultBox<R>()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.append(Pending(operation: { txn in box.value = try body(txn) }, continuation: continuation))
            if !draining {
                draining = true
                Task.detached { [self] in await drain() }
            }
        }
        return box.value!
    }

    private func take() -> [Pending] {
        let batch = Array(queue.prefix(maxBatch))
        queue.removeFirst(batch.count)
        if batch.isEmpty { draining = false }
        return batch
    }

    /// Commits batches off the actor, so new writes can queue during a commit.
    private nonisolated func drain() async {
        while true {
            let batch = await take()
            if batch.isEmpty { return }
            do {
                try store.write { txn in for p in batch { try p.operation(txn) } }
                for p in batch { p.continuation.resume() }
            } catch {
                for p in batch {
                    do {
                        try store.write { txn in try p.operation(txn) }
                        p.continuation.resume()
                    } catch {
                        p.continuation.resume(throwing: error)
                    }
                }
            }
        }
    }
}

/// Carries a write closure's result out of the transaction (written before the continuation resumes).
final class ResultBox<R>: @unchecked Sendable {
    var value: R?
}
