// Helpers for the transfer tests that run real `gigi fetch` processes:
// random files, a fetch started in the background (to be killed), and a look
// at the fetcher's hidden partial file to see which chunks reached the disk.

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GigiFiles
import XCTest

enum TransferTest {
    static let chunkSize = 262_144
    /// Requests one provider may have in flight, hence chunks the sharer may
    /// have sent that a killed fetcher never wrote.
    static let maxWindow = FetchSchedulerConfig().maxWindow

    /// A file of `size` random bytes (from the kernel, fast even in a debug build).
    static func writeRandom(_ url: URL, size: Int) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let out = try FileHandle(forWritingTo: url)
        defer { try? out.close() }
        let random = try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        var left = size
        while left > 0 {
            let n = min(left, 4 << 20)
            try out.write(contentsOf: try XCTUnwrap(random.read(upToCount: n)))
            left -= n
        }
    }

    /// Overwrites `length` bytes at `offset` with new random bytes.
    static func scribble(_ url: URL, offset: Int, length: Int) throws {
        let h = try FileHandle(forWritingTo: url)
        defer { try? h.close() }
        try h.seek(toOffset: UInt64(offset))
        let random = try XCTUnwrap(FileHandle(forReadingAtPath: "/dev/urandom"))
        defer { try? random.close() }
        try h.write(contentsOf: try XCTUnwrap(random.read(upToCount: length)))
    }

    /// Starts `gigi fetch --json --peer PEER -o DIR extra... CODE` without waiting for it.
    static func startFetch(home: URL, peer: String, output: URL, code: String, extra: [String] = []) throws -> Process {
        try GigiProcess.start(["fetch", "--json", "--peer", peer, "-o", output.path] + extra + [code],
                              environment: GigiProcess.environment(home: home))
    }

    /// The fetcher's hidden partial files in `dir` (".gigi-partial-…").
    static func partials(in dir: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasPrefix(".gigi-partial-") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// Reads chunk `c` of the file at `fd` (shorter at the end of the file).
    static func chunk(_ fd: Int32, _ c: Int) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: chunkSize)
        var got = 0
        while got < chunkSize {
            let r = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, chunkSize - got, off_t(c * chunkSize + got)) }
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { break }
            got += r
        }
        return Array(buf[0..<got])
    }

    /// Which chunks of `partial` hold exactly the source's bytes. The fetcher
    /// writes a chunk only after its BLAKE3 matched, and the source is random,
    /// so a chunk equal to the source's is one the fetcher verified (an
    /// unwritten chunk of the pre-sized partial file reads as zeros).
    static func chunksOnDisk(partial: URL, source: URL, chunks: Int, only: Int? = nil) -> [Bool] {
        let p = open(partial.path, O_RDONLY), s = open(source.path, O_RDONLY)
        defer { if p >= 0 { close(p) }; if s >= 0 { close(s) } }
        guard p >= 0, s >= 0 else { return Array(repeating: false, count: chunks) }
        func same(_ c: Int) -> Bool {
            let a = chunk(p, c), b = chunk(s, c)
            return a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, a.count) == 0 } }
        }
        if let c = only { return [same(c)] }
        return (0..<chunks).map(same)
    }

    /// Waits (up to `timeout`, while `fetcher` runs) until chunk `c` of the partial file in
    /// `dir` holds the source's bytes; the fetcher writes in order, so all before it do too.
    static func waitUntilOnDisk(chunk c: Int, in dir: URL, source: URL, fetcher: Process,
                                timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && fetcher.isRunning {
            if let partial = partials(in: dir).first, chunksOnDisk(partial: partial, source: source, chunks: c + 1, only: c)[0] {
                return true
            }
            usleep(5_000)
        }
        return false
    }

    /// The last JSON line a finished command printed.
    static func lastJSON(_ r: GigiResult) throws -> [String: Any] {
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// A test's directories: two GIGI_HOMEs, a source and a destination, under one temporary root.
    struct Dirs {
        let root: URL, alice: URL, bob: URL, src: URL, dst: URL

        init(for test: XCTestCase, _ name: String) throws {
            root = try GigiProcess.temporaryDirectory(for: test, name)
            alice = root.appendingPathComponent("alice")
            bob = root.appendingPathComponent("bob")
            src = root.appendingPathComponent("src")
            dst = root.appendingPathComponent("dst")
            for d in [alice, bob, src, dst] {
                try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            }
        }

        /// Everything in `root` except the two homes and `src`: what a fetch created outside `dst`.
        func strayEntries() -> [String] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
            return names.filter { !["alice", "bob", "src", "dst"].contains($0) }
        }
    }
}
