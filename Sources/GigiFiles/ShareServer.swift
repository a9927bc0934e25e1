// The sharer: answers `/gigi/share/1.0.0` (PAKE, then the manifest) and
// `/gigi/chunks/1.0.0` (chunks read from the original files).
//
// Cross-connection state lives in the `ShareServer` actor: the active
// shares, their failed-attempt counters (a share closes after
// `maxFailedAttempts` runs that did not confirm) and the grants (which peer
// may pull which manifest, given after a confirmed PAKE). Chunk data is
// read with pread from the indexed file after checking the file is still the
// one indexed (size, mtime, inode): a changed file is refused, never served.

#if canImport(Glibc)
import Glibc
#endif
import GigiBase
import GigiCrypto
import NIOCore

/// What the sharer reports (for `gigi share` output and JSON lines).
public enum ShareEvent: Sendable, Equatable {
    case fetchStarted(peer: String)
    case fetchCompleted(peer: String)
    /// A chunk stream ended (or broke) before the fetcher said it had everything.
    case fetchStopped(peer: String)
    case wrongCode(peer: String, failedAttempts: Int)
    case closed(reason: String)
    case fileChanged(path: String)
}

/// One share being served.
public struct ServedShare: Sendable {
    public let shareID: [UInt8]
    /// Selector a fetcher names: the nameplate of a code, or the share id of a ticket.
    public let selectors: [[UInt8]]
    /// The PAKE secret for each selector.
    public let secrets: [[UInt8]: [UInt8]]
    /// The data; nil while the paths are still being indexed (`ShareServer.provide`).
    public let indexed: IndexedShare?
    public init(shareID: [UInt8], secrets: [[UInt8]: [UInt8]], indexed: IndexedShare?) {
        self.shareID = shareID
        self.selectors = Array(secrets.keys)
        self.secrets = secrets
        self.indexed = indexed
    }
}

public actor ShareServer {
    public static let maxFailedAttempts = 3

    struct State {
        var share: ServedShare
        var failed = 0
        var closed = false
        var map: ChunkMap?
        var reader: ChunkReader?
        /// Fetchers that proved the code while the share was still being indexed.
        var waiting: [CheckedContinuation<IndexedShare?, Never>] = []
        /// While the SHA-256 pass runs (`IndexedShare.deferred`): the manifest sent, every
        /// digest zeroed, and its id (which keeps naming the share's chunks afterwards).
        var draft: (bytes: [UInt8], id: Digest32)?
        /// Set when the deferred digests are in: the complete share, or why they failed.
        var digests: Result<IndexedShare, DigestFailure>?
        var digestWaiting: [CheckedContinuation<Result<IndexedShare, DigestFailure>, Never>] = []
    }

    /// Why a share's deferred SHA-256 digests will never come.
    public struct DigestFailure: Error, Sendable {
        public let reason: String
        public init(reason: String) { self.reason = reason }
    }

    private var shares: [[UInt8]: State] = [:]           // by share id
    private var bySelector: [[UInt8]: [UInt8]] = [:]      // selector → share id
    private var grants: [String: Set<Digest32>] = [:]     // peer → manifest ids
    private let counter = ServedCounter()                 // peer → chunks sent (bounded by grants)
    private let localPeer: [UInt8]
    public nonisolated let events: AsyncStream<ShareEvent>
    private let emit: AsyncStream<ShareEvent>.Continuation

    public init(localPeer: [UInt8]) {
        self.localPeer = localPeer
        (events, emit) = AsyncStream<ShareEvent>.makeStream()
    }

    /// Serves `share`: its code works at once; if its data is still being indexed, a
    /// fetcher that proves the code waits for `provide` before it gets the manifest.
    public func add(_ share: ServedShare) {
        var st = State(share: ServedShare(shareID: share.shareID, secrets: share.secrets, indexed: nil))
        if let indexed = share.indexed { Self.attach(indexed, to: &st) }
        shares[share.shareID] = st
        for s in share.selectors { bySelector[s] = share.shareID }
    }

    /// Gives a share its data: the chunk map and reader, and the manifest to offer (the
    /// complete one, or with the digests zeroed while they are deferred).
    private static func attach(_ indexed: IndexedShare, to st: inout State) {
        st.share = ServedShare(shareID: st.share.shareID, secrets: st.share.secrets, indexed: indexed)
        st.map = ChunkMap(indexed.manifest)
        st.reader = ChunkReader(indexed)
        if indexed.deferred == nil {
            st.digests = .success(indexed)
        } else if let bytes = try? indexed.manifest.withoutDigests().encoded() {
            st.draft = (bytes, Manifest.id(of: bytes))
        } else {
            st.digests = .failure(DigestFailure(reason: "the sender could not encode its file list"))
        }
    }

    /// The data of a share added while it was being indexed. If its SHA-256 digests are
    /// deferred, fetchers get the manifest with the digests zeroed now, and the digests
    /// with `completeDigests`.
    public func provide(shareID: [UInt8], _ indexed: IndexedShare) {
        guard var st = shares[shareID], st.share.indexed == nil else { return }
        Self.attach(indexed, to: &st)
        let waiting = st.waiting
        st.waiting = []
        shares[shareID] = st
        for w in waiting { w.resume(returning: st.closed ? nil : indexed) }
    }

    /// The deferred SHA-256 digests of a share (`provide`): the complete share, or why not.
    public func completeDigests(shareID: [UInt8], _ result: Result<IndexedShare, DigestFailure>) {
        guard var st = shares[shareID], st.digests == nil else { return }
        st.digests = result
        if case .success(let complete) = result {
            st.share = ServedShare(shareID: shareID, secrets: st.share.secrets, indexed: complete)
        }
        let waiting = st.digestWaiting
        st.digestWaiting = []
        shares[shareID] = st
        for w in waiting { w.resume(returning: result) }
    }

    public func remove(shareID: [UInt8], reason: String) {
        guard var st = shares[shareID], !st.closed else { return }
        st.closed = true
        let waiting = st.waiting, digestWaiting = st.digestWaiting
        st.waiting = []
        st.digestWaiting = []
        shares[shareID] = st
        for w in waiting { w.resume(returning: nil) }
        for w in digestWaiting { w.resume(returning: .failure(DigestFailure(reason: ShareWire.noSuchShare))) }
        emit.yield(.closed(reason: reason))
    }

    /// The manifest a fetcher gets now: the complete one, or the draft (digests zeroed) while
    /// the SHA-256 pass runs; nil if the digests failed (or the share is gone).
    private func offer(_ shareID: [UInt8]) -> (id: Digest32, bytes: [UInt8], pending: Bool)? {
        guard let st = shares[shareID], !st.closed else { return nil }
        switch st.digests {
        case .success(let complete): return (complete.manifestID, complete.manifestBytes, false)
        case .failure: return nil
        case nil: return st.draft.map { ($0.id, $0.bytes, true) }
        }
    }

    /// The deferred digests, once in.
    private func digestsResult(_ shareID: [UInt8]) async -> Result<IndexedShare, DigestFailure> {
        guard let st = shares[shareID], !st.closed else { return .failure(DigestFailure(reason: ShareWire.noSuchShare)) }
        if let r = st.digests { return r }
        return await withCheckedContinuation { c in shares[shareID]?.digestWaiting.append(c) }
    }

    /// The share's data, once indexed; nil if it closed first.
    private func indexedData(_ shareID: [UInt8]) async -> IndexedShare? {
        guard let st = shares[shareID], !st.closed else { return nil }
        if let indexed = st.share.indexed { return indexed }
        return await withCheckedContinuation { c in shares[shareID]?.waiting.append(c) }
    }

    public func finish() { emit.finish() }

    /// Whether the share is gone or closed (e.g. after too many wrong codes).
    public func isClosed(shareID: [UInt8]) -> Bool { shares[shareID]?.closed ?? true }

    private func lookup(selector: [UInt8]) -> ServedShare? {
        guard let id = bySelector[selector], let st = shares[id], !st.closed else { return nil }
        return st.share
    }

    private func recordFailure(selector: [UInt8], peer: String) {
        guard let id = bySelector[selector], var st = shares[id], !st.closed else { return }
        st.failed += 1
        shares[id] = st
        emit.yield(.wrongCode(peer: peer, failedAttempts: st.failed))
        if st.failed >= Self.maxFailedAttempts {
            remove(shareID: id, reason: "\(st.failed) wrong codes")
        }
    }

    private func grant(peer: String, manifest: Digest32) {
        grants[peer, default: []].insert(manifest)
        emit.yield(.fetchStarted(peer: peer))
    }

    private func reader(for manifest: Digest32, peer: String) -> (ChunkReader, ChunkMap)? {
        guard grants[peer]?.contains(manifest) == true else { return nil }
        for st in shares.values where !st.closed && (st.share.indexed?.manifestID == manifest || st.draft?.id == manifest) {
            if let reader = st.reader, let map = st.map { return (reader, map) }
        }
        return nil
    }

    /// Chunks sent to `peer` so far, over all its chunk streams.
    public func chunksServed(to peer: String) -> Int { counter.get(peer) }

    private func completed(peer: String, manifest: Digest32) {
        emit.yield(.fetchCompleted(peer: peer))
    }

    /// Chunk streams open per peer: a fetch uses several, and it stopped only when the last one
    /// ends without a goodbye while no other is open.
    private var openStreams: [String: Int] = [:]

    private func markCompleted(peer: String) { completedPeers.insert(peer) }

    private func streamOpened(peer: String) { openStreams[peer, default: 0] += 1 }

    private func streamClosed(peer: String, finished: Bool) {
        let left = (openStreams[peer] ?? 1) - 1
        openStreams[peer] = left > 0 ? left : nil
        if left <= 0 && !finished && !completedPeers.contains(peer) { emit.yield(.fetchStopped(peer: peer)) }
        if left <= 0 { completedPeers.remove(peer) }
    }

    /// Whether any fetcher has a chunk stream open (a fetch in progress).
    public var isServingChunks: Bool { !openStreams.isEmpty }

    /// Peers whose current fetch said goodbye (until their last stream closes).
    private var completedPeers: Set<String> = []

    fileprivate func changed(path: String) { emit.yield(.fileChanged(path: path)) }

    // MARK: - Stream handlers

    /// Serves one `/gigi/share/1.0.0` stream from `remotePeer` (its peer-ID bytes and printable form).
    public nonisolated func handleShareStream(_ stream: TransferStream, remotePeer: [UInt8], remoteName: String) async {
        let reader = StreamReader(stream)
        var selectorForFailure: [UInt8]? = nil
        do {
            guard let first = try await reader.readMessage(maxSize: ShareWire.maxHandshakeSize),
                  let hello = try ShareWire.decode(first).pakeMessage,
                  case .hello(let selector, _, _) = hello else {
                throw SharePAKEError.protocolViolation("expected hello")
            }
            guard let share = await lookup(selector: selector), let secret = share.secrets[selector] else {
                try await refuse(stream, ShareWire.noSuchShare)
                return
            }
            selectorForFailure = selector
            let context = SharePAKEContext(fetcherPeer: remotePeer, sharerPeer: localPeer, selector: selector)
            var machine = SharePAKESharer(secret: secret, context: context)
            let reply = try machine.receiveHello(hello)
            try await stream.writeMessage(ShareWire(reply).encoded())
            guard let second = try await reader.readMessage(maxSize: ShareWire.maxHandshakeSize),
                  let confirm = try ShareWire.decode(second).pakeMessage else {
                throw SharePAKEError.wrongCode   // the fetcher saw a bad tag and left: a failed guess
            }
            _ = try machine.receiveConfirm(confirm)
            selectorForFailure = nil
            // (A share added before its indexing finished: the manifest follows when it does.)
            guard await indexedData(share.shareID) != nil, let offered = await offer(share.shareID) else {
                try await refuse(stream, ShareWire.noSuchShare)
                return
            }
            await grant(peer: remoteName, manifest: offered.id)
            var accept = ShareWire(kind: .accept)
            accept.manifestID = offered.id.bytes
            accept.manifest = offered.bytes
            if offered.pending { accept.pending = true }
            try await stream.writeMessage(accept.encoded())
            if offered.pending {
                // The chunks flow meanwhile (on chunk streams, by the draft's id).
                switch await digestsResult(share.shareID) {
                case .success(let complete):
                    var digests = ShareWire(kind: .digests)
                    digests.manifestID = complete.manifestID.bytes
                    digests.digests = complete.manifest.fileDigests
                    try await stream.writeMessage(digests.encoded())
                case .failure(let f):
                    try await stream.writeMessage(ShareWire.reject(f.reason).encoded())
                }
            }
            try await stream.closeWrite()
        } catch {
            if let selector = selectorForFailure {
                await recordFailure(selector: selector, peer: remoteName)
                try? await stream.writeMessage(ShareWire.reject(ShareWire.wrongCode).encoded())
            }
            await stream.reset()
        }
    }

    /// Refuses a share stream: a reject with `reason`, then the end of our side.
    private nonisolated func refuse(_ stream: TransferStream, _ reason: String) async throws {
        try await stream.writeMessage(ShareWire.reject(reason).encoded())
        try await stream.closeWrite()
    }

    /// Serves one `/gigi/chunks/1.0.0` stream.
    ///
    /// Requests that arrive together are answered together: each answer's header
    /// and data go into one buffer (the data pread straight into it), up to
    /// `maxBatchBytes` per write, so the host sees few large writes.
    public nonisolated func handleChunkStream(_ stream: TransferStream, remoteName: String) async {
        let reader = StreamReader(stream)
        var serving = false, finished = false
        do {
            guard let open = try await reader.readMessage(maxSize: ChunkWire.maxOpenSize) else { return }
            let req = try decodeCBOR(ChunkOpen.self, open, maxSize: ChunkWire.maxOpenSize)
            guard let mid = Digest32(bytes: req.manifestID),
                  let (chunks, map) = await self.reader(for: mid, peer: remoteName) else {
                try await stream.writeMessage(encodeCBOR(ChunkOpenReply(ok: false, reason: "not authorised")))
                try await stream.closeWrite()
                return
            }
            try await stream.writeMessage(encodeCBOR(ChunkOpenReply(ok: true)))
            serving = true
            await streamOpened(peer: remoteName)
            let allocator = ByteBufferAllocator()
            let chunkSize = chunks.chunkSize
            var goodbye = false
            while !goodbye, var r = try await reader.readBuffer(4) {
                var out = allocator.buffer(capacity: min(Self.maxBatchBytes, ChunkWire.headerSize + chunkSize))
                var sent = 0
                while true {
                    let n = r.readInteger(as: UInt32.self)!
                    if n == ChunkWire.goodbye { goodbye = true; break }
                    if let (entry, index) = map.locate(Int(n)) {
                        switch chunks.read(entry: entry, chunk: index, number: n, into: &out) {
                        case .ok: sent += 1
                        case let status:
                            if status == .changed, let p = chunks.path(entry) { await changed(path: p) }
                            ChunkWire.writeHeader(chunk: n, status: status, length: 0, into: &out)
                        }
                    } else {
                        ChunkWire.writeHeader(chunk: n, status: .notFound, length: 0, into: &out)
                    }
                    // More requests already here and room for another answer: batch it.
                    guard reader.buffered >= 4,
                          out.readableBytes + ChunkWire.headerSize + chunkSize <= Self.maxBatchBytes else { break }
                    r = try await reader.readBuffer(4)!
                }
                if sent > 0 { counter.add(remoteName, sent) }
                if out.readableBytes > 0 { try await stream.write(out) }
            }
            if goodbye {
                finished = true
                await markCompleted(peer: remoteName)
                await completed(peer: remoteName, manifest: mid)
            }
            try await stream.closeWrite()
        } catch {
            await stream.reset()
        }
        if serving { await streamClosed(peer: remoteName, finished: finished) }
    }

    /// Largest answer batch handed to the stream in one write.
    static let maxBatchBytes = 512 << 10
}

/// Chunks sent per peer; updated by the chunk streams without an actor hop.
final class ServedCounter: @unchecked Sendable {
    private let lock = NSLockLike()
    private var served: [String: Int] = [:]

    func add(_ peer: String, _ n: Int) { lock.withLock { served[peer, default: 0] += n } }
    func get(_ peer: String) -> Int { lock.withLock { served[peer] ?? 0 } }
}

/// Reads chunks from a share's files, refusing files changed since indexing.
/// At most `maxOpenFiles` of them are open at once.
final class ChunkReader: @unchecked Sendable {
    private let indexed: IndexedShare
    private let files = OpenFiles(limit: ChunkReader.maxOpenFiles, readOnly: true)
    static let maxOpenFiles = 64

    init(_ indexed: IndexedShare) { self.indexed = indexed }

    var chunkSize: Int { indexed.manifest.chunkSize }

    func path(_ entry: Int) -> String? { indexed.sources[entry]?.path }

    /// Appends chunk `number`'s answer (header, then the data pread straight into
    /// `out`) and returns `.ok`; on failure appends nothing and returns the status.
    func read(entry: Int, chunk: Int, number: UInt32, into out: inout ByteBuffer) -> ChunkWire.Status {
        guard let src = indexed.sources[entry] else { return .notFound }
        let e = indexed.manifest.entries[entry]
        let cs = indexed.manifest.chunkSize
        let length = e.chunkLength(chunk, chunkSize: cs)
        guard let fd = try? files.acquire(entry, path: src.path, create: false) else { return .ioError }
        defer { files.release(entry) }
        guard let now = FileStamp.current(fd: fd), now == src.stamp else { return .changed }
        let mark = out.writerIndex
        ChunkWire.writeHeader(chunk: number, status: .ok, length: length, into: &out)
        let offset = off_t(chunk) * off_t(cs)
        let ok = out.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { buf -> Int in
            preadFully(fd: fd, into: UnsafeMutableRawBufferPointer(rebasing: buf[0..<length]), offset: offset) ? length : 0
        } == length
        // A file rewritten in place with the same size and mtime cannot be caught by
        // its stamp; the fetcher's BLAKE3 check still rejects such data.
        guard ok || length == 0 else {
            out.moveWriterIndex(to: mark)
            return .ioError
        }
        return .ok
    }
}

/// A tiny mutex (pthread) so this module needs no Foundation.
final class NSLockLike: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
    /// Runs `body` only if the lock is free right now.
    func withLockIfFree<T>(_ body: () throws -> T) rethrows -> T? {
        guard pthread_mutex_trylock(&m) == 0 else { return nil }
        defer { pthread_mutex_unlock(&m) }
        return try body()
    }
}
