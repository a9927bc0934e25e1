// Sharing on a node: index the paths (no copy: the chunk index points into
// the files), make a share code (and optionally a ticket), and serve it.

import Dispatch
import Foundation
import GigiBase
import GigiCrypto
import GigiFiles
import P2PCore

/// What `share` was asked to do.
public struct ShareRequest: Sendable {
    public var paths: [String]
    /// Secret words in the code (11 bits each).
    public var words: Int
    /// Also make a ticket (peer ID, addresses, share id, 128-bit secret).
    public var ticket: Bool
    /// Serve again under an earlier share's id, code and ticket secret (a daemon restarting).
    public var restore: ShareRestore?

    public init(paths: [String], words: Int = ShareCode.defaultWords, ticket: Bool = false,
                restore: ShareRestore? = nil) {
        self.paths = paths
        self.words = words
        self.ticket = ticket
        self.restore = restore
    }

    public static var defaultWords: Int { ShareCode.defaultWords }
    /// The longest `--expire` (`expire_seconds`) taken: a year.
    public static let maxExpireSeconds: Double = 366 * 86_400
    public static var wordRange: ClosedRange<Int> { ShareCode.minWords...ShareCode.maxWords }
}

/// What makes a share the same share again: its id, code and ticket (all secret but the id).
public struct ShareRestore: Sendable, Codable, Equatable {
    public var shareID: String
    public var code: String
    public var ticket: String?

    public init(shareID: String, code: String, ticket: String?) {
        self.shareID = shareID
        self.code = code
        self.ticket = ticket
    }
}

/// Paths indexed and ready to serve (`GigiNode.index`).
public struct PreparedShare: Sendable {
    let indexed: IndexedShare
    /// Paths skipped while indexing (sockets, devices, unfinished downloads).
    public let skipped: [String]

    public var files: Int { indexed.manifest.fileCount }
    public var directories: Int { indexed.manifest.entries.count - indexed.manifest.fileCount }
    public var bytes: UInt64 { indexed.manifest.totalSize }
    public var chunks: Int { indexed.manifest.totalChunks }
    public var topNames: [String] { indexed.manifest.topLevelNames }
    /// Whether large files' SHA-256 digests are still being computed (`provide` waits for them).
    public var digestsPending: Bool { indexed.deferred != nil }
}

/// A share being served whose data may still be indexing (`GigiNode.announce`).
public struct AnnouncedShare: Sendable {
    /// The human code. Secret: show it only to the user.
    public let code: String
    public let ticket: String?
    public let shareID: String
    public let secretBits: Int
}

/// A share being served by this node.
public struct ActiveShare: Sendable {
    /// The human code, `NAMEPLATE-WORD-WORD-WORD`. Secret: show it only to the user.
    public let code: String
    /// The ticket text, when asked for.
    public let ticket: String?
    public let shareID: String
    public let manifestID: String
    public let files: Int
    public let directories: Int
    public let bytes: UInt64
    public let chunks: Int
    /// Names at the top of the share (what the fetcher will create).
    public let topNames: [String]
    /// Paths skipped while indexing (sockets, devices, unfinished downloads).
    public let skipped: [String]
    /// Bits of secret in the code.
    public let secretBits: Int
}

/// What happens to the node's shares, for `gigi share` output and the event stream.
public enum NodeShareEvent: Sendable, Equatable {
    case fetchStarted(peer: String)
    case fetchCompleted(peer: String)
    /// The fetcher went away before it had everything (it may come back and resume).
    case fetchStopped(peer: String)
    case wrongCode(peer: String, failedAttempts: Int)
    case closed(reason: String)
    case fileChanged(path: String)
}

extension GigiNode {
    /// Events of every share this node serves.
    public var shareEvents: AsyncStream<NodeShareEvent> {
        let source = shares.events
        return AsyncStream(bufferingPolicy: .bufferingNewest(256)) { continuation in
            let task = Task {
                for await e in source {
                    switch e {
                    case .fetchStarted(let p): continuation.yield(.fetchStarted(peer: p))
                    case .fetchCompleted(let p): continuation.yield(.fetchCompleted(peer: p))
                    case .fetchStopped(let p): continuation.yield(.fetchStopped(peer: p))
                    case .wrongCode(let p, let n): continuation.yield(.wrongCode(peer: p, failedAttempts: n))
                    case .closed(let r): continuation.yield(.closed(reason: r))
                    case .fileChanged(let p): continuation.yield(.fileChanged(path: p))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Indexes `request.paths` and starts serving them. `progress` gets
    /// (bytes hashed, bytes total) while indexing.
    public func share(_ request: ShareRequest,
                      progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws -> ActiveShare {
        let prepared = try await Self.index(request.paths, progress: progress)
        return try await provide(try await announce(request), prepared)
    }

    /// Starts serving a share whose paths are still being indexed (`GigiNode.index`): its
    /// code and ticket work at once, and a fetcher that proves the code gets the manifest
    /// when `provide` gives it (`unshare` if indexing fails). `gigi share` prints the code
    /// this way before indexing ends, as magic-wormhole does.
    public func announce(_ request: ShareRequest) async throws -> AnnouncedShare {
        let code = try request.restore.map { try ShareCode.parse($0.code) } ?? ShareCode.generate(words: request.words)
        let shareID = request.restore.flatMap { Hex.decode($0.shareID) }.flatMap { $0.count == 16 ? $0 : nil }
            ?? SystemRandom.bytes(16)
        var secrets: [[UInt8]: [UInt8]] = [Array(code.nameplate.utf8): code.secret]
        var ticketText: String? = nil
        if request.ticket {
            let addrs = await dialableAddresses().compactMap { try? Multiaddr($0).withoutTrailingPeerID.bytes }
            // A restored ticket keeps its secret; its addresses are today's.
            let secret = (try? request.restore?.ticket.map { try ShareTicket(text: $0).secret }) ?? nil
            let ticket = ShareTicket(peerID: host.peerID.bytes, addresses: Array(addrs.prefix(ShareTicket.maxAddresses)),
                                     shareID: shareID, secret: secret ?? SystemRandom.bytes(16))
            secrets[shareID] = ticket.pakeSecret
            ticketText = ticket.text
        }
        await shares.add(ServedShare(shareID: shareID, secrets: secrets, indexed: nil))
        // Only the nameplate's rendezvous key is announced: the words never leave this machine.
        setRendezvous(ShareCode.rendezvousKey(nameplate: code.nameplate), forShare: shareID)
        return AnnouncedShare(code: code.text, ticket: ticketText, shareID: Hex.encode(shareID), secretBits: code.secretBits)
    }

    /// Gives an announced share its data: fetchers waiting for the manifest get it now.
    /// If its SHA-256 digests were deferred (`index(deferDigests:)`), they get the manifest
    /// with the digests zeroed and the chunks at once, and the digests when this returns;
    /// a file that changed meanwhile throws (the share then serves nothing: `unshare` it).
    public func provide(_ announced: AnnouncedShare, _ prepared: PreparedShare) async throws -> ActiveShare {
        let shareID = Hex.decode(announced.shareID) ?? []
        var indexed = prepared.indexed
        let skipped = prepared.skipped
        await shares.provide(shareID: shareID, indexed)
        if let deferred = indexed.deferred {
            switch await deferred.wait() {
            case .success(let digests):
                indexed = try indexed.completed(with: digests)
                await shares.completeDigests(shareID: shareID, .success(indexed))
            case .failure(let error):
                await shares.completeDigests(shareID: shareID, .failure(ShareServer.DigestFailure(reason: "the sender's files changed")))
                throw error
            }
        }
        // Chunks are served from `indexed`, in memory; the chunk index (which lets later
        // fetches into this home reuse these files' chunks) is committed in the background
        // while the code is shown, and `shutdown` waits for it.
        let index = self.index, logger = self.logger, complete = indexed
        indexWrites.enter()
        DispatchQueue.global(qos: .utility).async {
            defer { self.indexWrites.leave() }
            do { try index.indexShare(complete) } catch {
                logger.warning("could not add the share to the chunk index: \(error)")
            }
        }
        let m = indexed.manifest
        return ActiveShare(code: announced.code, ticket: announced.ticket, shareID: announced.shareID,
                           manifestID: indexed.manifestID.hex, files: m.fileCount, directories: m.entries.count - m.fileCount,
                           bytes: m.totalSize, chunks: m.totalChunks, topNames: m.topLevelNames, skipped: skipped,
                           secretBits: announced.secretBits)
    }

    /// Fails as `index` would on a missing path, one that is neither a regular file nor
    /// a directory, or two with the same name; quick (nothing is read).
    public static func checkSharePaths(_ paths: [String]) throws {
        try requireExisting(paths)
        try Indexer.checkTopLevel(paths)
    }

    private static func requireExisting(_ paths: [String]) throws {
        for p in paths where !FileManager.default.fileExists(atPath: p) {
            throw GigiNodeError.notFound(p)
        }
    }

    /// Indexes `paths` for `provide`; needs no node, so it can
    /// run while one starts. `progress` gets (bytes hashed, bytes total).
    /// `deferDigests`: large files' SHA-256 passes run after their BLAKE3 pass returns (see
    /// `provide`), so chunks can be served before those digests are known.
    public static func index(_ paths: [String], deferDigests: Bool = false,
                             progress: (@Sendable (UInt64, UInt64) -> Void)? = nil) async throws -> PreparedShare {
        try requireExisting(paths)
        return try await runBlocking {
            let indexer = Indexer()
            indexer.progress = progress
            let result = try indexer.index(paths: paths, deferDigests: deferDigests)
            return PreparedShare(indexed: result, skipped: indexer.skipped)
        }
    }

    /// Chunks sent to `peer` (a peer ID) over all its fetches from this node.
    public func chunksServed(to peer: String) async -> Int { await shares.chunksServed(to: peer) }

    /// Whether a share has closed (too many wrong codes) or was removed.
    public func isClosed(_ share: ActiveShare) async -> Bool {
        await shares.isClosed(shareID: Hex.decode(share.shareID) ?? [])
    }

    /// Stops serving a share.
    /// Whether a fetch is pulling chunks from this node right now.
    public func isServingChunks() async -> Bool { await shares.isServingChunks }

    public func unshare(_ share: ActiveShare, reason: String) async { await unshare(shareID: share.shareID, reason: reason) }

    public func unshare(_ share: AnnouncedShare, reason: String) async { await unshare(shareID: share.shareID, reason: reason) }

    private func unshare(shareID: String, reason: String) async {
        let id = Hex.decode(shareID) ?? []
        setRendezvous(nil, forShare: id)
        await shares.remove(shareID: id, reason: reason)
    }
}

/// Runs blocking work (hashing, fsync) on a thread outside Swift's cooperative pool.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try body() })
        }
    }
}
