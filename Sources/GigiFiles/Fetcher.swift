// The fetcher: the share handshake (PAKE, then the manifest) and the chunk
// pull loop, all driven by one FetchScheduler.
//
// Pipeline: each provider gets `streamsPerProvider` chunk streams, each its own
// task that requests chunks within the provider's window, receives the answers
// as buffers, checks their BLAKE3 and pwrites them — so several chunks are
// verified at once on several cores while more arrive. Off that path: a
// committer (fdatasync, then the LMDB record of what was synced: the store's
// ordering rule, per batch) and a hasher that carries each file's SHA-256
// forward over the verified chunks, so the end of a fetch only checks digests.
//
// Resume: chunks recorded in the downloads table are trusted (they were fdatasynced
// before being recorded); chunks of a partial file that existed but are not
// recorded are re-hashed from disk, so data that reached the disk before a
// kill -9 is not fetched again. Local reuse: chunks with the same BLAKE3 in
// files the fetcher already holds (see `LocalChunkSource`) are copied.

#if canImport(Glibc)
import Glibc
#endif
import GigiBase
import GigiCBOR
import GigiCrypto
import GigiStore
import Foundation
import Dispatch
import NIOCore

/// Result of a successful handshake.
public struct OfferedShare: Sendable {
    public let manifestID: Digest32
    public let manifestBytes: [UInt8]
    public let manifest: Manifest
    /// Set when the sharer's SHA-256 pass still runs: `manifest` has the digests zeroed (its
    /// id names the share), and this waits for the complete manifest's id and the digests.
    public let pendingDigests: (@Sendable () async throws -> (id: Digest32, digests: [UInt8]))?

    public init(manifestID: Digest32, manifestBytes: [UInt8], manifest: Manifest,
                pendingDigests: (@Sendable () async throws -> (id: Digest32, digests: [UInt8]))? = nil) {
        self.manifestID = manifestID
        self.manifestBytes = manifestBytes
        self.manifest = manifest
        self.pendingDigests = pendingDigests
    }
}

public enum ShareClient {
    /// Runs the share handshake on `stream` and returns the validated manifest. `confirmed`
    /// runs once this side has proved the code and waits for the manifest (a sharer still
    /// indexing sends it when it is done).
    public static func handshake(_ stream: TransferStream, secret: [UInt8], context: SharePAKEContext,
                                 confirmed: (@Sendable () -> Void)? = nil) async throws -> OfferedShare {
        do { return try await run(stream, secret: secret, context: context, confirmed: confirmed) } catch {
            await stream.reset()
            throw error
        }
    }

    static func run(_ stream: TransferStream, secret: [UInt8], context: SharePAKEContext,
                    confirmed: (@Sendable () -> Void)?) async throws -> OfferedShare {
        let reader = StreamReader(stream)
        var machine = try SharePAKEFetcher(secret: secret, context: context)
        try await stream.writeMessage(ShareWire(machine.hello).encoded())
        guard let r = try await reader.readMessage(maxSize: ShareWire.maxHandshakeSize) else {
            throw SharePAKEError.wrongCode
        }
        let reply = try ShareWire.decode(r)
        if reply.kind == .reject {
            throw reply.reason == ShareWire.noSuchShare ? ShareLookupError.noSuchShare : SharePAKEError.wrongCode
        }
        guard let pake = reply.pakeMessage else { throw SharePAKEError.protocolViolation("expected reply") }
        let (confirm, _) = try machine.receive(pake)
        try await stream.writeMessage(ShareWire(confirm).encoded())
        confirmed?()
        guard let a = try await reader.readMessage(maxSize: ShareWire.maxAcceptSize) else {
            throw SharePAKEError.wrongCode
        }
        let accept = try ShareWire.decode(a)
        guard accept.kind == .accept, let mid = accept.manifestID.flatMap({ Digest32(bytes: $0) }),
              let bytes = accept.manifest else {
            guard accept.kind == .reject else { throw SharePAKEError.protocolViolation("expected manifest") }
            // (The code was right, but the share ended while this side waited for the manifest.)
            throw accept.reason == ShareWire.noSuchShare ? ShareLookupError.noSuchShare : SharePAKEError.wrongCode
        }
        guard Manifest.id(of: bytes) == mid else { throw ManifestError.malformed("manifest id does not match its bytes") }
        let manifest = try Manifest.decode(bytes)
        try? await stream.closeWrite()
        guard accept.pending == true else { return OfferedShare(manifestID: mid, manifestBytes: bytes, manifest: manifest) }
        guard manifest.fileDigests.allSatisfy({ $0 == 0 }) else { throw ManifestError.malformed("digests both given and pending") }
        return OfferedShare(manifestID: mid, manifestBytes: bytes, manifest: manifest, pendingDigests: {
            do {
                guard let d = try await reader.readMessage(maxSize: ShareWire.maxAcceptSize) else {
                    throw DownloadError.peerFailed("the sender closed the connection before it sent the files' SHA-256")
                }
                let w = try ShareWire.decode(d)
                if w.kind == .reject {
                    if w.reason == ShareWire.noSuchShare { throw ShareLookupError.noSuchShare }
                    throw DownloadError.peerFailed("the sender's file changed since it was shared; ask for a new share")
                }
                guard w.kind == .digests, let id = w.manifestID.flatMap({ Digest32(bytes: $0) }), let digests = w.digests else {
                    throw SharePAKEError.protocolViolation("expected digests")
                }
                await stream.reset()
                return (id, digests)
            } catch {
                await stream.reset()
                throw error
            }
        })
    }
}

public enum ShareLookupError: Error, Sendable, UserFacingError {
    case noSuchShare
    public var message: String {
        "The sender has no share with that code (it ended or the number is wrong): check the code with the sender."
    }
    public var exitCode: GigiExitCode { .noInput }
}

/// Chunks the fetcher already holds elsewhere (its chunk index).
public protocol LocalChunkSource: Sendable {
    /// Bytes of a chunk with this hash and length, if held locally (unverified: the caller checks).
    func chunk(_ hash: Digest32, length: Int) -> [UInt8]?
    /// For each of `hashes`, false if this source certainly does not hold it (then `chunk` need
    /// not be asked): one batch query for a whole manifest instead of one per chunk.
    func mayHold(_ hashes: [Digest32]) -> [Bool]
}

extension LocalChunkSource {
    public func mayHold(_ hashes: [Digest32]) -> [Bool] { Array(repeating: true, count: hashes.count) }
}

/// Progress of a fetch.
public struct FetchProgress: Sendable, Equatable {
    public var bytesDone: UInt64
    public var totalBytes: UInt64
    public var chunksDone: Int
    public var totalChunks: Int
    public var networkChunks: Int
    public var localChunks: Int
    public var resumedChunks: Int
}

/// Opens a new chunk stream to one provider.
public typealias ChunkStreamOpener = @Sendable () async throws -> TransferStream

public final class Fetcher: @unchecked Sendable {
    public let writer: DownloadWriter
    public let offered: OfferedShare
    let index: FileIndex?
    private var record: DownloadRecord
    private var recordID: UInt64?
    let config: FetchSchedulerConfig
    private let lock = NSLockLike()
    private var scheduler: FetchScheduler<Int>
    private var progress: FetchProgress
    private var sinceSync = 0          // bytes verified since the last commit
    private var failure: Error?
    public var onProgress: (@Sendable (FetchProgress) -> Void)?
    /// Bytes verified since the last commit before another one starts. Commits run in
    /// the background, one at a time, so a slow disk commits bigger batches; a share
    /// smaller than this (say many small files) is never synced chunk by chunk, only
    /// file by file in `finish`.
    public var syncEveryBytes = 16 << 20
    /// Durable mode (`gigi fetch --fsync`): progress is recorded as it goes (fdatasync,
    /// then the verified bits in LMDB, every `syncEveryBytes`) and each file is fsynced
    /// before its rename. Off (the default, as rsync and cp do): write-back is left to
    /// the kernel, the verified bits are recorded only once at the start (resumed and
    /// local chunks, synced), and a resumed fetch re-hashes its partial files to find
    /// what arrived (a kill -9 loses nothing of the page cache; after a power cut the
    /// BLAKE3 check finds what the disk lost). Files replacing existing ones are always
    /// synced before the rename.
    public var durable = false
    private var committing = false
    private let commitQueue = DispatchQueue(label: "gigi.fetch.commit")
    private let hashSignal = DispatchSemaphore(value: 0)
    private var transferDone = false
    private var goodbyeSent = false
    /// The sharer's deferred SHA-256 digests (`OfferedShare.pendingDigests`), checked and
    /// handed to the writer; gives the complete manifest's id.
    private var digestTask: Task<Digest32, Error>?
    /// The id of the manifest fetched: the offered one, or (digests that followed) the
    /// complete manifest's.
    public private(set) var manifestID: Digest32

    /// `index` keeps the resume state and the local chunk index (nil: neither).
    /// `peers` names the providers (peer IDs) for `gigi downloads`; `source` and
    /// `addresses` (the code or ticket, the sharer's multiaddrs) let `gigi fetch --resume`
    /// run it again.
    public init(offered: OfferedShare, writer: DownloadWriter, index: FileIndex?, peers: [String] = ["?"],
                source: String? = nil, addresses: [String] = [], config: FetchSchedulerConfig = .init()) {
        self.offered = offered
        self.writer = writer
        self.index = index
        self.config = config
        self.manifestID = offered.manifestID
        let n = writer.map.totalChunks
        record = DownloadRecord(manifestID: offered.manifestID.bytes, destination: writer.destination,
                                chunkCount: n, bytesTotal: offered.manifest.totalSize, state: .active,
                                // (GigiCBOR decodes an empty string array as bytes: never store one.)
                                peers: peers.isEmpty ? ["?"] : peers)
        record.source = source
        // (Never an empty array: see above.)
        record.addresses = addresses.isEmpty ? nil : addresses
        record.root = writer.root
        scheduler = Self.makeScheduler(ChunkBitmap(count: n), writer: writer, config: config)
        progress = FetchProgress(bytesDone: 0, totalBytes: offered.manifest.totalSize, chunksDone: 0,
                                 totalChunks: n, networkChunks: 0, localChunks: 0, resumedChunks: 0)
    }

    public var currentProgress: FetchProgress { lock.withLock { progress } }

    private static func makeScheduler(_ verified: ChunkBitmap, writer: DownloadWriter,
                                      config: FetchSchedulerConfig) -> FetchScheduler<Int> {
        FetchScheduler(verified: verified, config: config, chunkSize: writer.manifest.chunkSize,
                       length: { [writer] c in writer.expected(c)?.length ?? 0 })
    }

    /// Opens the partial files and works out which chunks are already there:
    /// recorded in the downloads table, found on disk in a pre-existing partial file,
    /// or available locally under the same BLAKE3.
    public func prepare(reuseLocalChunks: Bool = true) throws {
        let existing = try writer.open()
        let n = writer.map.totalChunks
        // A download started while the sharer's SHA-256 pass ran is recorded under the id
        // of the manifest with its digests zeroed.
        if let index,
           let (id, rec) = try index.findDownload(manifestID: offered.manifestID, destination: writer.destination)
               ?? (try? Manifest.id(of: offered.manifest.withoutDigests().encoded()))
                   .flatMap({ try index.findDownload(manifestID: $0, destination: writer.destination) }),
           rec.verified.count == n {
            recordID = id
            // Keep what was verified; take this run's way to the sharer.
            let (source, addresses, peers) = (record.source, record.addresses, record.peers)
            record = rec
            record.source = source ?? rec.source
            record.addresses = addresses ?? rec.addresses
            record.peers = peers
        }
        var verified = record.verified
        for c in 0..<n where verified[c] {
            // A recorded chunk is on disk only if its partial file survived (it is gone
            // once renamed into place, or if someone removed it).
            if let (entry, _) = writer.map.locate(c), !existing.contains(entry) { verified[c] = false }
        }
        let local: LocalChunkSource? = reuseLocalChunks ? index : nil
        // One batch lookup of every missing chunk in the local index, not one per chunk.
        let missing = (0..<n).filter { !verified[$0] }
        var mayBeLocal = [Bool](repeating: false, count: n)
        if let local {
            let held = local.mayHold(missing.map { writer.expected($0)?.hash ?? .zero })
            for (i, c) in missing.enumerated() { mayBeLocal[c] = held[i] }
        }
        var resumed = verified.setCount, reused = 0, bytes: UInt64 = 0
        for c in 0..<n {
            guard let (entry, _) = writer.map.locate(c), let exp = writer.expected(c) else { continue }
            if verified[c] { bytes += UInt64(exp.length); continue }
            if existing.contains(entry), let data = writer.readChunk(c),
               BLAKE3.hash(data) == exp.hash {
                verified[c] = true; resumed += 1; bytes += UInt64(exp.length)
                continue
            }
            if let local, mayBeLocal[c], let data = local.chunk(exp.hash, length: exp.length),
               try data.withUnsafeBytes({ try writer.verifyAndWrite(c, $0) }) {
                verified[c] = true; reused += 1; bytes += UInt64(exp.length)
            }
        }
        // The download's record is committed in the background while the first chunks
        // come (resume does not depend on it: partial files are re-hashed when their
        // chunks are not recorded). From here on only `commitQueue` touches `record`.
        let (first, firstBytes) = (verified, bytes)
        commitQueue.async {
            do {
                try self.writer.sync()
                try self.save(first, bytes: firstBytes)
            } catch {
                self.fail(error)
            }
        }
        lock.withLock {
            scheduler = Self.makeScheduler(verified, writer: writer, config: config)
            progress.chunksDone = verified.setCount
            progress.bytesDone = bytes
            progress.localChunks = reused
            progress.resumedChunks = resumed
        }
    }

    /// Records `verified` in LMDB (the data must already be synced).
    private func save(_ verified: ChunkBitmap, bytes: UInt64) throws {
        guard let index else { return }
        record.verified = verified
        record.bytesDone = bytes
        record.updated = Date()
        recordID = try index.saveDownload(id: recordID, record, manifest: recordID == nil ? offered.manifestBytes : nil)
    }

    private func commit(force: Bool) throws {
        let (due, verified, bytes): (Bool, ChunkBitmap, UInt64) = lock.withLock {
            let due = force || sinceSync >= syncEveryBytes
            if due { sinceSync = 0 }
            return (due, scheduler.verified, progress.bytesDone)
        }
        guard due else { return }
        // Every chunk in `verified` was written before this point: the sync covers it.
        try writer.sync()
        try save(verified, bytes: bytes)
    }

    /// Starts a background commit if one is due and none is running.
    private func commitInBackground() {
        guard durable else { return }
        let start: Bool = lock.withLock {
            guard !committing, sinceSync >= syncEveryBytes, failure == nil else { return false }
            committing = true
            return true
        }
        guard start else { return }
        commitQueue.async {
            do { try self.commit(force: false) } catch { self.fail(error) }
            self.lock.withLock { self.committing = false }
        }
    }

    /// Waits until no background commit is running.
    private func commitsSettled() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in commitQueue.async { c.resume() } }
    }

    /// Commits now (off the cooperative pool), after any background commit; in
    /// durable mode only (otherwise resume re-hashes, and a failure need not wait for the disk).
    private func commitNow() async throws {
        guard durable else { return }
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, Error>) in
            commitQueue.async { c.resume(with: Result { try self.commit(force: true) }) }
        }
    }

    /// Carries the files' SHA-256 forward while the transfer runs (own thread).
    private func startHasher() -> DispatchSemaphore {
        let finished = DispatchSemaphore(value: 0)
        let scratchSize = offered.manifest.chunkSize
        DispatchQueue(label: "gigi.fetch.sha256").async {
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchSize, alignment: 4096)
            defer { scratch.deallocate(); finished.signal() }
            while true {
                let (verified, done) = self.lock.withLock { (self.scheduler.verified, self.transferDone) }
                do {
                    if try self.writer.advanceHashes(verified, scratch: scratch) > 0 { continue }
                } catch {
                    return   // finish() hashes what is left, and reports the error
                }
                if done { return }
                _ = self.hashSignal.wait(timeout: .now() + .milliseconds(20))
            }
        }
        return finished
    }

    /// Pulls every missing chunk from the providers, then verifies and renames
    /// the files. `providers` open chunk streams (each call a new stream to that provider).
    public func run(providers: [ChunkStreamOpener], overwrite: Bool) async throws -> FetchProgress {
        if let pending = offered.pendingDigests {
            let manifest = offered.manifest, writer = self.writer
            digestTask = Task {
                let (id, digests) = try await pending()
                guard let complete = manifest.withDigests(digests), Manifest.id(of: try complete.encoded()) == id else {
                    throw DownloadError.corruptData("its SHA-256 digests do not make the file list it named")
                }
                writer.expectDigests(digests)
                return id
            }
        }
        if lock.withLock({ scheduler.isComplete }), let first = providers.first {
            // Nothing to pull (empty files, or all held locally): still say goodbye, so a
            // one-shot sharer knows this fetch is complete.
            if await digestsArrived() { await sayGoodbye(first) }
        }
        if !lock.withLock({ scheduler.isComplete }) {
            let hasher = startHasher()
            let streams = max(1, config.streamsPerProvider)
            let perStream = max(1, (config.maxWindow * writer.manifest.chunkSize + streams - 1) / streams)
            await withTaskGroup(of: Void.self) { group in
                for (i, open) in providers.enumerated() {
                    lock.withLock { scheduler.addProvider(i) }
                    for _ in 0..<streams {
                        group.addTask { await self.pull(provider: i, open: open, limit: perStream) }
                    }
                }
            }
            lock.withLock { transferDone = true }
            hashSignal.signal()
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { hasher.wait(); c.resume() }
            }
        }
        if let digestTask {
            do { manifestID = try await digestTask.value } catch { fail(error) }
        }
        await commitsSettled()
        if let failure = lock.withLock({ failure }) { try? await commitNow(); throw failure }
        guard lock.withLock({ scheduler.isComplete }) else {
            try? await commitNow()
            throw DownloadError.peerFailed("no provider could supply every chunk")
        }
        // No last commit of the verified bits: `finish` fsyncs every file before its
        // rename, and a crash before that finds the unrecorded chunks on disk (re-hashed).
        let durable = self.durable
        try await blocking { try self.writer.finish(overwrite: overwrite, durable: durable) }
        if let index {
            // The files are in place: index them for local reuse (entries every reader
            // re-verifies, so they need not wait for the disk), forget the download.
            var files: [(String, FileStamp, ManifestEntry)] = []
            for (i, e) in offered.manifest.entries.enumerated() where e.kind == .file {
                if let stamp = FileStamp.current(path: writer.target(i)) { files.append((writer.target(i), stamp, e)) }
            }
            let id = recordID, chunkSize = offered.manifest.chunkSize, done = files
            try await blocking { try index.indexFiles(done, chunkSize: chunkSize, removingDownload: id) }
        }
        return currentProgress
    }

    /// Waits for the deferred digests if there are any; false if they failed (then no goodbye:
    /// nothing is verified until they match).
    private func digestsArrived() async -> Bool {
        guard let digestTask else { return true }
        return (try? await digestTask.value) != nil
    }

    /// Opens a chunk stream only to tell the provider the fetch is complete.
    private func sayGoodbye(_ open: ChunkStreamOpener) async {
        guard let s = try? await open() else { return }
        let reader = StreamReader(s)
        do {
            try await s.writeMessage(encodeCBOR(ChunkOpen(manifestID: offered.manifestID.bytes)))
            guard let r = try await reader.readMessage(maxSize: ChunkWire.maxOpenSize),
                  try decodeCBOR(ChunkOpenReply.self, r, maxSize: ChunkWire.maxOpenSize).ok else {
                await s.reset()
                return
            }
            try await s.write(ChunkWire.request(ChunkWire.goodbye))
            try await s.closeWrite()
            _ = try? await reader.readExactly(1)
        } catch {
            await s.reset()
        }
    }

    /// A network or protocol error while pulling, as the user must see it: what broke,
    /// and that the same command resumes (our own errors already say what to do).
    static func transferFailure(_ error: Error) -> Error {
        if error is DownloadError { return error }
        var why = (error as? UserFacingError)?.message ?? String(describing: error)
        while why.hasSuffix(".") { why.removeLast() }
        if let first = why.first { why = first.lowercased() + why.dropFirst() }
        return DownloadError.peerFailed(why)
    }

    private func fail(_ e: Error) { lock.withLock { if failure == nil { failure = e } } }

    /// One chunk stream to provider `p`, with requests costing at most `limit` in flight.
    private func pull(provider p: Int, open: ChunkStreamOpener, limit: Int) async {
        var stream: TransferStream? = nil
        // In request order (answers come in the same order), with each request's window cost.
        var inFlight = CircularBuffer<(chunk: Int, cost: Int)>(initialCapacity: 64)
        var inFlightCost = 0
        do {
            let s = try await open()
            stream = s
            let reader = StreamReader(s)
            try await s.writeMessage(encodeCBOR(ChunkOpen(manifestID: offered.manifestID.bytes)))
            guard let r = try await reader.readMessage(maxSize: ChunkWire.maxOpenSize) else {
                throw DownloadError.peerFailed("the sender closed the connection")
            }
            let reply = try decodeCBOR(ChunkOpenReply.self, r, maxSize: ChunkWire.maxOpenSize)
            guard reply.ok else { throw DownloadError.peerFailed("the sender refused: \(reply.reason ?? "no reason")") }
            while true {
                // Stop when the fetch failed (the stream that saw why reports it) or this
                // provider was dropped (another of its streams failed).
                let budget = limit - inFlightCost
                // The window is topped up a quarter at a time, not one request per answer:
                // every write is a Noise frame and a syscall here, and a wake-up at the sharer
                // (1000 small files: 1000 writes of 4 bytes otherwise).
                let topUp = inFlight.isEmpty || budget >= limit / 4
                let next: [(chunk: Int, cost: Int)]? = lock.withLock {
                    guard failure == nil, !scheduler.hasFailed, scheduler.hasProvider(p) else { return nil }
                    guard topUp else { return [] }
                    return scheduler.nextRequests(for: p, budget: budget).map { ($0, scheduler.cost($0)) }
                }
                guard let next else { break }
                if !next.isEmpty {
                    var out = ByteBuffer()
                    out.reserveCapacity(4 * next.count)
                    for r in next { out.writeInteger(UInt32(r.chunk)); inFlightCost += r.cost; inFlight.append(r) }
                    try await s.write(out)
                }
                if inFlight.isEmpty {
                    let done = lock.withLock { scheduler.isComplete || failure != nil || !scheduler.hasProviders }
                    if done { break }
                    // Others still have chunks in flight that may be requeued to us.
                    try await Task.sleep(nanoseconds: 5_000_000)
                    continue
                }
                guard var h = try await reader.readBuffer(ChunkWire.headerSize) else {
                    throw DownloadError.peerFailed("the sender closed the connection")
                }
                let n = Int(h.readInteger(as: UInt32.self)!), status = h.readInteger(as: UInt8.self)!
                let length = Int(h.readInteger(as: UInt32.self)!)
                let (expectedChunk, cost) = inFlight.removeFirst()
                inFlightCost -= cost
                guard n == expectedChunk else { throw DownloadError.peerFailed("the sender answered out of order (chunk \(n) status \(status) length \(length), expected \(expectedChunk))") }
                if status != ChunkWire.Status.ok.rawValue {
                    guard length <= ChunkWire.maxReasonSize else { throw DownloadError.peerFailed("oversized error") }
                    if length > 0 { _ = try await reader.readBuffer(length) }
                    let acts = lock.withLock { scheduler.requestFailed(chunk: n, from: p) }
                    if status == ChunkWire.Status.changed.rawValue {
                        throw DownloadError.peerFailed("the sender's file changed since it was shared; ask for a new share")
                    }
                    if !acts.isEmpty { throw DownloadError.peerFailed("the sender could not supply chunk \(n)") }
                    continue
                }
                guard let exp = writer.expected(n), length == exp.length else {
                    throw DownloadError.peerFailed("the sender sent a chunk of the wrong size")
                }
                // A slice of what the host delivered when the chunk arrived in one read (no
                // copy), else its pieces copied together once; hashed in one pass and written
                // with one pwrite.
                guard let data = try await reader.readBuffer(length) else { throw TransferStreamError.unexpectedEOF }
                let valid = try data.withUnsafeReadableBytes { try writer.verifyAndWrite(n, $0) }
                let acts: [FetchSchedulerAction<Int>] = lock.withLock {
                    let a = scheduler.received(chunk: n, from: p, valid: valid)
                    if valid {
                        progress.chunksDone += 1
                        progress.networkChunks += 1
                        progress.bytesDone += UInt64(length)
                        sinceSync += length
                    }
                    return a
                }
                if valid {
                    // (A file of one chunk was hashed as it was written: nothing for the hasher.)
                    if !writer.isWholeFile(chunk: n) { hashSignal.signal() }
                    onProgress?(currentProgress)
                    commitInBackground()
                }
                for a in acts {
                    switch a {
                    case .fail: throw DownloadError.corruptData("chunk \(n) failed verification \(config.maxAttempts) times")
                    case .dropProvider: throw DownloadError.corruptData("\(config.maxStrikes) chunks failed verification")
                    case .request: break
                    }
                }
            }
            // The first stream to see the whole share verified says goodbye (the sharer
            // counts one completed fetch); the others just close.
            let bye = lock.withLock { () -> Bool in
                guard scheduler.isComplete, !goodbyeSent else { return false }
                goodbyeSent = true
                return true
            }
            // Best effort: everything is verified, and a one-shot sharer shuts down as soon
            // as it reads the goodbye, which may break the connection under our closeWrite.
            // (With the digests still to come, this stream waits for them: its goodbye says
            // the fetch has all it needs, and a one-shot sharer ends on it.)
            let verified = bye ? await digestsArrived() : false
            if verified { try? await s.write(ChunkWire.request(ChunkWire.goodbye)) }
            try? await s.closeWrite()
            if verified { _ = try? await reader.readExactly(1) }   // wait for the sender to close
        } catch {
            // Every chunk is in: an error now (the sharer closing first after our goodbye) changes nothing.
            if lock.withLock({ scheduler.isComplete }) {
                if let stream { await stream.reset() }
                return
            }
            let stillHasProviders = lock.withLock { () -> Bool in
                // Requeue this stream's chunks (and drop the provider: its streams stop).
                scheduler.removeProvider(p)
                return scheduler.hasProviders
            }
            if !stillHasProviders { fail(Self.transferFailure(error)) }
            if let stream { await stream.reset() }
        }
    }
}

/// Runs blocking work (fsync, hashing a file) off Swift's cooperative pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async { continuation.resume(with: Result { try body() }) }
    }
}

func encodeCBOR<T: Encodable>(_ value: T) throws -> [UInt8] { try CBOREncoder().encode(value) }

func decodeCBOR<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], maxSize: Int) throws -> T {
    var options = CBORDecodingOptions()
    options.maxInputSize = maxSize
    options.maxDepth = 4
    return try CBORDecoder(options: options).decode(type, from: bytes)
}
