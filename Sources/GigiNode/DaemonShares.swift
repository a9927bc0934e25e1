// The daemon's shares survive a restart: each is kept in the store's
// `daemon_shares` table (share id → paths, words, code, ticket) and served
// again, under the same code and ticket secret, when the daemon starts.
//
// Trade-off: the code's words and the ticket secret are then at rest in
// GIGI_HOME/store (a 0700 directory, files 0600), like the share itself, until
// `gigi unshare`. A share whose files are gone is dropped at start.

import Foundation
import GigiBase
import GigiStore

/// One persisted daemon share.
struct SavedShare: StoreRecord, Sendable {
    var paths: [String]
    var words: Int
    var restore: ShareRestore
    var created: Date
    var expires: Date?

    enum CodingKeys: String, CodingKey {
        case paths = "p", words = "w", restore = "r", created = "c", expires = "e"
    }
}

extension GigiDaemon {
    static let sharesTable = "daemon_shares"

    func savedShares() throws -> StoreTable<String, SavedShare> {
        try StoreTable(Self.sharesTable, in: node.index.store.environment)
    }

    /// Records a share so a restarted daemon serves it again.
    func persist(shareID: String, code: String, ticket: String?, paths: [String], words: Int, expires: Date?) {
        let record = SavedShare(paths: paths, words: words,
                                restore: ShareRestore(shareID: shareID, code: code, ticket: ticket),
                                created: Date(), expires: expires)
        do {
            let table = try savedShares()
            try node.index.store.write { txn in try table.put(record, for: shareID, in: txn) }
        } catch {
            logger.warning("could not record share \(shareID) for restarts: \(error)")
        }
    }

    func forget(shareID: String) {
        do {
            let table = try savedShares()
            _ = try node.index.store.write { txn in try table.delete(shareID, in: txn) }
        } catch {
            logger.warning("could not forget share \(shareID): \(error)")
        }
    }

    /// Ends share `shareID` at `date` (no new fetches; one under way keeps its streams).
    func scheduleExpiry(shareID: String, at date: Date) {
        Task { [weak self] in
            let wait = max(0, date.timeIntervalSinceNow)
            try await Task.sleep(nanoseconds: UInt64(wait * 1e9))
            guard let self else { return }
            _ = try? await self.removeShare(shareID, reason: "expired")
        }
    }

    /// Serves again every share recorded by an earlier run; returns how many.
    func restoreShares() async -> Int {
        let saved: [(String, SavedShare)]
        do {
            let table = try savedShares()
            saved = try node.index.store.read { txn in try table.entries(in: txn).map { ($0.key, $0.value) } }
        } catch {
            logger.warning("could not read the recorded shares: \(error)")
            return 0
        }
        var restored = 0
        for (id, s) in saved {
            if let e = s.expires, e <= Date() {
                logger.notice("dropping recorded share \(id): it expired")
                forget(shareID: id)
                continue
            }
            do {
                let active = try await node.share(ShareRequest(paths: s.paths, words: s.words, ticket: s.restore.ticket != nil,
                                                               restore: s.restore))
                shares.withLock { $0[active.shareID] = DaemonShare(share: active, paths: s.paths, created: s.created,
                                                                   expires: s.expires) }
                if let e = s.expires { scheduleExpiry(shareID: active.shareID, at: e) }
                restored += 1
            } catch {
                logger.notice("dropping recorded share \(id): \(describe(error))")
                forget(shareID: id)
            }
        }
        return restored
    }
}
