import Foundation
import GigiCBOR
import GigiCrypto
import XCTest
@testable import GigiStore

final class StoreTests: XCTestCase {
    /// FileRecord's hand-written encoding writes what the Codable encoding writes.
    func testFileRecordEncodingIsTheCodableOne() throws {
        let records = [
            FileRecord(path: "/home/u/Downloads/photos/a.jpg", size: 10_240, mtimeNanoseconds: 1_764_582_345_123_456_789,
                       inode: 16_482_462, device: 64_768, indexedAt: Date(timeIntervalSince1970: 1_764_582_345)),
            FileRecord(path: "", size: 0, mtimeNanoseconds: -1_000_000_001, inode: 0, device: 0,
                       indexedAt: Date(timeIntervalSince1970: 1_764_582_345.678)),
            FileRecord(path: "/tmp/ü l/\u{301}x", size: UInt64.max, mtimeNanoseconds: Int64.min, inode: UInt64.max,
                       device: 1 << 40, indexedAt: Date(timeIntervalSince1970: -0.5)),
        ]
        for r in records {
            let bytes = try r.storeEncoded()
            XCTAssertEqual(bytes, [FileRecord.recordVersion] + (try CBOREncoder().encode(r)))
            XCTAssertEqual(try bytes.withUnsafeBytes { try FileRecord.storeDecoded($0) }, r)
        }
    }

    /// MessageRecord's hand-written coding writes what the Codable encoding writes and reads it back.
    func testMessageRecordCodingIsTheCodableOne() throws {
        let id = [UInt8](0..<16)
        let records = [
            MessageRecord(id: id, sender: "12D3KooWsender", direction: .outgoing, status: .queued, body: "hi",
                          sent: Date(timeIntervalSince1970: 1_764_582_345)),
            MessageRecord(id: id, sender: "p", direction: .incoming, status: .received, body: String(repeating: "é", count: 40_000),
                          sent: Date(timeIntervalSince1970: 1_764_582_345.678), received: Date(timeIntervalSince1970: 1_764_582_346.5),
                          nickname: "alice", replyTo: [UInt8](repeating: 7, count: 16), failure: "the peer refused it: bad_request"),
            MessageRecord(id: [], sender: "", direction: .outgoing, status: .delivered, body: "",
                          sent: Date(timeIntervalSince1970: -12.25), received: Date(timeIntervalSince1970: 0)),
            MessageRecord(id: id, sender: "x", direction: .outgoing, status: .expired, body: "b",
                          sent: Date(timeIntervalSince1970: 1e-3), failure: "expired"),
        ]
        for r in records {
            let bytes = try r.storeEncoded()
            XCTAssertEqual(bytes, [MessageRecord.recordVersion] + (try CBOREncoder().encode(r)))
            let decoded = try bytes.withUnsafeBytes { try MessageRecord.storeDecoded($0) }
            XCTAssertEqual(decoded, r)
            let generic = try bytes.withUnsafeBytes { raw in
                try CBORDecoder().decode(MessageRecord.self, from: try CBOR.decode(UnsafeRawBufferPointer(rebasing: raw.dropFirst())))
            }
            XCTAssertEqual(generic, r)
        }
        // Odd but valid records (nulls, unknown keys) still decode; broken ones are still refused.
        let odd = CBOR.map([(.text("i"), .bytes(id)), (.text("f"), .text("s")), (.text("d"), .text("incoming")),
                            (.text("s"), .text("received")), (.text("b"), .text("t")), (.text("t"), .unsigned(5)),
                            (.text("n"), .null), (.text("zz"), .unsigned(1))]).encoded()
        let oddRecord = try ([MessageRecord.recordVersion] + odd).withUnsafeBytes { try MessageRecord.storeDecoded($0) }
        XCTAssertEqual(oddRecord.sent, Date(timeIntervalSince1970: 5))
        XCTAssertNil(oddRecord.nickname)
        let broken = CBOR.map([(.text("i"), .text("not bytes"))]).encoded()
        XCTAssertThrowsError(try ([MessageRecord.recordVersion] + broken).withUnsafeBytes { try MessageRecord.storeDecoded($0) })
    }

    var store: Store!
    var dir: String!

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory(self)
        store = try Store(path: dir)
    }

    override func tearDown() {
        store?.environment.close()
        store = nil
    }

    func digest(_ n: UInt64) -> Digest32 { Digest32(a: n, b: n &* 3, c: ~n, d: 42) }
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    func testChunkIndexDupValuesAndUnindex() throws {
        let h1 = digest(1), h2 = digest(2)
        let a = ChunkLocation(fileID: 1, offset: 0, length: 262_144)
        let b = ChunkLocation(fileID: 2, offset: 1 << 40, length: 17)
        try store.write { txn in
            XCTAssertTrue(try store.indexChunk(h1, at: a, in: txn))
            XCTAssertTrue(try store.indexChunk(h1, at: b, in: txn))
            XCTAssertFalse(try store.indexChunk(h1, at: a, in: txn), "same location twice is one entry")
            XCTAssertTrue(try store.indexChunk(h2, at: ChunkLocation(fileID: 1, offset: 262_144, length: 5), in: txn))
        }
        try store.read { txn in
            XCTAssertEqual(Set(try store.chunks.values(for: h1, in: txn)), [a, b])
            XCTAssertEqual(try store.chunks.count(for: h1, in: txn), 2)
            XCTAssertNotNil(try store.chunks.first(for: h1, in: txn))
            XCTAssertFalse(try store.chunks.contains(digest(3), in: txn))
            XCTAssertEqual(try store.chunks.count(in: txn), 3)
            XCTAssertEqual(try store.fileChunks.values(for: 1, in: txn),
                           [FileChunk(offset: 0, length: 262_144, hash: h1), FileChunk(offset: 262_144, length: 5, hash: h2)],
                           "the reverse index is in offset order")
        }
        // File 1 changed: its entries go, file 2's copy of h1 stays.
        XCTAssertEqual(try store.write { try store.unindexChunks(ofFile: 1, in: $0) }, 2)
        try store.read { txn in
            XCTAssertEqual(try store.chunks.values(for: h1, in: txn), [b])
            XCTAssertEqual(try store.chunks.values(for: h2, in: txn), [])
            XCTAssertEqual(try store.fileChunks.values(for: 1, in: txn), [])
        }
    }

    func testFilesAndPaths() throws {
        let rec = FileRecord(path: "/home/u/a.bin", size: 123, mtimeNanoseconds: 1_700_000_000_123_456_789,
                             inode: 99, device: 2049, indexedAt: t0)
        let id = try store.write { try store.upsertFile(rec, in: $0) }
        var changed = rec
        changed.size = 456
        XCTAssertEqual(try store.write { try store.upsertFile(changed, in: $0) }, id, "same path keeps its id")
        let other = try store.write { try store.upsertFile(FileRecord(path: "/b", size: 1, mtimeNanoseconds: -5, inode: 1, indexedAt: t0), in: $0) }
        XCTAssertNotEqual(other, id)
        try store.read { txn in
            XCTAssertEqual(try store.files.get(id, in: txn), changed)
            XCTAssertEqual(try store.filePaths.get("/home/u/a.bin", in: txn), id)
            XCTAssertEqual(try store.files.last(in: txn)?.key, other)
        }
        try store.write { txn in
            try store.indexChunk(digest(7), at: ChunkLocation(fileID: id, offset: 0, length: 1), in: txn)
            try store.removeFile(id, in: txn)
        }
        try store.read { txn in
            XCTAssertNil(try store.files.get(id, in: txn))
            XCTAssertNil(try store.filePaths.get("/home/u/a.bin", in: txn))
            XCTAssertFalse(try store.chunks.contains(digest(7), in: txn))
        }
    }

    func testManifestsSharesDownloads() throws {
        let manifest: [UInt8] = CBOR.map([("v", 1), ("entries", [])]).encoded()
        let mid = digest(100)
        var share = ShareRecord(manifestID: mid.bytes, nameplate: "4821", codeWords: 3, secret: bytes("ocean-lantern-velvet"),
                                created: t0, expires: t0.addingTimeInterval(3600), keep: true)
        var download = DownloadRecord(manifestID: mid.bytes, destination: "/tmp/out", chunkCount: 20, bytesTotal: 5_000_000,
                                      peers: ["12D3KooWabc"], created: t0)
        download.verified[3] = true
        download.verified[19] = true
        download.bytesDone = 2 * 262_144
        let did = try store.write { txn -> UInt64 in
            try store.manifests.put(manifest, for: mid, in: txn)
            try store.shares.put(share, for: "share-1", in: txn)
            let id = try store.nextID("download", in: txn)
            try store.downloads.put(download, for: id, in: txn)
            return id
        }
        try store.read { txn in
            XCTAssertEqual(try store.manifests.get(mid, in: txn), manifest)
            XCTAssertEqual(try store.shares.get("share-1", in: txn), share)
            let d = try XCTUnwrap(try store.downloads.get(did, in: txn))
            XCTAssertEqual(d, download)
            XCTAssertEqual(d.verified.setCount, 2)
            XCTAssertEqual(d.verified.missing.count, 18)
            XCTAssertFalse(d.verified.isComplete)
        }
        // A failed PAKE attempt is counted atomically.
        try store.write { txn in
            try store.shares.update("share-1", in: txn) { $0?.failedAttempts += 1 }
            try store.shares.update("share-2", in: txn) { XCTAssertNil($0) }
        }
        share.failedAttempts = 1
        XCTAssertEqual(try store.read { try store.shares.get("share-1", in: $0) }, share)
        try store.write { txn in
            XCTAssertTrue(try store.shares.delete("share-1", in: txn))
            try store.downloads.update(did, in: txn) { $0 = nil }
        }
        try store.read { txn in
            XCTAssertEqual(try store.shares.count(in: txn), 0)
            XCTAssertEqual(try store.downloads.count(in: txn), 0)
        }
    }

    func testMessagesScanInTimeOrderPerConversation() throws {
        let alice = "12D3KooWAlice", bob = "12D3KooWBob"
        let times: [UInt64] = [5_000, 1_000, 3_000, 3_000, 9_000]
        try store.write { txn in
            for (i, t) in times.enumerated() {
                let key = MessageKey(conversation: alice, milliseconds: t, sequence: UInt64(i))
                let msg = MessageRecord(id: [UInt8(i)], sender: alice, direction: .incoming, status: .received,
                                        body: "m\(i)", sent: Date(timeIntervalSince1970: Double(t) / 1000), received: t0)
                try store.messages.put(msg, for: key, in: txn)
            }
            try store.messages.put(MessageRecord(id: [9], sender: "me", direction: .outgoing, status: .pending, body: "hi bob",
                                                 sent: t0), for: MessageKey(conversation: bob, milliseconds: 2_000), in: txn)
        }
        try store.read { txn in
            var bodies: [String] = []
            try store.messages.forEach(in: txn, prefix: MessageKey.prefix(conversation: alice)) { key, msg in
                XCTAssertEqual(key.conversation, alice)
                bodies.append(msg.body)
                return true
            }
            XCTAssertEqual(bodies, ["m1", "m2", "m3", "m0", "m4"])
            // Latest two, newest first.
            var latest: [String] = []
            try store.messages.forEach(in: txn, prefix: MessageKey.prefix(conversation: alice), reverse: true) { _, m in
                latest.append(m.body)
                return latest.count < 2
            }
            XCTAssertEqual(latest, ["m4", "m0"])
            // Time range [3000, 6000).
            let range = try store.messages.entries(in: txn, from: MessageKey(conversation: alice, milliseconds: 3_000),
                                                   to: MessageKey(conversation: alice, milliseconds: 6_000))
            XCTAssertEqual(range.map(\.value.body), ["m2", "m3", "m0"])
            XCTAssertEqual(range.first?.key, MessageKey(conversation: alice, milliseconds: 3_000, sequence: 2))
        }
    }

    func testOutboxContactsGroupsPeersSettings() throws {
        let key = MessageKey(conversation: "12D3KooWBob", milliseconds: 1)
        let out = OutboxRecord(recipient: "12D3KooWBob", messageKey: key, payload: [1, 2, 3], attempts: 2,
                               nextAttempt: t0, expires: t0.addingTimeInterval(86_400), lastError: "unreachable")
        let contact = ContactRecord(nickname: "bob", added: t0, note: "from work")
        let group = GroupRecord(name: "team", key: [UInt8](repeating: 5, count: 32), members: ["a", "b"], creator: "a", joined: t0)
        let peer = PeerRecord(addresses: ["/ip4/127.0.0.1/tcp/4001"], nickname: "bob", capabilities: ["files", "chat"],
                              lastSeen: t0, source: "mdns")
        try store.write { txn in
            try store.outbox.put(out, for: [0xaa, 0xbb], in: txn)
            try store.contacts.put(contact, for: "12D3KooWBob", in: txn)
            try store.groups.put(group, for: "12D3KooWGroup", in: txn)
            try store.peers.put(peer, for: "12D3KooWBob", in: txn)
            try store.settings.put("alice", for: "nickname", in: txn)
            try store.settings.put(["port": 4001, "relay": true], for: "network", in: txn)
        }
        try store.read { txn in
            XCTAssertEqual(try store.outbox.get([0xaa, 0xbb], in: txn), out)
            XCTAssertEqual(try MessageKey(keyBytes: out.messageKey.withUnsafeBytes { UnsafeRawBufferPointer($0) }), key)
            XCTAssertEqual(try store.contacts.get("12D3KooWBob", in: txn), contact)
            XCTAssertEqual(try store.groups.get("12D3KooWGroup", in: txn), group)
            XCTAssertEqual(try store.peers.get("12D3KooWBob", in: txn), peer)
            XCTAssertEqual(try store.settings.get("nickname", in: txn), "alice")
            XCTAssertEqual(try store.settings.get("network", in: txn)?["port"], 4001)
        }
        try store.write { txn in
            for table in [store.contacts.database, store.peers.database] {
                XCTAssertTrue(try txn.delete(table, key: bytes("12D3KooWBob")))
            }
            XCTAssertTrue(try store.groups.delete("12D3KooWGroup", in: txn))
            XCTAssertTrue(try store.outbox.delete([0xaa, 0xbb], in: txn))
            XCTAssertTrue(try store.settings.delete("nickname", in: txn))
        }
        try store.read { txn in
            XCTAssertNil(try store.contacts.get("12D3KooWBob", in: txn))
            XCTAssertNil(try store.peers.get("12D3KooWBob", in: txn))
            XCTAssertEqual(try store.settings.count(in: txn), 1)
        }
    }

    func testPeersScanByKeyRange() throws {
        try store.write { txn in
            for name in ["peerC", "peerA", "peerB", "other"] {
                try store.peers.put(PeerRecord(addresses: [], nickname: name, lastSeen: t0), for: name, in: txn)
            }
        }
        let names = try store.read { txn in try store.peers.entries(in: txn, from: "peer", limit: 2).map(\.key) }
        XCTAssertEqual(names, ["peerA", "peerB"])
    }

    func testRecordVersioning() throws {
        struct Old: Codable { var n: String }
        struct Current: StoreRecord, Equatable {
            static var recordVersion: UInt8 { 2 }
            var name: String
            var extra: Int?
            static func migrate(from version: UInt8, _ item: CBOR) throws -> Current {
                guard version == 1, let n = item["n"]?.stringValue else { throw StoreError.unsupportedRecordVersion(type: "Current", version: version) }
                return Current(name: n, extra: nil)
            }
        }
        let v1 = [UInt8(1)] + (try CBOREncoder().encode(Old(n: "x")))
        XCTAssertEqual(try v1.withUnsafeBytes { try Current.storeDecoded($0) }, Current(name: "x", extra: nil))
        let v2 = try Current(name: "y", extra: 3).storeEncoded()
        XCTAssertEqual(v2.first, 2)
        XCTAssertEqual(try v2.withUnsafeBytes { try Current.storeDecoded($0) }, Current(name: "y", extra: 3))
        let v3 = [UInt8(3)] + v2.dropFirst()
        XCTAssertThrowsError(try v3.withUnsafeBytes { try Current.storeDecoded($0) }) {
            XCTAssertEqual($0 as? StoreError, .unsupportedRecordVersion(type: "Current", version: 3))
        }
        XCTAssertThrowsError(try [UInt8(2), 0xff].withUnsafeBytes { try Current.storeDecoded($0) }) {
            guard case .corruptRecord = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try [UInt8(9), 0x83].withUnsafeBytes { try ChunkLocation.storeDecoded($0) })
    }

    func testSchemaVersionAndMigrationHook() throws {
        XCTAssertEqual(try store.storedSchemaVersion(), Store.schemaVersion)
        // Pretend the data is from schema 0: the hook runs once, inside the opening transaction.
        try store.write { try store.meta.put(0, for: "schema", in: $0) }
        store.environment.close()
        let calls = LockedCounter()
        store = try Store(path: dir) { from, to, s, txn in
            XCTAssertEqual(from, 0)
            XCTAssertEqual(to, Store.schemaVersion)
            try s.settings.put("migrated", for: "note", in: txn)
            calls.add()
        }
        XCTAssertEqual(calls.value, 1)
        XCTAssertEqual(try store.storedSchemaVersion(), Store.schemaVersion)
        XCTAssertEqual(try store.read { try store.settings.get("note", in: $0) }, "migrated")
        // Data from the future is refused.
        try store.write { try store.meta.put(Store.schemaVersion + 1, for: "schema", in: $0) }
        store.environment.close()
        store = nil
        XCTAssertThrowsError(try Store(path: dir)) {
            XCTAssertEqual($0 as? StoreError, .schemaTooNew(found: UInt32(Store.schemaVersion + 1), supported: UInt32(Store.schemaVersion)))
        }
    }

    // MARK: Batch lookups, encodings, schema 1 → 2

    func testBatchLookupsMatchSingleLookupsInAnyOrder() throws {
        let present = (1...500).map { digest(UInt64($0) &* 0x9E37_79B9) }
        try store.write { txn in
            for (i, h) in present.enumerated() {
                try store.indexChunk(h, at: ChunkLocation(fileID: UInt64(i % 7 + 1), offset: UInt64(i) << 18, length: 262_144), in: txn)
            }
            // A second location for some hashes: the batch answer is the first in byte order, like `first(for:)`.
            for h in present.prefix(20) {
                try store.indexChunk(h, at: ChunkLocation(fileID: 99, offset: 0, length: 1), in: txn)
            }
        }
        var query = present + (1...300).map { digest(UInt64($0) &* 7 &+ 1_000_000) }   // 300 absent
        query += present.prefix(50)                                                      // repeats
        var rng = SystemRandomNumberGenerator()
        query.shuffle(using: &rng)
        try store.read { txn in
            let batch = try store.chunkLocations(query, in: txn)
            let single = try query.map { try store.chunkLocation($0, in: txn) }
            XCTAssertEqual(batch, single)
            XCTAssertEqual(batch.compactMap { $0 }.count, 550)
            XCTAssertEqual(try store.hasChunks(query, in: txn), single.map { $0 != nil })
            // Already sorted input takes the no-copy path; the answer is the same.
            let sorted = query.sorted()
            XCTAssertEqual(try store.chunkLocations(sorted, in: txn), try sorted.map { try store.chunkLocation($0, in: txn) })
            XCTAssertEqual(try store.chunkLocations([], in: txn), [])
            // Keys sharing their first 8 bytes (the sort prefix) still sort and answer correctly.
            let ties = (0..<40).map { Digest32(a: present[3].a, b: UInt64(39 - $0), c: 0, d: 0) } + [present[3]]
            XCTAssertEqual(try store.chunkLocations(ties, in: txn), try ties.map { try store.chunkLocation($0, in: txn) })
            XCTAssertNotNil(try store.chunkLocations(ties, in: txn).last!)
            // Plain tables too.
            XCTAssertEqual(try store.files.get([UInt64(3), 1, 2], in: txn), [nil, nil, nil])
        }
        let id = try store.write { try store.upsertFile(FileRecord(path: "/x", size: 1, mtimeNanoseconds: 0, inode: 1, indexedAt: t0), in: $0) }
        try store.read { txn in
            XCTAssertEqual(try store.files.get([id + 1, id], in: txn).map { $0?.path }, [nil, "/x"])
        }
    }

    func testChunkLocationEncodingIsShortestCBOR() throws {
        // The stack encoder must produce exactly CBORWriter's bytes: dup-sorted entries are found
        // and deleted by their bytes, and schema-1 data was written by CBORWriter.
        let edges: [UInt64] = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 0xffff_ffff, 0x1_0000_0000, .max]
        for file in edges {
            for offset in edges {
                for length in [UInt32(0), 23, 24, 255, 256, 65_535, 65_536, .max] {
                    let loc = ChunkLocation(fileID: file, offset: offset, length: length)
                    var w = CBORWriter(capacity: 25)
                    w.writeRaw(CollectionOfOne(UInt8(1)))
                    w.writeArrayHeader(count: 3)
                    w.writeUnsigned(file)
                    w.writeUnsigned(offset)
                    w.writeUnsigned(UInt64(length))
                    XCTAssertEqual(try loc.storeEncoded(), w.bytes)
                    XCTAssertEqual(try loc.withStoreBytes { try ChunkLocation.storeDecoded($0) }, loc)
                }
            }
        }
    }

    func testFileChunkEncodingRoundTrip() throws {
        let c = FileChunk(offset: 0x0102_0304_0506_0708, length: 0x0a0b_0c0d, hash: digest(77))
        let bytes = try c.storeEncoded()
        XCTAssertEqual(bytes.count, FileChunk.encodedCount)
        XCTAssertEqual(Array(bytes[0..<12]), [1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d])
        XCTAssertEqual(Array(bytes[12...]), digest(77).bytes)
        XCTAssertEqual(try bytes.withUnsafeBytes { try FileChunk.storeDecoded($0) }, c)
        XCTAssertThrowsError(try Array(bytes.dropLast()).withUnsafeBytes { try FileChunk.storeDecoded($0) }) {
            guard case .corruptRecord = $0 as? StoreError else { return XCTFail("\($0)") }
        }
        // Offset order is byte order, so a file indexed front to back appends.
        let later = FileChunk(offset: c.offset + 1, length: 0, hash: .zero)
        XCTAssertTrue(try c.storeEncoded().lexicographicallyPrecedes(try later.storeEncoded()))
    }

    func testAppendOutOfOrderAndDuplicatesInOneTransaction() throws {
        // Appends that are not in order fall back to inserts without spoiling the transaction.
        let offsets: [UInt64] = [5, 6, 9, 2, 7, 9, 0, 12, 3]
        let added = try store.write { txn in
            try offsets.map { try store.fileChunks.append(FileChunk(offset: $0, length: 1, hash: digest($0)), for: 4, in: txn) }
        }
        XCTAssertEqual(added, [true, true, true, true, true, false, true, true, true])
        try store.read { txn in
            XCTAssertEqual(try store.fileChunks.values(for: 4, in: txn).map(\.offset), [0, 2, 3, 5, 6, 7, 9, 12])
        }
        // Many values: past the inline sub-page into a sub-database, still in order.
        try store.write { txn in
            for o in stride(from: UInt64(1000), to: 0, by: -1) {
                try store.fileChunks.append(FileChunk(offset: o * 2, length: 1, hash: digest(o)), for: 5, in: txn)
            }
            for o in 0..<UInt64(1000) {
                try store.fileChunks.append(FileChunk(offset: o * 2 + 1, length: 1, hash: digest(o)), for: 5, in: txn)
            }
        }
        try store.read { txn in
            let got = try store.fileChunks.values(for: 5, in: txn).map(\.offset)
            XCTAssertEqual(got, Array(1...2000))
        }
    }

    func testIndexChunksBatchAndUnindexKeepBothIndexesInStep() throws {
        var entries: [(hash: Digest32, location: ChunkLocation)] = []
        for i in 0..<3000 {
            entries.append((digest(UInt64(i) &* 2_654_435_761), ChunkLocation(fileID: UInt64(i / 1000 + 1), offset: UInt64(i % 1000) << 18, length: 262_144)))
        }
        entries.append(entries[10])   // a repeat is not new
        XCTAssertEqual(try store.write { try store.indexChunks(entries.shuffled(), in: $0) }, 3000)
        try store.read { txn in
            XCTAssertEqual(try store.chunks.count(in: txn), 3000)
            XCTAssertEqual(try store.fileChunks.count(in: txn), 3000)
            XCTAssertEqual(try store.fileChunks.values(for: 2, in: txn).map(\.offset), (0..<1000).map { UInt64($0) << 18 })
        }
        XCTAssertEqual(try store.write { try store.unindexChunks(ofFile: 2, in: $0) }, 1000)
        try store.read { txn in
            XCTAssertEqual(try store.chunks.count(in: txn), 2000)
            XCTAssertEqual(try store.fileChunks.count(in: txn), 2000)
            XCTAssertEqual(try store.hasChunks(entries.map(\.hash), in: txn), entries.map { $0.location.fileID != 2 })
        }
    }

    func testMigrationFromSchema1RebuildsTheReverseIndex() throws {
        // Build a schema-1 environment by hand: `file_chunks` held file id → hash.
        store.environment.close()
        store = nil
        let old = try makeTemporaryDirectory(self)
        do {
            let env = try LMDBEnvironment(path: old)
            let h1 = digest(1), h2 = digest(2)
            let a = ChunkLocation(fileID: 1, offset: 0, length: 262_144)
            let b = ChunkLocation(fileID: 1, offset: 262_144, length: 10)
            let c = ChunkLocation(fileID: 2, offset: 0, length: 262_144)
            try env.write { txn in
                let chunks = StoreMultiTable<Digest32, ChunkLocation>(database: try env.database("chunks", flags: .dupSort, in: txn))
                let fileChunks = StoreMultiTable<UInt64, Digest32>(database: try env.database("file_chunks", flags: .dupSort, in: txn))
                let meta = StoreTable<String, UInt64>(database: try env.database("meta", in: txn))
                for (h, loc) in [(h1, a), (h2, b), (h1, c)] {
                    try chunks.add(loc, for: h, in: txn)
                    try fileChunks.add(h, for: loc.fileID, in: txn)
                }
                try meta.put(1, for: "schema", in: txn)
            }
            env.close()
        }
        let seen = LockedCounter()
        store = try Store(path: old) { from, to, _, _ in
            XCTAssertEqual(from, 1)
            XCTAssertEqual(to, 2)
            seen.add()
        }
        XCTAssertEqual(seen.value, 1)
        XCTAssertEqual(try store.storedSchemaVersion(), 2)
        try store.read { txn in
            XCTAssertEqual(try store.fileChunks.values(for: 1, in: txn),
                           [FileChunk(offset: 0, length: 262_144, hash: digest(1)), FileChunk(offset: 262_144, length: 10, hash: digest(2))])
            XCTAssertEqual(try store.fileChunks.values(for: 2, in: txn), [FileChunk(offset: 0, length: 262_144, hash: digest(1))])
            XCTAssertEqual(try store.chunks.count(in: txn), 3, "the chunk index itself is unchanged")
        }
        XCTAssertThrowsError(try store.environment.database("file_chunks", flags: .dupSort, create: false)) {
            XCTAssertEqual($0 as? LMDBError, .notFound, "schema 1's table is dropped")
        }
        // Unindexing works on migrated data, and reopening does not migrate again.
        XCTAssertEqual(try store.write { try store.unindexChunks(ofFile: 1, in: $0) }, 2)
        store.environment.close()
        store = try Store(path: old) { _, _, _, _ in XCTFail("already schema 2") }
        try store.read { txn in
            XCTAssertEqual(try store.chunks.values(for: digest(1), in: txn), [ChunkLocation(fileID: 2, offset: 0, length: 262_144)])
            XCTAssertEqual(try store.fileChunks.count(in: txn), 1)
        }
    }
}
