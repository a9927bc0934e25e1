// Resume after kill -9 and incremental re-fetch, with real `gigi share` and
// `gigi fetch` processes on loopback. What crossed the network is counted on
// both sides: the fetcher's `network_chunks`, and the sharer's
// `chunks_served` (in its "fetch_stopped" / "fetch_completed" lines).

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

final class ResumeAndIncrementalTests: XCTestCase {
    /// The fetcher is killed with SIGKILL 10 times at random points of a 200 MiB
    /// fetch, then the sharer is killed and restarted (new code, same manifest),
    /// and a last fetch completes. Chunks that reached the disk are never fetched
    /// again; the only waste is what was in flight at each kill.
    func testFetcherKilledTenTimesThenSharerRestarted() throws {
        let d = try TransferTest.Dirs(for: self, "gigi-resume")
        let file = d.src.appendingPathComponent("big.bin")
        try TransferTest.writeRandom(file, size: 200 << 20)
        let sharer1 = try SharerProcess(test: self, home: d.alice, paths: [file.path], extra: ["--keep"])
        let chunks = try XCTUnwrap(sharer1.indexed["chunks"] as? Int)
        XCTAssertEqual(chunks, 800)

        // Kill points: one random point in each tenth of 4 %…94 % of the chunks, so the
        // last kill is late (86 %…93 %) and the test's length is bounded.
        let kills = 10
        let targets = (0..<kills).map { i in
            Int(Double(chunks) * (0.04 + 0.9 * (Double(i) + Double.random(in: 0.15...0.85)) / Double(kills)))
        }
        var onDisk = 0, servedSoFar = 0
        for (i, planned) in targets.enumerated() {
            // This run must write at least one new chunk before it is killed.
            let target = max(planned, onDisk + 1)
            let p = try TransferTest.startFetch(home: d.bob, peer: sharer1.loopbackAddress, output: d.dst, code: sharer1.code)
            let reached = TransferTest.waitUntilOnDisk(chunk: target - 1, in: d.dst, source: file, fetcher: p)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertTrue(reached, "run \(i + 1): chunk \(target - 1) never reached the disk (exit \(p.terminationStatus))")
            guard reached else { return }
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "run \(i + 1) ended before it was killed")

            let stopped = try XCTUnwrap(sharer1.waitFor(event: "fetch_stopped", count: i + 1, timeout: 30),
                                        "the sharer did not notice kill \(i + 1); stderr: \(sharer1.stderrText)")
            let served = try XCTUnwrap(stopped["chunks_served"] as? Int)
            let partial = try XCTUnwrap(TransferTest.partials(in: d.dst).first)
            let disk = TransferTest.chunksOnDisk(partial: partial, source: file, chunks: chunks)
            let nowOnDisk = disk.filter { $0 }.count
            // Nearly in order: requests go out lowest chunk first, so beyond the first hole
            // there is at most one window of chunks (several streams finish out of order).
            let firstHole = disk.firstIndex(of: false) ?? chunks
            XCTAssertLessThanOrEqual(nowOnDisk - firstHole, TransferTest.maxWindow, "run \(i + 1): chunks on disk far out of order")
            let servedThisRun = served - servedSoFar, newThisRun = nowOnDisk - onDisk
            print("resume: kill \(i + 1) at ≥ chunk \(target): \(nowOnDisk)/\(chunks) chunks on disk, "
                  + "this run served \(servedThisRun), wrote \(newThisRun), lost in flight \(servedThisRun - newThisRun)")
            XCTAssertGreaterThan(newThisRun, 0, "run \(i + 1) made no progress")
            // Every new chunk was served in this run (nothing came from elsewhere)...
            XCTAssertGreaterThanOrEqual(servedThisRun, newThisRun, "run \(i + 1)")
            // ...and what else was served is at most one window of requests in flight.
            XCTAssertLessThanOrEqual(servedThisRun - newThisRun, TransferTest.maxWindow, "run \(i + 1) refetched verified chunks")
            onDisk = nowOnDisk
            servedSoFar = served
        }

        // The sharer dies too; a new `gigi share` of the same file gives a new code but the same manifest.
        kill(sharer1.process.processIdentifier, SIGKILL)
        sharer1.process.waitUntilExit()
        let sharer2 = try SharerProcess(test: self, home: d.alice, paths: [file.path])
        XCTAssertNotEqual(sharer2.code, sharer1.code)
        XCTAssertEqual(sharer2.indexed["manifest"] as? String, sharer1.indexed["manifest"] as? String)

        let r = try GigiProcess.run(["fetch", "--json", "--peer", sharer2.loopbackAddress, "-o", d.dst.path, sharer2.code],
                                    environment: GigiProcess.environment(home: d.bob), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try TransferTest.lastJSON(r)
        let network = try XCTUnwrap(j["network_chunks"] as? Int), resumed = try XCTUnwrap(j["resumed_chunks"] as? Int)
        // Every chunk on disk before the last run was resumed, none fetched again.
        XCTAssertEqual(resumed, onDisk)
        XCTAssertEqual(network, chunks - onDisk)
        XCTAssertEqual(j["local_chunks"] as? Int, 0)
        XCTAssertEqual(resumed + network, chunks)
        XCTAssertLessThan(network, chunks / 5, "the last kill was late, so little should be left")
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path, andPath: d.dst.appendingPathComponent("big.bin").path))
        XCTAssertEqual(TransferTest.partials(in: d.dst), [])

        let completed = try XCTUnwrap(sharer2.waitFor(event: "fetch_completed", timeout: 20))
        let served2 = try XCTUnwrap(completed["chunks_served"] as? Int)
        XCTAssertEqual(served2, network, "an uninterrupted run serves exactly what it fetches")
        XCTAssertEqual(sharer2.waitForExit(timeout: 20), 0, sharer2.stderrText)
        let total = servedSoFar + served2
        print("resume: \(kills) fetcher kills + 1 sharer kill: sharers served \(total) chunks for \(chunks) "
              + "(\(total - chunks) lost in flight at kills, bound \(kills) × \(TransferTest.maxWindow)); "
              + "last run: \(resumed) resumed, \(network) over the network")
        XCTAssertGreaterThanOrEqual(total, chunks)
        XCTAssertLessThanOrEqual(total, chunks + kills * TransferTest.maxWindow)
    }

    /// `gigi downloads` lists a killed fetch; `gigi fetch --resume` (no code, no address)
    /// finishes it with what was on disk; `--discard` deletes another one and its partial file.
    func testDownloadsListsAKilledFetchAndResumeFinishesIt() throws {
        let d = try TransferTest.Dirs(for: self, "gigi-downloads")
        let file = d.src.appendingPathComponent("resume-me.bin")
        try TransferTest.writeRandom(file, size: 32 << 20)
        let sharer = try SharerProcess(test: self, home: d.alice, paths: [file.path], extra: ["--keep"])
        let chunks = try XCTUnwrap(sharer.indexed["chunks"] as? Int)
        let env = GigiProcess.environment(home: d.bob)

        let none = try GigiProcess.run(["fetch", "--resume"], environment: env)
        XCTAssertEqual(none.status, 66, none.stderr)
        XCTAssertTrue(none.stderr.contains("No partial download"), none.stderr)

        let p = try TransferTest.startFetch(home: d.bob, peer: sharer.loopbackAddress, output: d.dst, code: sharer.code)
        XCTAssertTrue(TransferTest.waitUntilOnDisk(chunk: chunks / 2, in: d.dst, source: file, fetcher: p))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()

        let listed = try GigiProcess.run(["downloads", "--json"], environment: env)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let rows = listed.stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        XCTAssertEqual(rows.count, 1, listed.stdout)
        let row = try XCTUnwrap(rows.first)
        XCTAssertEqual(row["names"] as? [String], ["resume-me.bin"])
        XCTAssertEqual(row["bytes_total"] as? Int, 32 << 20)
        XCTAssertEqual(row["resumable"] as? Bool, true)
        let onDisk = try XCTUnwrap(row["bytes_on_disk"] as? Int)
        XCTAssertGreaterThan(onDisk, 16 << 20)
        XCTAssertLessThan(onDisk, 32 << 20)
        XCTAssertFalse(listed.stdout.contains(sharer.code), "the code must not be printed")
        let human = try GigiProcess.run(["downloads"], environment: env)
        XCTAssertTrue(human.stdout.contains("resume-me.bin"), human.stdout)

        let r = try GigiProcess.run(["fetch", "--resume", "--json"], environment: env, timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try TransferTest.lastJSON(r)
        let resumed = try XCTUnwrap(j["resumed_chunks"] as? Int), network = try XCTUnwrap(j["network_chunks"] as? Int)
        XCTAssertGreaterThanOrEqual(resumed, chunks / 2 + 1 - TransferTest.maxWindow)   // (streams finish out of order)
        XCTAssertEqual(resumed + network, chunks)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path,
                                                        andPath: d.dst.appendingPathComponent("resume-me.bin").path))
        XCTAssertEqual(try GigiProcess.run(["downloads", "--json"], environment: env).stdout, "")

        // Another partial download (over the network: the chunks are held locally now), discarded:
        // record and partial file gone.
        let other = d.root.appendingPathComponent("other")
        let q = try TransferTest.startFetch(home: d.bob, peer: sharer.loopbackAddress, output: other, code: sharer.code,
                                            extra: ["--no-reuse"])
        XCTAssertTrue(TransferTest.waitUntilOnDisk(chunk: 4, in: other, source: file, fetcher: q))
        kill(q.processIdentifier, SIGKILL)
        q.waitUntilExit()
        XCTAssertEqual(TransferTest.partials(in: other).count, 1)
        let id = try XCTUnwrap(try GigiProcess.run(["downloads", "--json"], environment: env).stdout
            .split(separator: "\n").first.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["download"] as? Int)
        let bad = try GigiProcess.run(["fetch", "--resume", "x"], environment: env)
        XCTAssertEqual(bad.status, 64, bad.stderr)
        let gone = try GigiProcess.run(["downloads", "--discard", String(id)], environment: env)
        XCTAssertEqual(gone.status, 0, gone.stderr)
        XCTAssertEqual(TransferTest.partials(in: other), [])
        XCTAssertEqual(try GigiProcess.run(["downloads", "--json"], environment: env).stdout, "")
        sharer.stop()
    }

    /// A directory fetched into a new place is built in one hidden staging directory and
    /// renamed into place whole: a killed fetch leaves no part of the tree under its name,
    /// only `.gigi-partial-…`; `gigi downloads` counts the bytes in it, `--resume` finishes
    /// the tree from them, and `--discard` deletes another one's staging directory.
    func testKilledTreeLeavesOnlyItsStagingDirectoryAndResumes() throws {
        let d = try TransferTest.Dirs(for: self, "gigi-staged")
        let tree = d.src.appendingPathComponent("album")
        let big = tree.appendingPathComponent("raw/big.bin")
        try TransferTest.writeRandom(big, size: 24 << 20)
        try TransferTest.writeRandom(tree.appendingPathComponent("a.txt"), size: 1000)
        try TransferTest.writeRandom(tree.appendingPathComponent("raw/b.bin"), size: 300_000)
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("empty"), withIntermediateDirectories: true)
        let sharer = try SharerProcess(test: self, home: d.alice, paths: [tree.path], extra: ["--keep"])
        let env = GigiProcess.environment(home: d.bob)

        func killMidway(into dst: URL, extra: [String] = []) throws -> URL {
            let p = try TransferTest.startFetch(home: d.bob, peer: sharer.loopbackAddress, output: dst, code: sharer.code, extra: extra)
            var staged: URL? = nil
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && p.isRunning && staged == nil {
                if let s = TransferTest.partials(in: dst).first {
                    let partial = s.appendingPathComponent("raw/big.bin")
                    if TransferTest.chunksOnDisk(partial: partial, source: big, chunks: 40, only: 39)[0] { staged = s }
                }
                usleep(5_000)
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let s = try XCTUnwrap(staged, "the fetch never wrote 10 MiB into a staging directory")
            // Nothing under the tree's own name; the staging directory holds the tree as it came.
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dst.path), [s.lastPathComponent])
            var isDir: ObjCBool = false
            XCTAssertTrue(FileManager.default.fileExists(atPath: s.path, isDirectory: &isDir) && isDir.boolValue)
            return s
        }

        let staging = try killMidway(into: d.dst)
        let listed = try GigiProcess.run(["downloads", "--json"], environment: env)
        let row = try XCTUnwrap(listed.stdout.split(separator: "\n").first.flatMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        XCTAssertEqual(row["names"] as? [String], ["album"])
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(row["bytes_on_disk"] as? Int), 10 << 20)

        let r = try GigiProcess.run(["fetch", "--resume", "--json"], environment: env, timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try TransferTest.lastJSON(r)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(j["resumed_chunks"] as? Int), 40 - TransferTest.maxWindow)
        let got = d.dst.appendingPathComponent("album")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d.dst.path), ["album"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: staging.path))
        for name in ["a.txt", "raw/b.bin", "raw/big.bin"] {
            XCTAssertTrue(FileManager.default.contentsEqual(atPath: tree.appendingPathComponent(name).path,
                                                            andPath: got.appendingPathComponent(name).path), name)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: got.appendingPathComponent("empty").path), [])

        // Another one, discarded: its staging directory goes with it.
        let other = d.root.appendingPathComponent("other")
        _ = try killMidway(into: other, extra: ["--no-reuse"])
        let id = try XCTUnwrap(try GigiProcess.run(["downloads", "--json"], environment: env).stdout
            .split(separator: "\n").first.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["download"] as? Int)
        let gone = try GigiProcess.run(["downloads", "--discard", String(id)], environment: env)
        XCTAssertEqual(gone.status, 0, gone.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: other.path), [])
        sharer.stop()
    }

    /// Kills while the fetcher starts up (as soon as the sharer reports the PAKE done:
    /// the fetcher is checking its partial file and writing its LMDB record) lose nothing
    /// that an earlier run had verified.
    func testFetcherKilledDuringStartupLosesNothing() throws {
        let d = try TransferTest.Dirs(for: self, "gigi-earlykill")
        let file = d.src.appendingPathComponent("early.bin")
        try TransferTest.writeRandom(file, size: 32 << 20)
        let sharer = try SharerProcess(test: self, home: d.alice, paths: [file.path], extra: ["--keep"])
        let chunks = try XCTUnwrap(sharer.indexed["chunks"] as? Int)
        // First run: killed half way, so there is a partial file to check on every start.
        let first = try TransferTest.startFetch(home: d.bob, peer: sharer.loopbackAddress, output: d.dst, code: sharer.code)
        XCTAssertTrue(TransferTest.waitUntilOnDisk(chunk: chunks / 2, in: d.dst, source: file, fetcher: first))
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let partial = try XCTUnwrap(TransferTest.partials(in: d.dst).first)
        let before = TransferTest.chunksOnDisk(partial: partial, source: file, chunks: chunks).filter { $0 }.count
        // Chunk chunks/2 is on disk; the two chunk streams may still have had up to a window
        // of earlier chunks in flight.
        XCTAssertGreaterThanOrEqual(before, chunks / 2 + 1 - TransferTest.maxWindow)
        let early = 3
        for i in 0..<early {
            let p = try TransferTest.startFetch(home: d.bob, peer: sharer.loopbackAddress, output: d.dst, code: sharer.code)
            XCTAssertNotNil(sharer.waitFor(event: "fetch_started", count: 2 + i, timeout: 30))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        }
        let r = try GigiProcess.run(["fetch", "--json", "--peer", sharer.loopbackAddress, "-o", d.dst.path, sharer.code],
                                    environment: GigiProcess.environment(home: d.bob), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try TransferTest.lastJSON(r)
        let resumed = try XCTUnwrap(j["resumed_chunks"] as? Int), network = try XCTUnwrap(j["network_chunks"] as? Int)
        XCTAssertGreaterThanOrEqual(resumed, before, "a kill during start-up lost verified chunks")
        XCTAssertEqual(resumed + network, chunks)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path, andPath: d.dst.appendingPathComponent("early.bin").path))
        // The sharer's count covers every run of this fetcher (one peer ID).
        let served = try XCTUnwrap(sharer.waitFor(event: "fetch_completed", timeout: 20)?["chunks_served"] as? Int)
        print("start-up kills: \(before) chunks on disk before \(early) early kills; last run resumed \(resumed), "
              + "fetched \(network); sharer served \(served) for \(chunks)")
        XCTAssertLessThanOrEqual(served, chunks + (1 + early) * TransferTest.maxWindow)
        sharer.stop()
    }

    /// The sharer is killed in the middle of a fetch: the fetcher stops with a
    /// clear error, and a fetch from a restarted sharer resumes.
    func testSharerKilledMidFetchThenResumed() throws {
        let d = try TransferTest.Dirs(for: self, "gigi-sharerkill")
        let file = d.src.appendingPathComponent("mid.bin")
        try TransferTest.writeRandom(file, size: 48 << 20)
        let sharer1 = try SharerProcess(test: self, home: d.alice, paths: [file.path])
        let chunks = try XCTUnwrap(sharer1.indexed["chunks"] as? Int)
        let out = Pipe(), err = Pipe()
        let fetch = try GigiProcess.start(["fetch", "--json", "--peer", sharer1.loopbackAddress, "-o", d.dst.path, sharer1.code],
                                          environment: GigiProcess.environment(home: d.bob), stdout: out, stderr: err)
        let half = chunks / 2
        let reached = TransferTest.waitUntilOnDisk(chunk: half, in: d.dst, source: file, fetcher: fetch)
        kill(sharer1.process.processIdentifier, SIGKILL)
        XCTAssertTrue(reached, "the fetch never reached half way")
        let stopBy = Date().addingTimeInterval(60)
        while fetch.isRunning && Date() < stopBy { usleep(20_000) }
        if fetch.isRunning { kill(fetch.processIdentifier, SIGKILL) }
        fetch.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(fetch.terminationReason, .exit, "the fetcher hung after the sharer died")
        XCTAssertEqual(fetch.terminationStatus, 69, stderr)
        XCTAssertTrue(stderr.contains("Run the same command again to resume"), stderr)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, "one sentence, not a dump: \(stderr)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.dst.appendingPathComponent("mid.bin").path))

        let sharer2 = try SharerProcess(test: self, home: d.alice, paths: [file.path])
        let r = try GigiProcess.run(["fetch", "--json", "--peer", sharer2.loopbackAddress, "-o", d.dst.path, sharer2.code],
                                    environment: GigiProcess.environment(home: d.bob), timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try TransferTest.lastJSON(r)
        let resumed = try XCTUnwrap(j["resumed_chunks"] as? Int), network = try XCTUnwrap(j["network_chunks"] as? Int)
        print("sharer killed at ≥ chunk \(half) of \(chunks): the next fetch resumed \(resumed), fetched \(network)")
        XCTAssertGreaterThanOrEqual(resumed, half + 1 - TransferTest.maxWindow)   // (streams finish out of order)
        XCTAssertEqual(resumed + network, chunks)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path, andPath: d.dst.appendingPathComponent("mid.bin").path))
    }

    /// v1 of a 64 MiB file is fetched; 1 MiB in the middle changes (not on a
    /// chunk boundary, so it touches 5 chunks); fetching v2 into the same place
    /// moves only those 5 over the network and copies the rest locally. Then
    /// v3 changes an aligned 1 MiB: 4 chunks.
    func testChangedMiddleMovesOnlyChangedChunks() throws {
        let d = try TransferTest.Dirs(for: self, "gigi-incr")
        let file = d.src.appendingPathComponent("v.bin")
        try TransferTest.writeRandom(file, size: 64 << 20)
        let v1 = try SharerProcess(test: self, home: d.alice, paths: [file.path])
        let chunks = try XCTUnwrap(v1.indexed["chunks"] as? Int)
        let r1 = try GigiProcess.run(["fetch", "--json", "--peer", v1.loopbackAddress, "-o", d.dst.path, v1.code],
                                     environment: GigiProcess.environment(home: d.bob), timeout: 120)
        XCTAssertEqual(r1.status, 0, "\(r1.stderr); sharer: \(v1.stderrText)")
        XCTAssertEqual(try TransferTest.lastJSON(r1)["network_chunks"] as? Int, chunks)
        XCTAssertEqual(v1.waitForExit(timeout: 20), 0)

        // 1 MiB in the middle, first off any chunk boundary (5 chunks), then on one (4 chunks).
        var previous = v1.indexed["manifest"] as? String
        for (offset, expected) in [((32 << 20) + 100_000, 5), (16 << 20, 4)] {
            let length = 1 << 20
            try TransferTest.scribble(file, offset: offset, length: length)
            let changed = (offset + length - 1) / TransferTest.chunkSize - offset / TransferTest.chunkSize + 1
            XCTAssertEqual(changed, expected)

            let next = try SharerProcess(test: self, home: d.alice, paths: [file.path])
            XCTAssertNotEqual(next.indexed["manifest"] as? String, previous)
            previous = next.indexed["manifest"] as? String
            let r = try GigiProcess.run(["fetch", "--json", "--overwrite", "--peer", next.loopbackAddress, "-o", d.dst.path, next.code],
                                        environment: GigiProcess.environment(home: d.bob), timeout: 120)
            XCTAssertEqual(r.status, 0, "\(r.stderr); sharer: \(next.stderrText)")
            let j = try TransferTest.lastJSON(r)
            print("incremental: 1 MiB changed at offset \(offset) of 64 MiB: \(j["network_chunks"] ?? "?") of \(chunks) chunks "
                  + "over the network, \(j["local_chunks"] ?? "?") copied locally (expected \(changed) / \(chunks - changed))")
            XCTAssertEqual(j["network_chunks"] as? Int, changed)
            XCTAssertEqual(j["local_chunks"] as? Int, chunks - changed)
            XCTAssertEqual(j["resumed_chunks"] as? Int, 0)
            let completed = try XCTUnwrap(next.waitFor(event: "fetch_completed", timeout: 20))
            XCTAssertEqual(completed["chunks_served"] as? Int, changed, "the sharer's count of chunks sent")
            XCTAssertEqual(next.waitForExit(timeout: 20), 0)
            XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path, andPath: d.dst.appendingPathComponent("v.bin").path))
        }
        XCTAssertEqual(TransferTest.partials(in: d.dst), [])
    }
}
