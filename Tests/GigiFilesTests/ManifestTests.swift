import XCTest
import GigiCrypto
@testable import GigiFiles

final class ManifestTests: XCTestCase {
    func file(_ path: String, size: UInt64) -> ManifestEntry {
        let n = ManifestEntry.chunkCount(size: size, chunkSize: Manifest.defaultChunkSize)
        return ManifestEntry(path: path, kind: .file, size: size, mode: 0o644, mtime: 1_700_000_000, mtimeNanos: 5,
                             sha256: Array(repeating: 1, count: 32), chunkHashes: Array(repeating: 2, count: 32 * n))
    }
    func dir(_ path: String) -> ManifestEntry {
        ManifestEntry(path: path, kind: .directory, size: 0, mode: 0o755, mtime: 1, mtimeNanos: 0)
    }

    func testRoundTripIsCanonical() throws {
        let m = Manifest(entries: [dir("d"), dir("d/empty"), file("d/a b ü.txt", size: 262_145), file("z", size: 0)])
        let bytes = try m.encoded()
        XCTAssertEqual(try m.encoded(), bytes)
        let back = try Manifest.decode(bytes)
        XCTAssertEqual(back, m)
        XCTAssertEqual(back.totalChunks, 2)
        XCTAssertEqual(back.fileCount, 2)
        XCTAssertEqual(back.topLevelNames, ["d", "z"])
        XCTAssertEqual(Manifest.id(of: bytes), BLAKE3.hash(bytes))
    }

    func testRejectsUnsafeAndInconsistentManifests() throws {
        let bad: [[ManifestEntry]] = [
            [file("../x", size: 1)],
            [file("/etc/passwd", size: 1)],
            [file("a/b", size: 1)],                        // parent not listed
            [file("a", size: 1), file("a/b", size: 1)],    // file used as a directory
            [file("a", size: 1), file("a", size: 1)],      // duplicate
            [file("x\u{1b}]2;t\u{7}/../y", size: 1)],
            [],
        ]
        for entries in bad {
            XCTAssertThrowsError(try Manifest.decode(Manifest(entries: entries).encoded()), "\(entries.map(\.path))")
        }
        var wrongChunks = file("a", size: 600_000)
        wrongChunks.chunkHashes.removeLast(32)
        XCTAssertThrowsError(try Manifest.decode(Manifest(entries: [wrongChunks]).encoded()))
        // 10^9 claimed chunks: the size claims far more chunks than are listed.
        var huge = file("a", size: 1)
        huge.size = 1_000_000_000 * 262_144
        XCTAssertThrowsError(try Manifest.decode(Manifest(entries: [huge]).encoded()))
        var m = Manifest(entries: [file("a", size: 1)])
        m.chunkSize = 1
        XCTAssertThrowsError(try Manifest.decode(m.encoded()))
        // Setuid and friends, and nanoseconds past a second, come from no real sharer.
        var setuid = file("a", size: 1)
        setuid.mode = 0o4755
        XCTAssertThrowsError(try Manifest.decode(Manifest(entries: [setuid]).encoded()))
        var nanos = file("a", size: 1)
        nanos.mtimeNanos = 1_000_000_000
        XCTAssertThrowsError(try Manifest.decode(Manifest(entries: [nanos]).encoded()))
        nanos.mtimeNanos = 999_999_999
        XCTAssertNoThrow(try Manifest.decode(Manifest(entries: [nanos]).encoded()))
    }

    func testChunkMapLocatesAcrossFiles() {
        let m = Manifest(entries: [dir("d"), file("d/a", size: 262_144 * 2 + 1), file("d/b", size: 0), file("d/c", size: 5)])
        let map = ChunkMap(m)
        XCTAssertEqual(map.totalChunks, 4)
        XCTAssertEqual(map.locate(0)?.entry, 1)
        XCTAssertEqual(map.locate(2)?.chunk, 2)
        XCTAssertEqual(map.locate(3)?.entry, 3)
        XCTAssertEqual(map.locate(3)?.chunk, 0)
        XCTAssertNil(map.locate(4))
    }
}
