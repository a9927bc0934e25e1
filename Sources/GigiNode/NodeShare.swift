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

    public init(paths: [String], words: Int = ShareCode.defaultWords, ticket: Bool = false) {
        self.paths = paths
        self.words = words
        self.ticket = ticket
    }

    public static var defaultWords: Int { ShareCode.defaultWords }
    public static var wordRange: ClosedRange<Int> { ShareCode.minWords...ShareCode.maxWords }
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
        for p in request.paths where !FileManager.default.fileExists(atPath: p) {
            throw GigiNodeError.notFound(p)
        }
        let indexed: IndexedShare
        var skipped: [String] = []
        (indexed, skipped) = try await runBlocking {
            let indexer = Indexer()
            indexer.progress = progress
            let result = try indexer.index(paths: request.paths)
            return (result, indexer.skipped)
        }
        try await runBlocking { try self.index.indexShare(indexed) }

        let code = ShareCode.generate(words: request.words)
        let shareID = SystemRandom.bytes(16)
        var secrets: [[UInt8]: [UInt8]] = [Array(code.nameplate.utf8): code.secret]
        var ticketText: String? = nil
        if request.ticket {
            let addrs = await dialableAddresses().compactMap { try? Multiaddr($0).withoutTrailingPeerID.bytes }
            let ticket = ShareTicket(peerID: host.peerID.bytes, addresses: Array(addrs.prefix(ShareTicket.maxAddresses)),
                                     shareID: shareID, secret: SystemRandom.bytes(16))
            secrets[shareID] = ticket.pakeSecret
            ticketText = ticket.text
        }
        await shares.add(ServedShare(shareID: shareID, secrets: secrets, indexed: indexed))
        // Only the nameplate's rendezvous key is announced: the words never leave this machine.
        setRendezvous(ShareCode.rendezvousKey(nameplate: code.nameplate), forShare: shareID)

        let entries = indexed.manifest.entries
        return ActiveShare(code: code.text, ticket: ticketText, shareID: Hex.encode(shareID),
                           manifestID: indexed.manifestID.hex,
                           files: entries.filter { $0.kind == .file }.count,
                           directories: entries.filter { $0.kind == .directory }.count,
                           bytes: indexed.manifest.totalSize, chunks: indexed.manifest.totalChunks,
                           topNames: indexed.manifest.topLevelNames, skipped: skipped, secretBits: code.secretBits)
    }

    /// Chunks sent to `peer` (a peer ID) over all its fetches from this node.
    public func chunksServed(to peer: String) async -> Int { await shares.chunksServed(to: peer) }

    /// Stops serving a share.
    public func unshare(_ share: ActiveShare, reason: String) async {
        let id = Hex.decode(share.shareID) ?? []
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
