import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest
import GigiCrypto
import GigiStore
import GigiBase
@testable import GigiFiles

/// Sharer and fetcher in one process over in-memory pipes: the protocol logic,
/// files on disk, resume and local reuse, without the network.
final class FetcherTests: XCTestCase {
    var tmp: String = ""

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "gigi-fetcher-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp + "/src", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tmp + "/dst", withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tmp) }

    func write(_ rel: String, _ data: [UInt8]) throws {
        let url = URL(fileURLWithPath: tmp + "/src/" + rel)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(data).write(to: url)
    }

    func randomData(_ n: Int) -> [UInt8] { SystemRandom.bytes(n) }

    let fetcherPeer = Array("peer-F".utf8), sharerPeer = Array("peer-S".utf8)

    func serve(_ paths: [String], secret: [UInt8] = Array("pw".utf8)) async throws -> (ShareServer, IndexedShare) {
        let indexed = try Indexer().index(paths: paths)
        let server = ShareServer(localPeer: sharerPeer)
        await server.add(ServedShare(shareID: Array(repeating: 7, count: 16), secrets: [Array("12".utf8): secret], indexed: indexed))
        return (server, indexed)
    }

    /// (`waitForServer` false: a share whose digests follow keeps its stream open.)
    func handshake(_ server: ShareServer, secret: [UInt8] = Array("pw".utf8), waitForServer: Bool = true) async throws -> OfferedShare {
        let (a, b) = MemoryPipe.pair()
        let peer = fetcherPeer
        let task = Task { await server.handleShareStream(b, remotePeer: peer, remoteName: "F") }
        let ctx = SharePAKEContext(fetcherPeer: fetcherPeer, sharerPeer: sharerPeer, selector: Array("12".utf8))
        do {
            let offered = try await ShareClient.handshake(a, secret: secret, context: ctx)
            if waitForServer { await task.value }
            return offered
        } catch {
            await task.value
            throw error
        }
    }

    func opener(_ server: ShareServer, counter: Counter? = nil) -> ChunkStreamOpener {
        { [fetcherPeer = self.fetcherPeer] in
            _ = fetcherPeer
            let (a, b) = MemoryPipe.pair()
            Task { await server.handleChunkStream(b, remoteName: "F") }
            return a
        }
    }

    final class Counter: @unchecked Sendable { var n = 0 }

    func fetch(_ server: ShareServer, overwrite: Bool = false, index: FileIndex? = nil) async throws -> FetchProgress {
        let offered = try await handshake(server)
        let writer = try DownloadWriter(manifest: offered.manifest, root: tmp + "/dst")
        try writer.preflight(overwrite: overwrite, bytesNeeded: offered.manifest.totalSize)
        let f = Fetcher(offered: offered, writer: writer, index: index)
        try f.prepare()
        return try await f.run(providers: [opener(server)], overwrite: overwrite)
    }

    func assertSame(_ rel: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try Data(contentsOf: URL(fileURLWithPath: tmp + "/src/" + rel))
        let b = try Data(contentsOf: URL(fileURLWithPath: tmp + "/dst/" + rel))
        XCTAssertEqual(a, b, rel, file: file, line: line)
    }

    func testTreeWithEdgeSizes() async throws {
        let sizes = [0, 1, 262_144, 262_145, 3 * 262_144 + 17]
        for s in sizes { try write("tree/f\(s)", randomData(s)) }
        try write("tree/nested/deeper/ünï cödé.txt", Array("hello".utf8))
        try FileManager.default.createDirectory(atPath: tmp + "/src/tree/empty/inner", withIntermediateDirectories: true)
        let (server, indexed) = try await serve([tmp + "/src/tree"])
        XCTAssertEqual(indexed.manifest.totalChunks, 0 + 1 + 1 + 2 + 4 + 1)
        let p = try await fetch(server)
        XCTAssertEqual(p.networkChunks, 9)
        for s in sizes { try assertSame("tree/f\(s)") }
        try assertSame("tree/nested/deeper/ünï cödé.txt")
        var isDir: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: tmp + "/dst/tree/empty/inner", isDirectory: &isDir) && isDir.boolValue)
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: tmp + "/dst").filter { $0.contains(".gigi-partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testWrongSecretCountedAndShareClosesAfterThree() async throws {
        try write("a", [1, 2, 3])
        let (server, _) = try await serve([tmp + "/src/a"])
        for _ in 0..<3 {
            do { _ = try await handshake(server, secret: Array("nope".utf8)); XCTFail("accepted a wrong secret") }
            catch { XCTAssertEqual(error as? SharePAKEError, .wrongCode) }
        }
        await server.finish()
        var events: [ShareEvent] = []
        for await e in server.events { events.append(e) }
        XCTAssertEqual(events.filter { if case .wrongCode = $0 { return true } else { return false } }.count, 3)
        XCTAssertTrue(events.contains(.closed(reason: "3 wrong codes")))
        // Closed: even the right secret is refused now.
        do { _ = try await handshake(server); XCTFail("closed share answered") } catch {}
    }

    func testChunksNeedAGrant() async throws {
        try write("a", [1, 2, 3])
        let (server, indexed) = try await serve([tmp + "/src/a"])
        let (a, b) = MemoryPipe.pair()
        Task { await server.handleChunkStream(b, remoteName: "stranger") }
        try await a.writeMessage(encodeCBOR(ChunkOpen(manifestID: indexed.manifestID.bytes)))
        let reply = try await StreamReader(a).readMessage(maxSize: 1024)
        XCTAssertEqual(try decodeCBOR(ChunkOpenReply.self, XCTUnwrap(reply), maxSize: 1024).ok, false)
    }

    func testResumeUsesRecordedAndOnDiskChunks() async throws {
        let data = randomData(10 * 262_144)
        try write("big", data)
        let (server, _) = try await serve([tmp + "/src/big"])
        let index = try FileIndex(home: tmp + "/home")
        // A crash: chunks 0-4 reached the partial file, 0-1 were recorded in LMDB.
        let offered = try await handshake(server)
        let writer = try DownloadWriter(manifest: offered.manifest, root: tmp + "/dst")
        try writer.open()
        var bm = ChunkBitmap(count: 10)
        for c in 0..<5 {
            let ok = try data[(c * 262_144)..<((c + 1) * 262_144)].withUnsafeBytes { try writer.verifyAndWrite(c, $0) }
            XCTAssertTrue(ok)
            if c < 2 { bm[c] = true }
        }
        try writer.sync()
        var rec = DownloadRecord(manifestID: offered.manifestID.bytes, destination: writer.destination,
                                 chunkCount: 10, bytesTotal: UInt64(data.count), state: .active, peers: ["S"])
        rec.verified = bm
        _ = try index.saveDownload(id: nil, rec, manifest: offered.manifestBytes)
        XCTAssertEqual(try index.partialDownloads().count, 1)
        XCTAssertEqual(try index.partialDownloads().first?.manifest?.topLevelNames, ["big"])
        let p = try await fetch(server, index: index)
        XCTAssertEqual(p.resumedChunks, 5)
        XCTAssertEqual(p.networkChunks, 5)
        try assertSame("big")
        XCTAssertEqual(try index.partialDownloads().count, 0)
    }

    func testLocalReuseMovesOnlyChangedChunks() async throws {
        var data = randomData(12 * 262_144)
        try write("v", data)
        let index = try FileIndex(home: tmp + "/home")
        let (s1, _) = try await serve([tmp + "/src/v"])
        let p1 = try await fetch(s1, index: index)
        XCTAssertEqual(p1.networkChunks, 12)
        // The fetcher's batch pre-check: every indexed chunk may be held, an unknown hash is not.
        var hashes: [Digest32] = []
        try index.store.read { txn in try index.store.chunks.forEach(in: txn) { h, _ in hashes.append(h); return true } }
        XCTAssertEqual(hashes.count, 12)
        XCTAssertEqual(index.mayHold([Digest32.zero] + hashes.reversed()), [false] + Array(repeating: true, count: 12))
        for i in (5 * 262_144)..<(5 * 262_144 + 1000) { data[i] ^= 0xff }
        try write("v", data)
        let (s2, _) = try await serve([tmp + "/src/v"])
        let p2 = try await fetch(s2, overwrite: true, index: index)
        XCTAssertEqual(p2.networkChunks, 1)
        XCTAssertEqual(p2.localChunks, 11)
        try assertSame("v")
    }

    func testCorruptChunkNeverWritten() async throws {
        try write("a", randomData(300_000))
        let (server, indexed) = try await serve([tmp + "/src/a"])
        let offered = try await handshake(server)
        let writer = try DownloadWriter(manifest: offered.manifest, root: tmp + "/dst")
        try writer.open()
        var bad = try Array(Data(contentsOf: URL(fileURLWithPath: tmp + "/src/a")))[0..<262_144].map { $0 }
        bad[100] ^= 1
        XCTAssertFalse(try bad.withUnsafeBytes { try writer.verifyAndWrite(0, $0) })
        XCTAssertEqual(indexed.manifest.totalChunks, 2)
    }

    func testExistingTargetNeedsOverwrite() async throws {
        try write("a", [1])
        FileManager.default.createFile(atPath: tmp + "/dst/a", contents: Data([9]))
        let (server, _) = try await serve([tmp + "/src/a"])
        do { _ = try await fetch(server); XCTFail("overwrote") } catch {
            XCTAssertEqual((error as? DownloadError).map { if case .exists = $0 { return true } else { return false } }, true)
        }
        _ = try await fetch(server, overwrite: true)
        try assertSame("a")
    }

    func testSymlinkInDestinationRefused() async throws {
        try write("d/x", [1])
        try FileManager.default.createDirectory(atPath: tmp + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: tmp + "/dst/d", withDestinationPath: tmp + "/elsewhere")
        let (server, _) = try await serve([tmp + "/src/d"])
        do { _ = try await fetch(server, overwrite: true); XCTFail("followed a symlink") } catch {}
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp + "/elsewhere"), [])
    }

    /// A share added with no data yet (still indexing) and a fetcher that has proved its
    /// code and waits for the manifest: the server, the share id, the handshake (`done` is
    /// set when it returns) and the sharer's stream task.
    func waitingFetcher() async throws -> (ShareServer, [UInt8], Task<OfferedShare, Error>, Flag, Task<Void, Never>) {
        let server = ShareServer(localPeer: sharerPeer)
        let id = Array(repeating: UInt8(7), count: 16)
        await server.add(ServedShare(shareID: id, secrets: [Array("12".utf8): Array("pw".utf8)], indexed: nil))
        let (a, b) = MemoryPipe.pair()
        let peer = fetcherPeer
        let served = Task { await server.handleShareStream(b, remotePeer: peer, remoteName: "F") }
        let ctx = SharePAKEContext(fetcherPeer: fetcherPeer, sharerPeer: sharerPeer, selector: Array("12".utf8))
        let confirmed = Flag(), done = Flag()
        let handshake = Task {
            defer { done.set() }
            return try await ShareClient.handshake(a, secret: Array("pw".utf8), context: ctx, confirmed: { confirmed.set() })
        }
        while !confirmed.value { try await Task.sleep(nanoseconds: 1_000_000) }
        return (server, id, handshake, done, served)
    }

    /// A share added before its indexing finished (`gigi share` prints its code at once):
    /// a fetcher that proves the code waits, and gets the manifest when the data is provided.
    func testFetcherWaitsForAShareStillIndexing() async throws {
        try write("late.bin", randomData(700_000))
        let indexed = try Indexer().index(paths: [tmp + "/src/late.bin"])
        let (server, id, handshake, done, served) = try await waitingFetcher()
        try await Task.sleep(nanoseconds: 50_000_000)
        XCTAssertFalse(done.value, "the manifest came before the share had one")
        await server.provide(shareID: id, indexed)
        let offered = try await handshake.value
        await served.value
        XCTAssertEqual(offered.manifestID, indexed.manifestID)
        let writer = try DownloadWriter(manifest: offered.manifest, root: tmp + "/dst")
        let f = Fetcher(offered: offered, writer: writer, index: nil)
        try f.prepare()
        _ = try await f.run(providers: [opener(server)], overwrite: false)
        try assertSame("late.bin")
    }

    /// The share ends (indexing failed, Ctrl-C) while a fetcher waits for its manifest: the
    /// fetcher is told there is no such share, not that its code was wrong.
    func testShareEndingWhileIndexingTellsTheWaitingFetcher() async throws {
        let (server, id, handshake, _, served) = try await waitingFetcher()
        await server.remove(shareID: id, reason: "indexing failed")
        do { _ = try await handshake.value; XCTFail("got a manifest") } catch {
            XCTAssertTrue(error is ShareLookupError, "\(error)")
        }
        await served.value
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var on = false
        func set() { lock.withLock { on = true } }
        var value: Bool { lock.withLock { on } }
    }

    /// A share whose SHA-256 pass is deferred (`gigi share` serves chunks once the BLAKE3 pass
    /// is done): the fetcher gets the manifest with the digests zeroed, pulls every chunk, and
    /// finishes only with the digests; it reports the complete manifest's id.
    func deferredShare(_ size: Int = 5 << 20) async throws -> (ShareServer, [UInt8], IndexedShare, OfferedShare) {
        try write("big.bin", randomData(size))
        try write("small.txt", randomData(100))
        let indexed = try Indexer().index(paths: [tmp + "/src/big.bin", tmp + "/src/small.txt"], deferDigests: true)
        XCTAssertNotNil(indexed.deferred)
        let server = ShareServer(localPeer: sharerPeer)
        let id = Array(repeating: UInt8(7), count: 16)
        await server.add(ServedShare(shareID: id, secrets: [Array("12".utf8): Array("pw".utf8)], indexed: nil))
        await server.provide(shareID: id, indexed)
        let offered = try await handshake(server, waitForServer: false)
        XCTAssertNotNil(offered.pendingDigests)
        XCTAssertTrue(offered.manifest.fileDigests.allSatisfy { $0 == 0 })
        return (server, id, indexed, offered)
    }

    func fetchDeferred(_ server: ShareServer, _ offered: OfferedShare) -> Task<(FetchProgress, Digest32), Error> {
        let root = tmp + "/dst", open = opener(server)
        return Task {
            let writer = try DownloadWriter(manifest: offered.manifest, root: root)
            let f = Fetcher(offered: offered, writer: writer, index: nil)
            try f.prepare()
            let p = try await f.run(providers: [open], overwrite: false)
            return (p, f.manifestID)
        }
    }

    func testDeferredDigestsFollowTheManifest() async throws {
        let (server, id, indexed, offered) = try await deferredShare()
        // Only files of more than one block defer: a share of small ones is complete at once.
        XCTAssertNil(try Indexer().index(paths: [tmp + "/src/small.txt"], deferDigests: true).deferred)
        let fetch = fetchDeferred(server, offered)
        // Every chunk can arrive; the fetch waits for the digests.
        while await server.chunksServed(to: "F") < indexed.manifest.totalChunks { try await Task.sleep(nanoseconds: 2_000_000) }
        try await Task.sleep(nanoseconds: 50_000_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/dst/big.bin"))
        let digests = try await indexed.deferred!.wait().get()
        let complete = try indexed.completed(with: digests)
        await server.completeDigests(shareID: id, .success(complete))
        let (progress, manifestID) = try await fetch.value
        XCTAssertEqual(progress.networkChunks, indexed.manifest.totalChunks)
        XCTAssertEqual(manifestID, complete.manifestID)
        XCTAssertEqual(complete.manifest.entries[0].sha256, SHA256.hash(try [UInt8](Data(contentsOf: URL(fileURLWithPath: tmp + "/src/big.bin")))).bytes)
        try assertSame("big.bin")
        try assertSame("small.txt")
        // A fetcher that comes after the digests gets the complete manifest at once.
        let later = try await handshake(server)
        XCTAssertNil(later.pendingDigests)
        XCTAssertEqual(later.manifestID, complete.manifestID)
    }

    /// Digests that do not match the data (a lying sharer, consistent with its own id): the
    /// file fails its SHA-256 check and is not placed.
    func testDeferredDigestsThatLieAreCaught() async throws {
        let (server, id, indexed, offered) = try await deferredShare()
        let fetch = fetchDeferred(server, offered)
        let lie = try indexed.completed(with: [0: BLAKE3.hash(Array("not the data".utf8))])
        await server.completeDigests(shareID: id, .success(lie))
        do { _ = try await fetch.value; XCTFail("accepted wrong digests") } catch {
            XCTAssertEqual(error as? DownloadError, .verificationFailed("big.bin"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/dst/big.bin"))
    }

    /// The SHA-256 pass fails (a file changed): the fetch fails with that reason.
    func testDeferredDigestsThatFailEndTheFetch() async throws {
        let (server, id, _, offered) = try await deferredShare()
        let fetch = fetchDeferred(server, offered)
        await server.completeDigests(shareID: id, .failure(ShareServer.DigestFailure(reason: "the sender's files changed")))
        do { _ = try await fetch.value; XCTFail("finished without digests") } catch {
            XCTAssertTrue("\((error as? UserFacingError)?.message ?? "")".contains("changed"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/dst/big.bin"))
    }

    /// A symlink (or file) planted where a tree's staging directory goes is never followed:
    /// the fetch refuses, and nothing is written through it.
    func testSymlinkAtStagingPathRefused() async throws {
        try write("d/x", [1])
        let (server, _) = try await serve([tmp + "/src/d"])
        let offered = try await handshake(server)
        let writer = try DownloadWriter(manifest: offered.manifest, root: tmp + "/dst")
        XCTAssertTrue(writer.isStaged(0))
        let staging = writer.partial(0)
        XCTAssertTrue(staging.hasPrefix(tmp + "/dst/" + PathSafety.partialPrefix), staging)
        try FileManager.default.createDirectory(atPath: tmp + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: staging, withDestinationPath: tmp + "/elsewhere")
        do { _ = try await fetch(server); XCTFail("followed a symlink") } catch {
            XCTAssertEqual((error as? DownloadError).map { if case .notADirectory = $0 { return true } else { return false } }, true)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp + "/elsewhere"), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/dst/d"))
    }

    /// A tree whose target already exists (an update) is not staged: per-file partials
    /// beside the targets, as before.
    func testTreeIntoExistingDirectoryIsNotStaged() async throws {
        try write("d/x", [1])
        try FileManager.default.createDirectory(atPath: tmp + "/dst/d", withIntermediateDirectories: true)
        let (server, _) = try await serve([tmp + "/src/d"])
        let offered = try await handshake(server)
        let writer = try DownloadWriter(manifest: offered.manifest, root: tmp + "/dst")
        XCTAssertFalse(writer.isStaged(0))
        XCTAssertEqual(writer.partial(0), tmp + "/dst/d")
        XCTAssertTrue(writer.partial(1).hasPrefix(tmp + "/dst/d/" + PathSafety.partialPrefix))
        _ = try await fetch(server)
        try assertSame("d/x")
    }

    // MARK: A malicious sharer

    /// Serves chunk streams with every answer's data altered by `corrupt`.
    func evilOpener(_ indexed: IndexedShare, corrupt: @escaping @Sendable ([UInt8]) -> [UInt8]) -> ChunkStreamOpener {
        { 
            let (a, b) = MemoryPipe.pair()
            Task {
                let r = StreamReader(b)
                _ = try await r.readMessage(maxSize: 1024)
                try await b.writeMessage(encodeCBOR(ChunkOpenReply(ok: true)))
                let map = ChunkMap(indexed.manifest)
                while let req = try await r.readExactly(4) {
                    let n = ChunkWire.be32(req, 0)
                    guard let (e, i) = map.locate(Int(n)) else { break }
                    let src = indexed.sources[e]!
                    // This task may outlive the test (and its files): stop quietly then.
                    let fd = open(src.path, O_RDONLY)
                    guard fd >= 0 else { break }
                    let len = indexed.manifest.entries[e].chunkLength(i, chunkSize: 262_144)
                    let raw = preadAll(fd: fd, length: len, offset: off_t(i * 262_144))
                    close(fd)
                    guard let raw else { break }
                    let data = corrupt(raw)
                    try await b.write(ChunkWire.header(chunk: n, status: .ok, length: data.count) + data)
                }
            }
            return a
        }
    }

    func evilFetch(_ corrupt: @escaping @Sendable ([UInt8]) -> [UInt8]) async throws -> Error? {
        try write("victim", randomData(600_000))
        let (server, indexed) = try await serve([tmp + "/src/victim"])
        let offered = try await handshake(server)
        let writer = try DownloadWriter(manifest: offered.manifest, root: tmp + "/dst")
        let f = Fetcher(offered: offered, writer: writer, index: nil)
        try f.prepare()
        do { _ = try await f.run(providers: [evilOpener(indexed, corrupt: corrupt)], overwrite: false) } catch { return error }
        return nil
    }

    func testFlippedBitsRejected() async throws {
        let error = try await evilFetch { var d = $0; d[d.count / 2] ^= 0x10; return d }
        XCTAssertNotNil(error)
        XCTAssertFalse((error as? UserFacingError)?.message.isEmpty ?? true)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/dst/victim"))
    }

    func testWrongLengthRejected() async throws {
        let error = try await evilFetch { $0 + [0] }
        XCTAssertNotNil(error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/dst/victim"))
    }

    func testManifestHashMismatchNotPresentedAsComplete() async throws {
        try write("liar", randomData(1000))
        let good = try Indexer().index(paths: [tmp + "/src/liar"])
        var m = good.manifest
        m.entries[0].sha256[0] ^= 1          // chunk hashes right, whole-file hash wrong
        let lying = try IndexedShare(manifest: m, sources: good.sources)
        let server = ShareServer(localPeer: sharerPeer)
        await server.add(ServedShare(shareID: Array(repeating: 1, count: 16), secrets: [Array("12".utf8): Array("pw".utf8)], indexed: lying))
        do { _ = try await fetch(server); XCTFail("accepted a file whose SHA-256 does not match") } catch {
            XCTAssertEqual(error as? DownloadError, .verificationFailed("liar"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/dst/liar"))
    }
}
