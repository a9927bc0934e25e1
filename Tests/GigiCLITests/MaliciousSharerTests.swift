// The real `gigi fetch` against a lying sharer (LyingSharer) over loopback:
// corrupt chunks, a manifest whose hashes do not match the data, unsafe and
// escape-laden names, absurd counts. Each must end with one clear sentence and
// the right exit code, nothing written outside the destination, and nothing
// unverified under a final name. (FetcherTests covers the same lies in memory,
// without the CLI and the network.)

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GigiCrypto
import GigiFiles
import XCTest

final class MaliciousSharerTests: XCTestCase {
    /// A 5-chunk source file, its honest manifest, and the directories.
    struct Setup {
        let dirs: TransferTest.Dirs
        let file: URL
        let data: [UInt8]
        let manifest: Manifest
    }

    func setup() throws -> Setup {
        let dirs = try TransferTest.Dirs(for: self, "gigi-evil")
        let file = dirs.src.appendingPathComponent("victim.bin")
        try TransferTest.writeRandom(file, size: 4 * TransferTest.chunkSize + 1000)
        let indexed = try Indexer().index(paths: [file.path])
        return Setup(dirs: dirs, file: file, data: Array(try Data(contentsOf: file)), manifest: indexed.manifest)
    }

    /// Honest chunk data, optionally altered.
    func chunks(_ s: Setup, alter: @escaping @Sendable (Int, Int, [UInt8]) -> [UInt8] = { $2 }) -> LyingSharer.ChunkSource {
        let data = s.data
        return { n, attempt in
            let start = n * TransferTest.chunkSize
            guard start < data.count else { return nil }
            return alter(n, attempt, Array(data[start..<min(data.count, start + TransferTest.chunkSize)]))
        }
    }

    /// Runs `gigi fetch` (off Swift's cooperative pool: it blocks) against `sharer`.
    func fetch(_ s: Setup, _ sharer: LyingSharer, json: Bool = true, into: URL? = nil,
               extra: [String] = []) async throws -> GigiResult {
        let args = ["fetch"] + (json ? ["--json"] : []) + extra
            + ["--peer", sharer.address, "-o", (into ?? s.dirs.dst).path, sharer.code.text]
        let env = GigiProcess.environment(home: s.dirs.bob)
        return try await withCheckedThrowingContinuation { k in
            DispatchQueue.global().async { k.resume(with: Result { try GigiProcess.run(args, environment: env, timeout: 60) }) }
        }
    }

    /// One clear sentence on stderr, no raw control characters anywhere.
    func assertClearError(_ r: GigiResult, status: Int32, contains: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "not one line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("gigi: "), r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(contains), "expected \"\(contains)\" in: \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("unexpected error"), r.stderr, file: file, line: line)
        assertNoRawControls(r, file: file, line: line)
    }

    func assertNoRawControls(_ r: GigiResult, file: StaticString = #filePath, line: UInt = #line) {
        for (name, text) in [("stdout", r.stdout), ("stderr", r.stderr)] {
            let raw = text.unicodeScalars.filter { $0.value < 0x20 && $0 != "\n" || $0.value == 0x7f }
            XCTAssertTrue(raw.isEmpty, "raw control characters on \(name): \(raw.map { $0.value })", file: file, line: line)
        }
    }

    /// Nothing outside dst, nothing visible in dst (a hidden partial file may stay for a resume),
    /// and every chunk of a partial file is either unwritten (zeros) or verified data.
    func assertNothingPresented(_ s: Setup, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(s.dirs.strayEntries(), [], "written outside the destination", file: file, line: line)
        let visible = try FileManager.default.contentsOfDirectory(atPath: s.dirs.dst.path).filter { !$0.hasPrefix(".gigi-partial-") }
        XCTAssertEqual(visible, [], "something was presented under a final name", file: file, line: line)
        for p in TransferTest.partials(in: s.dirs.dst) {
            let bytes = Array(try Data(contentsOf: p))
            XCTAssertEqual(bytes.count, s.data.count, file: file, line: line)
            for c in 0..<(bytes.count + TransferTest.chunkSize - 1) / TransferTest.chunkSize {
                let r = (c * TransferTest.chunkSize)..<min(bytes.count, (c + 1) * TransferTest.chunkSize)
                let zero = !bytes[r].contains { $0 != 0 }
                XCTAssertTrue(zero || bytes[r] == s.data[r], "chunk \(c) of the partial file holds unverified data",
                              file: file, line: line)
            }
        }
    }

    // MARK: - Lying chunk data

    func testChunkWithFlippedBitsEveryTimeFailsCleanly() async throws {
        let s = try setup()
        let sharer = try await LyingSharer.start(offer: .manifest(try s.manifest.encoded()),
                                                 chunks: chunks(s) { n, _, d in
                                                     var d = d
                                                     if n == 2 { d[1234] ^= 0x10 }
                                                     return d
                                                 })
        let r = try await fetch(s, sharer)
        await sharer.stop()
        assertClearError(r, status: 65, contains: "corrupt")
        try assertNothingPresented(s)
    }

    func testChunkCorruptedOnceIsRefetchedAndTheResultIsExact() async throws {
        let s = try setup()
        let sharer = try await LyingSharer.start(offer: .manifest(try s.manifest.encoded()),
                                                 chunks: chunks(s) { n, attempt, d in
                                                     var d = d
                                                     if n == 2 && attempt == 0 { d[0] ^= 0x01 }
                                                     return d
                                                 })
        let r = try await fetch(s, sharer)
        let sent = sharer.chunksSent
        await sharer.stop()
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try TransferTest.lastJSON(r)
        XCTAssertEqual(j["network_chunks"] as? Int, 5, "the bad copy is not counted as fetched")
        XCTAssertEqual(sent, 6, "5 chunks plus one re-request of the corrupted one")
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: s.file.path,
                                                        andPath: s.dirs.dst.appendingPathComponent("victim.bin").path))
    }

    func testManifestChunkHashesThatMatchNothingFailCleanly() async throws {
        let s = try setup()
        var m = s.manifest
        m.entries[0].chunkHashes = (0..<m.entries[0].chunkHashes.count).map { _ in UInt8.random(in: 0...255) }
        let sharer = try await LyingSharer.start(offer: .manifest(try m.encoded()), chunks: chunks(s))
        let r = try await fetch(s, sharer)
        await sharer.stop()
        assertClearError(r, status: 65, contains: "corrupt")
        try assertNothingPresented(s)
        // Not one byte of the unverifiable data was written.
        for p in TransferTest.partials(in: s.dirs.dst) {
            XCTAssertFalse(try Data(contentsOf: p).contains { $0 != 0 })
        }
    }

    // MARK: - Lying names

    func testTraversalAndAbsoluteNamesAreRefusedBeforeAnythingIsWritten() async throws {
        let s = try setup()
        let outside = s.dirs.root.appendingPathComponent("escaped")
        let absolute = "/tmp/gigi-abs-\(UUID().uuidString)"
        let dir = ManifestEntry(path: "a", kind: .directory, size: 0, mode: 0o755, mtime: 0, mtimeNanos: 0)
        let cases: [(String, [ManifestEntry])] = [
            ("../escaped", []),
            ("a/../../escaped", [dir]),
            (absolute + "/x.bin", []),
            ("../\u{1b}]0;owned\u{07}\u{1b}[2J", []),
            // A combining mark after "/" makes "/\u{301}" one Character: rules that split by
            // Characters see one harmless name here, the kernel sees "..".
            ("../\u{301}escaped", []),
        ]
        for (name, before) in cases {
            var m = s.manifest
            m.entries[0].path = name
            m.entries = before + m.entries
            let sharer = try await LyingSharer.start(offer: .manifest(try m.encoded()), chunks: chunks(s))
            let r = try await fetch(s, sharer)
            await sharer.stop()
            assertClearError(r, status: 65, contains: "unsafe file name")
            XCTAssertEqual(sharer.chunksSent, 0, "\(PathSafety.displayName(name)): chunks were requested")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.dirs.dst.path), [],
                           "\(PathSafety.displayName(name)): something was created in the destination")
            try assertNothingPresented(s)
            XCTAssertFalse(FileManager.default.fileExists(atPath: outside.path))
            XCTAssertFalse(FileManager.default.fileExists(atPath: absolute))
            let beside = try FileManager.default.contentsOfDirectory(atPath: s.dirs.root.path)
            XCTAssertFalse(beside.contains { $0.unicodeScalars.contains { $0.value == 0x301 } },
                           "\(PathSafety.displayName(name)): a file was written beside the destination")
        }
    }

    func testNameWithEscapeSequencesIsShownEscaped() async throws {
        let s = try setup()
        let name = "red\u{1b}[31mALERT\u{1b}[0m\u{07}.bin"
        var m = s.manifest
        m.entries[0].path = name
        let bytes = try m.encoded()
        let sharer = try await LyingSharer.start(offer: .manifest(bytes), chunks: chunks(s))
        // Human output: the name appears, escaped; no raw ESC or BEL reaches the terminal.
        let human = try await fetch(s, sharer, json: false)
        XCTAssertEqual(human.status, 0, human.stderr)
        assertNoRawControls(human)
        // (The form of the escape is TerminalSafe's business; that it is escaped is ours.)
        XCTAssertTrue(human.stdout.contains("Received red\\"), human.stdout)
        XCTAssertTrue(human.stdout.contains("ALERT"), human.stdout)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: s.file.path, andPath: s.dirs.dst.appendingPathComponent(name).path))
        // JSON output: valid JSON with the control characters escaped, the exact name inside.
        let other = s.dirs.root.appendingPathComponent("dst-json")
        let json = try await fetch(s, sharer, json: true, into: other)
        await sharer.stop()
        XCTAssertEqual(json.status, 0, json.stderr)
        assertNoRawControls(json)
        XCTAssertEqual(try TransferTest.lastJSON(json)["names"] as? [String], [name])
    }

    /// A name equal to another entry's hidden partial file (".gigi-partial-" + 16 hex digits
    /// of BLAKE3 of its path). Before PathSafety reserved the prefix, with --overwrite the
    /// decoy was renamed over victim.bin's partial file, victim.bin ended up holding the
    /// decoy's bytes, the decoy was missing, and the fetch still reported success.
    func testNameOfAnotherEntrysPartialFileIsRefused() async throws {
        let s = try setup()
        let decoyFile = s.dirs.src.appendingPathComponent("decoy.bin")
        try TransferTest.writeRandom(decoyFile, size: s.data.count)
        var decoy = try Indexer().index(paths: [decoyFile.path]).manifest.entries[0]
        decoy.path = ".gigi-partial-" + BLAKE3.hash(Array("victim.bin".utf8)).hex.prefix(16)
        var m = s.manifest
        m.entries = [decoy] + m.entries
        let victimChunks = chunks(s), decoyData = Array(try Data(contentsOf: decoyFile)), count = decoy.chunkCount
        let sharer = try await LyingSharer.start(offer: .manifest(try m.encoded()), chunks: { n, a in
            guard n < count else { return victimChunks(n - count, a) }
            return Array(decoyData[(n * TransferTest.chunkSize)..<min(decoyData.count, (n + 1) * TransferTest.chunkSize)])
        })
        let r = try await fetch(s, sharer, extra: ["--overwrite"])
        await sharer.stop()
        assertClearError(r, status: 65, contains: "unsafe file name")
        XCTAssertEqual(sharer.chunksSent, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.dirs.dst.path), [])
    }

    // MARK: - Absurd counts

    /// 10^9 chunks claimed in four ways: by a file's size, by the CBOR headers of the
    /// entry list and of the chunk-hash string, and by the length of the accept message.
    /// Each is refused before anything that size is allocated (a 10^9-entry array would
    /// need tens of GiB: the fetcher would be killed, not exit with a sentence).
    func testBillionChunkClaimsAreRefused() async throws {
        let s = try setup()
        let billion = 1_000_000_000
        var bySize = s.manifest
        bySize.entries[0].size = UInt64(billion) * UInt64(TransferTest.chunkSize)

        let honest = try s.manifest.encoded()
        // Canonical CBOR: map(3) { "e": array(1) [...], "v": 1, "cs": 262144 }.
        XCTAssertEqual(Array(honest[0..<4]), [0xa3, 0x61, 0x65, 0x81])
        var manyEntries = honest
        manyEntries.replaceSubrange(3..<4, with: [0x9a] + LyingSharer.be32(UInt32(billion)))

        let hashes = s.manifest.entries[0].chunkHashes
        let at = try XCTUnwrap(Self.find(hashes, in: honest))
        XCTAssertEqual(Array(honest[(at - 2)..<at]), [0x58, UInt8(hashes.count)])
        var manyHashes = honest
        let claimed = UInt64(billion) * 32
        manyHashes.replaceSubrange((at - 2)..<(at + hashes.count),
                                   with: [0x5b] + LyingSharer.be32(UInt32(claimed >> 32)) + LyingSharer.be32(UInt32(claimed & 0xffff_ffff)))

        var hugeFrame: [UInt8] = []   // varint 32e9, then a few bytes
        var n = claimed
        while n >= 0x80 { hugeFrame.append(UInt8(n & 0x7f) | 0x80); n >>= 7 }
        hugeFrame += [UInt8(n), 0xa1, 0x61, 0x6b]

        let cases: [(String, LyingSharer.Offer, String)] = [
            ("size", .manifest(try bySize.encoded()), "file list is invalid"),
            ("entry count", .manifest(manyEntries), "file list is invalid"),
            ("hash string length", .manifest(manyHashes), "file list is invalid"),
            ("accept message length", .rawAcceptFrame(hugeFrame), "too large"),
        ]
        for (what, offer, expect) in cases {
            let sharer = try await LyingSharer.start(offer: offer, chunks: chunks(s))
            let started = Date()
            let r = try await fetch(s, sharer)
            await sharer.stop()
            print("10^9 chunks claimed by \(what): exit \(r.status) after \(String(format: "%.2f", Date().timeIntervalSince(started))) s: \(r.stderr)")
            assertClearError(r, status: 65, contains: expect)
            XCTAssertEqual(sharer.chunksSent, 0, what)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: s.dirs.dst.path), [], what)
            XCTAssertEqual(s.dirs.strayEntries(), [], what)
        }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard needle.count <= hay.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }
}
