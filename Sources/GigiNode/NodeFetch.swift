// Fetching on a node: find the sharer, prove knowledge of the code (PAKE),
// receive the manifest, and pull the chunks, verified and resumable.

import Foundation
import GigiBase
import GigiCrypto
import GigiFiles
import P2PCore
import P2PHost

/// What `fetch` was asked to do.
public struct FetchRequest: Sendable {
    /// A share code (`4821-ocean-lantern-velvet`) or a ticket (`gigi1…`).
    public var input: String
    /// Where the sharer listens (multiaddr text); a ticket carries its own.
    public var peers: [String]
    /// The directory the share's top-level names are created in.
    public var output: String
    public var overwrite: Bool
    /// Copy chunks this node already holds under the same BLAKE3 instead of fetching them.
    public var reuseLocalChunks: Bool
    /// Wait until the received files are on stable storage before reporting them done
    /// (fsync before each rename, resume records after fdatasync); off, write-back is
    /// left to the kernel, as rsync and cp do (see `Fetcher.durable`).
    public var durable: Bool
    /// Asked with what the sharer offers, after the PAKE and before anything is written;
    /// false declines (`FetchDeclined`). Nil: accept.
    public var confirm: (@Sendable (FetchOffer) async -> Bool)?
    /// Called once if the code was proved but the file list has not come a second later:
    /// the sharer printed its code before it finished indexing, and sends the list then.
    public var waitingForFileList: (@Sendable () -> Void)?

    public init(input: String, peers: [String] = [], output: String, overwrite: Bool = false,
                reuseLocalChunks: Bool = true, durable: Bool = false) {
        self.input = input
        self.peers = peers
        self.output = output
        self.overwrite = overwrite
        self.reuseLocalChunks = reuseLocalChunks
        self.durable = durable
    }
}

/// What a sharer offers, shown before accepting it.
public struct FetchOffer: Sendable {
    public let peer: String
    public let names: [String]
    public let files: Int
    public let directories: Int
    public let bytes: UInt64

    public init(peer: String, names: [String], files: Int, directories: Int, bytes: UInt64) {
        self.peer = peer
        self.names = names
        self.files = files
        self.directories = directories
        self.bytes = bytes
    }
}

/// The user declined the offer: nothing was written.
public struct FetchDeclined: Error, UserFacingError {
    public var message: String { "Declined: nothing was received." }
    public var exitCode: GigiExitCode { .failure }
}

/// Progress of a running fetch.
public struct FetchStatus: Sendable, Equatable {
    public var bytesDone: UInt64
    public var totalBytes: UInt64
    public var chunksDone: Int
    public var totalChunks: Int
}

/// What a fetch did.
public struct FetchResult: Sendable {
    public let peer: String
    public let manifestID: String
    /// The created top-level names, inside `output`.
    public let names: [String]
    public let files: Int
    public let directories: Int
    public let bytes: UInt64
    public let totalChunks: Int
    /// Chunks that crossed the network in this run.
    public let networkChunks: Int
    /// Chunks copied from files this node already held.
    public let localChunks: Int
    /// Chunks found already verified from an interrupted earlier run.
    public let resumedChunks: Int
    /// SHA-256 of the single file, or of the per-file hashes in manifest order.
    public let sha256: String
}

/// Where a fetch goes and what it proves.
enum FetchTarget {
    case code(ShareCode)
    case ticket(ShareTicket)

    static func parse(_ input: String) throws -> FetchTarget {
        let text = input.trimmingCharacters(in: .whitespacesAndNewlines)
        if ShareCode.looksLikeCode(text) { return .code(try ShareCode.parse(text)) }
        return .ticket(try ShareTicket(text: text))
    }

    var selector: [UInt8] {
        switch self {
        case .code(let c): return Array(c.nameplate.utf8)
        case .ticket(let t): return t.shareID
        }
    }

    var secret: [UInt8] {
        switch self {
        case .code(let c): return c.secret
        case .ticket(let t): return t.pakeSecret
        }
    }
}

extension GigiNode {
    /// Sharers answering one rendezvous that a fetch tries at most.
    static let maxRendezvousCandidates = 8

    /// Checks a code or ticket without using the network (for early, clear errors).
    public static func validateFetchInput(_ input: String) throws {
        _ = try FetchTarget.parse(input)
    }

    /// Runs a whole fetch. `progress` is called as chunks arrive (from several threads).
    public func fetch(_ request: FetchRequest,
                      progress: (@Sendable (FetchStatus) -> Void)? = nil) async throws -> FetchResult {
        let target = try FetchTarget.parse(request.input)
        var candidates: [Multiaddr] = []
        for text in request.peers { candidates.append(try parseAddress(text)) }
        var expected: PeerID? = nil
        if case .ticket(let t) = target {
            let peer = try PeerID(bytes: t.peerID)
            expected = peer
            for raw in t.addresses {
                if let a = try? Multiaddr(bytes: raw) { candidates.append(a.withoutTrailingPeerID) }
            }
        }
        // Who to try, in order: the given/ticket addresses as one sharer, else every
        // sharer that answers for the nameplate's rendezvous key on the LAN.
        var sharers: [(addresses: [Multiaddr], peer: PeerID?)] = []
        if !candidates.isEmpty { sharers.append((candidates, expected)) }
        if sharers.isEmpty, case .code(let code) = target, let lan {
            let key = ShareCode.rendezvousKey(nameplate: code.nameplate)
            for record in await lan.findRendezvous(key, timeout: .seconds(3)) {
                let addrs = record.dialAddresses.compactMap { try? Multiaddr($0) }
                if !addrs.isEmpty { sharers.append((addrs, try? PeerID(record.peerID))) }
            }
            logger.info("LAN rendezvous for nameplate \(code.nameplate): \(sharers.count) sharer(s)")
        }
        guard !sharers.isEmpty else {
            throw lan == nil ? GigiNodeError.noRoute : GigiNodeError.notOnLAN
        }

        var connection: P2PConnection? = nil
        var offeredShare: OfferedShare? = nil
        var lastError: Error = GigiNodeError.noRoute
        for sharer in sharers.prefix(Self.maxRendezvousCandidates) {
            do {
                let conn = try await connectFirst(sharer.addresses, expected: sharer.peer)
                let context = SharePAKEContext(fetcherPeer: host.peerID.bytes, sharerPeer: conn.remotePeer.bytes,
                                               selector: target.selector)
                let shareStream = try await openStream(on: conn, protocols: [Self.shareProtocol])
                var confirmed: (@Sendable () -> Void)? = nil
                var waiting: DelayedCall? = nil
                if let cb = request.waitingForFileList {
                    let w = DelayedCall(after: 1, cb)
                    confirmed = { w.start() }
                    waiting = w
                }
                defer { waiting?.cancel() }
                offeredShare = try await ShareClient.handshake(HostTransferStream(shareStream), secret: target.secret,
                                                               context: context, confirmed: confirmed)
                connection = conn
                break
            } catch {
                // Another sharer on the LAN may use the same nameplate: try the next one.
                lastError = error
            }
        }
        guard let connection, let offered = offeredShare else { throw lastError }
        let remote = connection.remotePeer
        logger.info("manifest \(offered.manifestID.hex) from \(remote): \(offered.manifest.entries.count) entries, \(offered.manifest.totalSize) bytes")

        if let confirm = request.confirm {
            let m = offered.manifest
            let offer = FetchOffer(peer: remote.description, names: m.topLevelNames, files: m.fileCount,
                                   directories: m.entries.count - m.fileCount, bytes: m.totalSize)
            guard await confirm(offer) else {
                await connection.close()
                throw FetchDeclined()
            }
        }
        try FileManager.default.createDirectory(atPath: request.output, withIntermediateDirectories: true)
        let writer = try DownloadWriter(manifest: offered.manifest, root: request.output)
        // (`withPeerID` cannot throw on an address without a peer ID.)
        let back = try? connection.remoteAddress.withoutTrailingPeerID.withPeerID(remote)
        let fetcher = Fetcher(offered: offered, writer: writer, index: index, peers: [remote.description],
                              source: request.input, addresses: back.map { [$0.description] } ?? [])
        fetcher.durable = request.durable
        try await runBlocking {
            try writer.preflight(overwrite: request.overwrite, bytesNeeded: offered.manifest.totalSize)
            try fetcher.prepare(reuseLocalChunks: request.reuseLocalChunks)
        }
        if let progress {
            fetcher.onProgress = { p in
                progress(FetchStatus(bytesDone: p.bytesDone, totalBytes: p.totalBytes,
                                     chunksDone: p.chunksDone, totalChunks: p.totalChunks))
            }
            let p = fetcher.currentProgress
            progress(FetchStatus(bytesDone: p.bytesDone, totalBytes: p.totalBytes,
                                 chunksDone: p.chunksDone, totalChunks: p.totalChunks))
        }
        let host = self.host
        let opener: ChunkStreamOpener = {
            HostTransferStream(try await host.newStream(on: connection, protocols: [GigiNode.chunksProtocol]))
        }
        let done = try await fetcher.run(providers: [opener], overwrite: request.overwrite)
        let m = offered.manifest
        return FetchResult(peer: remote.description, manifestID: fetcher.manifestID.hex, names: m.topLevelNames,
                           files: m.fileCount, directories: m.entries.count - m.fileCount, bytes: m.totalSize,
                           totalChunks: done.totalChunks, networkChunks: done.networkChunks,
                           localChunks: done.localChunks, resumedChunks: done.resumedChunks,
                           sha256: writer.shareSHA256)
    }

    /// Dials the candidates in order; the first that connects wins.
    func connectFirst(_ candidates: [Multiaddr], expected: PeerID?) async throws -> P2PConnection {
        var lastError: Error? = nil
        for addr in candidates {
            do {
                return try await host.connect(addr, expectedPeer: expected ?? addr.peerID)
            } catch {
                logger.info("dial \(addr) failed: \(describe(error))")
                lastError = error
            }
        }
        throw GigiNodeError.unreachable(candidates.map(\.description).joined(separator: ", "),
                                        reason: lastError.map(describe) ?? "no address worked")
    }

    func openStream(on connection: P2PConnection, protocols: [String]) async throws -> P2PStream {
        do { return try await host.newStream(on: connection, protocols: protocols) } catch {
            throw GigiNodeError.unreachable(connection.remoteAddress.description, reason: describe(error))
        }
    }
}

/// A call made `after` seconds from `start()` unless cancelled first.
private final class DelayedCall: @unchecked Sendable {
    private let lock = NSLock()
    private var item: DispatchWorkItem?
    private let delay: Double
    private let body: @Sendable () -> Void

    init(after seconds: Double, _ body: @escaping @Sendable () -> Void) {
        delay = seconds
        self.body = body
    }

    func start() {
        let item = DispatchWorkItem { [body] in body() }
        lock.withLock { self.item = item }
        DispatchQueue.global().asyncAfter(deadline: .now() + delay, execute: item)
    }

    func cancel() { lock.withLock { item?.cancel() } }
}
