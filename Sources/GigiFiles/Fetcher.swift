// The fetcher: the share handshake (PAKE, then the manifest) and the chunk
// pull loop, one task per provider, all driven by one FetchScheduler.
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

/// Result of a successful handshake.
public struct OfferedShare: Sendable {
    public let manifestID: Digest32
    public let manifestBytes: [UInt8]
    public let manifest: Manifest
}

public enum ShareClient {
    /// Runs the share handshake on `stream` and returns the validated manifest.
    public static func handshake(_ stream: TransferStream, secret: [UInt8], context: SharePAKEContext)
        async throws -> OfferedShare {
        do { return try await run(stream, secret: secret, context: context) } catch {
            await stream.reset()
            throw error
        }
    }

    static func run(_ stream: TransferStream, secret: [UInt8], context: SharePAKEContext) async throws -> OfferedShare {
        let reader = StreamReader(stream)
        var machine = try SharePAKEFetcher(secret: secret, context: context)
        try await stream.writeMessage(ShareWire(machine.hello).encoded())
        guard let r = try await reader.readMessage(maxSize: ShareWire.maxHandshakeSize) else {
            throw SharePAKEError.wrongCode
        }
        let reply = try ShareWire.decode(r)
        if reply.kind == .reject {
            throw reply.reason == "no such share" ? ShareLookupError.noSuchShare : SharePAKEError.wrongCode
        }
        guard let pake = reply.pakeMessage else { throw SharePAKEError.protocolViolation("expected reply") }
        let (confirm, _) = try machine.receive(pake)
        try await stream.writeMessage(ShareWire(confirm).encoded())
        guard let a = try await reader.readMessage(maxSize: ShareWire.maxAcceptSize) else {
            throw SharePAKEError.wrongCode
        }
        let accept = try ShareWire.decode(a)
        guard accept.kind == .accept, let mid = accept.manifestID.flatMap({ Digest32(bytes: $0) }),
              let bytes = accept.manifest else {
            throw accept.kind == .reject ? SharePAKEError.wrongCode : SharePAKEError.protocolViolation("expected manifest")
        }
        guard Manifest.id(of: bytes) == mid else { throw ManifestError.malformed("manifest id does not match its bytes") }
        let manifest = try Manifest.decode(bytes)
        try? await stream.closeWrite()
        return OfferedShare(manifestID: mid, manifestBytes: bytes, manifest: manifest)
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
    private var sinceSync = 0
    private var failure: Error?
    public var onProgress: (@Sendable (FetchProgress) -> Void)?
    /// Chunks to verify before an LMDB commit (16 MiB).
    public var syncEvery = 64

    /// `index` keeps the resume state and the local chunk index (nil: neither).
    /// `peers` names the providers (peer IDs) for `gigi downloads`.
    public init(offered: OfferedShare, writer: DownloadWriter, index: FileIndex?, peers: [String] = ["?"],
                config: FetchSchedulerConfig = .init()) {
        self.offered = offered
        self.writer = writer
        self.index = index
        self.config = config
        let n = writer.map.totalChunks
        record = DownloadRecord(manifestID: offered.manifestID.bytes, destination: writer.destination,
                                chunkCount: n, bytesTotal: offered.manifest.totalSize, state: .active,
                                // (GigiCBOR decodes an empty string array as bytes: never store one.)
                                peers: peers.isEmpty ? ["?"] : peers)
        scheduler = FetchScheduler(verified: ChunkBitmap(count: n), config: config)
        progress = FetchProgress(bytesDone: 0, totalBytes: offered.manifest.totalSize, chunksDone: 0,
                                 totalChunks: n, networkChunks: 0, localChunks: 0, resumedChunks: 0)
    }

    public var currentProgress: FetchProgress { lock.withLock { progress } }

    /// Opens the partial files and works out which chunks are already there:
    /// recorded in the downloads table, found on disk in a pre-existing partial file,
    /// or available locally under the same BLAKE3.
    public func prepare(reuseLocalChunks: Bool = true) throws {
        let existing = try writer.open()
        let n = writer.map.totalChunks
        if let index, let (id, rec) = try index.findDownload(manifestID: offered.manifestID, destination: writer.destination),
           rec.verified.count == n {
            recordID = id
            record = rec
        }
        var verified = record.verified
        let local: LocalChunkSource? = reuseLocalChunks ? index : nil
        var resumed = verified.setCount, reused = 0, bytes: UInt64 = 0
        for c in 0..<n {
            guard let (entry, _) = writer.map.locate(c), let exp = writer.expected(c) else { continue }
            if verified[c] { bytes += UInt64(exp.length); continue }
            if existing.contains(entry), let data = writer.readChunk(c),
               BLAKE3.hash(data) == exp.hash {
                verified[c] = true; resumed += 1; bytes += UInt64(exp.length)
                continue
            }
            if let local, let data = local.chunk(exp.hash, length: exp.length),
               try data.withUnsafeBytes({ try writer.verifyAndWrite(c, $0) }) {
                verified[c] = true; reused += 1; bytes += UInt64(exp.length)
            }
        }
        try writer.sync()
        try save(verified, bytes: bytes)
        lock.withLock {
            scheduler = FetchScheduler(verified: verified, config: config)
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
            let due = force || sinceSync >= syncEvery
            if due { sinceSync = 0 }
            return (due, scheduler.verified, progress.bytesDone)
        }
        guard due else { return }
        try writer.sync()
        try save(verified, bytes: bytes)
    }

    /// Pulls every missing chunk from the providers, then verifies and renames
    /// the files. `providers` open chunk streams (one per provider).
    public func run(providers: [ChunkStreamOpener], overwrite: Bool) async throws -> FetchProgress {
        if lock.withLock({ scheduler.isComplete }), let first = providers.first {
            // Nothing to pull (empty files, or all held locally): still say goodbye, so a
            // one-shot sharer knows this fetch is complete.
            await sayGoodbye(first)
        }
        if !lock.withLock({ scheduler.isComplete }) {
            await withTaskGroup(of: Void.self) { group in
                for (i, open) in providers.enumerated() {
                    lock.withLock { scheduler.addProvider(i) }
                    group.addTask { await self.pull(provider: i, open: open) }
                }
            }
        }
        if let failure = lock.withLock({ failure }) { try? commit(force: true); throw failure }
        guard lock.withLock({ scheduler.isComplete }) else {
            try? commit(force: true)
            throw DownloadError.peerFailed("no provider could supply every chunk")
        }
        try commit(force: true)
        try writer.finish(overwrite: overwrite)
        if let index {
            // The files are in place and synced: index them for local reuse, forget the download.
            for (i, e) in offered.manifest.entries.enumerated() where e.kind == .file {
                if let stamp = FileStamp.current(path: writer.target(i)) {
                    try index.indexFile(path: writer.target(i), stamp: stamp, entry: e, chunkSize: offered.manifest.chunkSize)
                }
            }
            if let recordID { try index.removeDownload(id: recordID) }
        }
        return currentProgress
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

    private func pull(provider p: Int, open: ChunkStreamOpener) async {
        var stream: TransferStream? = nil
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
            var inFlight: [Int] = []      // in request order; answers come in the same order
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: offered.manifest.chunkSize, alignment: 64)
            defer { buffer.deallocate() }
            while true {
                let actions = lock.withLock { failure == nil ? scheduler.nextActions() : [] }
                var out: [UInt8] = []
                for case .request(let c, let to) in actions where to == p {
                    inFlight.append(c)
                    out += ChunkWire.request(UInt32(c))
                }
                if actions.contains(where: { if case .fail = $0 { return true } else { return false } }) {
                    throw DownloadError.peerFailed("a chunk failed verification repeatedly")
                }
                if !out.isEmpty { try await s.write(out) }
                if inFlight.isEmpty {
                    let done = lock.withLock { scheduler.isComplete || failure != nil || !scheduler.hasProviders }
                    if done { break }
                    // Others still have chunks in flight that may be requeued to us.
                    try await Task.sleep(nanoseconds: 5_000_000)
                    continue
                }
                guard let h = try await reader.readExactly(ChunkWire.headerSize) else {
                    throw DownloadError.peerFailed("the sender closed the connection")
                }
                let n = Int(ChunkWire.be32(h, 0)), status = h[4], length = Int(ChunkWire.be32(h, 5))
                let expectedChunk = inFlight.removeFirst()
                guard n == expectedChunk else { throw DownloadError.peerFailed("the sender answered out of order (chunk \(n) status \(status) length \(length), expected \(expectedChunk))") }
                if status != ChunkWire.Status.ok.rawValue {
                    guard length <= ChunkWire.maxReasonSize else { throw DownloadError.peerFailed("oversized error") }
                    if length > 0 { _ = try await reader.readExactly(length) }
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
                let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
                try await reader.read(into: slice)
                let valid = try writer.verifyAndWrite(n, UnsafeRawBufferPointer(slice))
                let acts: [FetchSchedulerAction<Int>] = lock.withLock {
                    let a = scheduler.received(chunk: n, from: p, valid: valid)
                    if valid {
                        progress.chunksDone += 1
                        progress.networkChunks += 1
                        progress.bytesDone += UInt64(length)
                        sinceSync += 1
                    }
                    return a
                }
                if valid { onProgress?(currentProgress); try commit(force: false) }
                for a in acts {
                    switch a {
                    case .fail: throw DownloadError.corruptData("chunk \(n) failed verification \(config.maxAttempts) times")
                    case .dropProvider: throw DownloadError.corruptData("\(config.maxStrikes) chunks failed verification")
                    case .request: break
                    }
                }
            }
            if lock.withLock({ scheduler.isComplete }) {
                // Best effort: everything is verified, and a one-shot sharer shuts down as soon
                // as it reads the goodbye, which may break the connection under our closeWrite.
                try? await s.write(ChunkWire.request(ChunkWire.goodbye))
                try? await s.closeWrite()
                _ = try? await reader.readExactly(1)   // wait for the sender to close
            }
        } catch {
            // Every chunk is in: an error now (the sharer closing first after our goodbye) changes nothing.
            if lock.withLock({ scheduler.isComplete }) {
                if let stream { await stream.reset() }
                return
            }
            lock.withLock { scheduler.removeProvider(p) }
            let stillHasProviders = lock.withLock { scheduler.hasProviders }
            if !stillHasProviders { fail(Self.transferFailure(error)) }
            if let stream { await stream.reset() }
        }
    }
}

func encodeCBOR<T: Encodable>(_ value: T) throws -> [UInt8] { try CBOREncoder().encode(value) }

func decodeCBOR<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], maxSize: Int) throws -> T {
    var options = CBORDecodingOptions()
    options.maxInputSize = maxSize
    options.maxDepth = 4
    return try CBORDecoder(options: options).decode(type, from: bytes)
}
