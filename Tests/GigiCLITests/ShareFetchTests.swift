// End to end: `gigi share` and `gigi fetch` as real processes with two
// GIGI_HOMEs over loopback; results compared byte for byte.

import Foundation
import XCTest

final class ShareFetchTests: XCTestCase {
    struct Pair {
        let alice: URL, bob: URL, src: URL, dst: URL
    }

    func makePair() throws -> Pair {
        let root = try GigiProcess.temporaryDirectory(for: self, "gigi-sf")
        let p = Pair(alice: root.appendingPathComponent("alice"), bob: root.appendingPathComponent("bob"),
                     src: root.appendingPathComponent("src"), dst: root.appendingPathComponent("dst"))
        for d in [p.alice, p.bob, p.src, p.dst] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        }
        return p
    }

    func writeRandom(_ url: URL, size: Int) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var rng = SystemRandomNumberGenerator()
        var data = Data(count: size)
        data.withUnsafeMutableBytes { b in
            var i = 0
            while i + 8 <= b.count { b.storeBytes(of: rng.next() as UInt64, toByteOffset: i, as: UInt64.self); i += 8 }
            while i < b.count { b[i] = UInt8.random(in: 0...255); i += 1 }
        }
        try data.write(to: url)
    }

    func fetch(_ pair: Pair, _ sharer: SharerProcess, code: String? = nil, extra: [String] = [],
               timeout: TimeInterval = 120) throws -> GigiResult {
        try GigiProcess.run(["fetch", "--json", "--peer", sharer.loopbackAddress, "-o", pair.dst.path] + extra
                                + [code ?? sharer.code],
                            environment: GigiProcess.environment(home: pair.bob), timeout: timeout)
    }

    func json(_ r: GigiResult) throws -> [String: Any] {
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last, "no output; stderr: \(r.stderr)")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func assertSameTree(_ a: URL, _ b: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let fm = FileManager.default
        let la = try fm.subpathsOfDirectory(atPath: a.path).sorted()
        let lb = try fm.subpathsOfDirectory(atPath: b.path).sorted()
        XCTAssertEqual(la, lb, "different trees", file: file, line: line)
        for rel in la {
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: a.appendingPathComponent(rel).path, isDirectory: &isDir)
            if isDir.boolValue { continue }
            XCTAssertTrue(fm.contentsEqual(atPath: a.appendingPathComponent(rel).path,
                                           andPath: b.appendingPathComponent(rel).path), rel, file: file, line: line)
        }
    }

    func testFilesOfEdgeSizesArriveByteIdentical() throws {
        for size in [0, 1, 262_144, 262_145, 3 * 262_144 + 5] {
            let pair = try makePair()
            let file = pair.src.appendingPathComponent("f\(size).bin")
            try writeRandom(file, size: size)
            let sharer = try SharerProcess(test: self, home: pair.alice, paths: [file.path])
            XCTAssertEqual(sharer.indexed["bytes"] as? Int, size)
            let r = try fetch(pair, sharer)
            XCTAssertEqual(r.status, 0, r.stderr)
            let j = try json(r)
            XCTAssertEqual(j["event"] as? String, "completed")
            XCTAssertEqual(j["bytes"] as? Int, size)
            XCTAssertEqual(j["network_chunks"] as? Int, (size + 262_143) / 262_144)
            XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path,
                                                            andPath: pair.dst.appendingPathComponent("f\(size).bin").path))
            // Without --keep the sharer ends after one complete fetch.
            XCTAssertEqual(sharer.waitForExit(timeout: 20), 0, sharer.stderrText)
            XCTAssertNotNil(sharer.waitFor(event: "fetch_completed", timeout: 1))
        }
    }

    func testLargeFile() throws {
        let pair = try makePair()
        let file = pair.src.appendingPathComponent("big.bin")
        try writeRandom(file, size: 100 << 20)
        // The fetch starts as soon as the code is printed, while the sharer still indexes:
        // it proves the code, then waits for the manifest.
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [file.path], waitForIndexed: false)
        XCTAssertNil(sharer.ready["manifest"], "\(sharer.ready)")
        XCTAssertNotNil(sharer.ready["peer_id"] as? String)
        let r = try fetch(pair, sharer, timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try json(r)["network_chunks"] as? Int, 400)
        // ("indexed" comes once the SHA-256 pass is done too; the chunks may flow before.)
        let events = sharer.events.compactMap { $0["event"] as? String }
        XCTAssertEqual(events.first, "ready", "\(events)")
        let indexed = try XCTUnwrap(sharer.events.first { $0["event"] as? String == "indexed" })
        XCTAssertEqual(indexed["bytes"] as? Int, 100 << 20)
        XCTAssertEqual(indexed["chunks"] as? Int, 400)
        // The fetcher reports the complete manifest (digests in), the one the sharer names.
        XCTAssertEqual(indexed["manifest"] as? String, try json(r)["manifest"] as? String)
        // --json also streams progress lines (at most 10 a second), ending at the total.
        let progress = r.stdout.split(separator: "\n")
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
            .filter { $0["event"] as? String == "progress" }.compactMap { $0["bytes_done"] as? Int }
        XCTAssertFalse(progress.isEmpty)
        XCTAssertEqual(progress, progress.sorted())
        XCTAssertEqual(progress.last, 100 << 20)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path,
                                                        andPath: pair.dst.appendingPathComponent("big.bin").path))
    }

    /// A path that does not exist, or two with the same name, fail before any code is
    /// printed (the code is printed before indexing, so these are checked first).
    func testBadPathsFailBeforeACodeIsPrinted() throws {
        let pair = try makePair()
        let env = GigiProcess.environment(home: pair.alice)
        let listen = ["share", "--json", "--listen", "/ip4/127.0.0.1/tcp/0"]
        let missing = try GigiProcess.run(listen + [pair.src.appendingPathComponent("nope").path], environment: env)
        XCTAssertEqual(missing.status, 66, missing.stderr)
        XCTAssertEqual(missing.stdout, "")
        XCTAssertTrue(missing.stderr.contains("does not exist"), missing.stderr)
        let a = pair.src.appendingPathComponent("x/same"), b = pair.src.appendingPathComponent("y/same")
        try writeRandom(a, size: 10)
        try writeRandom(b, size: 10)
        let twice = try GigiProcess.run(listen + [a.path, b.path], environment: env)
        XCTAssertEqual(twice.status, 64, twice.stderr)
        XCTAssertEqual(twice.stdout, "")
        XCTAssertTrue(twice.stderr.contains("same name"), twice.stderr)
    }

    /// 600 files (empty, one chunk, several chunks) under a limit of 128 descriptors on
    /// both sides: neither keeps every file open. Fetched twice: as rsync would (write-back
    /// left to the kernel) and with --fsync (durable, with resume records as it goes).
    func testManyFilesUnderALowDescriptorLimitWithAndWithoutFsync() throws {
        let pair = try makePair()
        let tree = pair.src.appendingPathComponent("many")
        let sizes = (0..<600).map { i in i % 50 == 0 ? 0 : i % 7 == 0 ? 300_000 + i * 997 : 1 + i * 31 }
        for (i, size) in sizes.enumerated() {
            try writeRandom(tree.appendingPathComponent(String(format: "d%02d/f%04d.bin", i % 12, i)), size: size)
        }
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [tree.path], extra: ["--keep"],
                                       maxOpenFiles: 128)
        XCTAssertEqual(sharer.indexed["files"] as? Int, 600)
        let expectedChunks = sizes.reduce(0) { $0 + ($1 + (256 << 10) - 1) / (256 << 10) }
        for (run, extra) in [[], ["--fsync", "--no-reuse"]].enumerated() {
            let out = pair.dst.appendingPathComponent("run\(run)")
            let r = try GigiProcess.run(["fetch", "--json", "--peer", sharer.loopbackAddress, "-o", out.path] + extra
                                            + [sharer.code],
                                        environment: GigiProcess.environment(home: pair.bob), timeout: 120,
                                        maxOpenFiles: 128)
            XCTAssertEqual(r.status, 0, "run \(run): \(r.stderr)")
            XCTAssertEqual(try json(r)["network_chunks"] as? Int, expectedChunks, "run \(run)")
            try assertSameTree(tree, out.appendingPathComponent("many"))
            XCTAssertEqual(TransferTest.partials(in: out.appendingPathComponent("many")), [])
        }
        // Modes and modification times are the sharer's.
        let a = try FileManager.default.attributesOfItem(atPath: tree.appendingPathComponent("d01/f0001.bin").path)
        let b = try FileManager.default.attributesOfItem(
            atPath: pair.dst.appendingPathComponent("run0/many/d01/f0001.bin").path)
        XCTAssertEqual(a[.modificationDate] as? Date, b[.modificationDate] as? Date)
        XCTAssertEqual(a[.posixPermissions] as? Int, b[.posixPermissions] as? Int)
        sharer.stop()
    }

    /// On a terminal (`script` gives it one) fetch shows the offer and asks; "n" declines
    /// and writes nothing, "y" receives; --yes does not ask.
    func testOfferIsShownAndAskedOnATerminal() throws {
        let pair = try makePair()
        try writeRandom(pair.src.appendingPathComponent("asked.bin"), size: 300_000)
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [pair.src.appendingPathComponent("asked.bin").path],
                                       extra: ["--keep"])
        func onTerminal(_ answer: String?, extra: [String] = []) throws -> (status: Int32, output: String) {
            let cmd = ([GigiProcess.binary.path, "fetch", "--peer", sharer.loopbackAddress, "-o", pair.dst.path] + extra)
                .map { "'\($0)'" }.joined(separator: " ")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            p.arguments = ["-qec", cmd, "/dev/null"]
            p.environment = GigiProcess.environment(home: pair.bob, extra: ["GIGI_CODE": sharer.code])
            let input = Pipe(), output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            p.standardError = output
            try p.run()
            if let answer {
                // Answer once the question is on the terminal.
                var seen = Data()
                while !String(decoding: seen, as: UTF8.self).contains("[y/N]") {
                    let d = output.fileHandleForReading.availableData
                    if d.isEmpty { break }
                    seen.append(d)
                }
                input.fileHandleForWriting.write(Data((answer + "\n").utf8))
                let rest = output.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                return (p.terminationStatus, String(decoding: seen + rest, as: UTF8.self))
            }
            let all = output.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: all, as: UTF8.self))
        }
        let no = try onTerminal("n")
        XCTAssertEqual(no.status, 1, no.output)
        XCTAssertTrue(no.output.contains("Offered: asked.bin (1 file, 293 KiB)"), no.output)
        XCTAssertTrue(no.output.contains("Declined: nothing was received."), no.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: pair.dst.path), [])
        let yes = try onTerminal("y")
        XCTAssertEqual(yes.status, 0, yes.output)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: pair.src.appendingPathComponent("asked.bin").path,
                                                        andPath: pair.dst.appendingPathComponent("asked.bin").path))
        let unasked = try onTerminal(nil, extra: ["--yes", "--overwrite"])
        XCTAssertEqual(unasked.status, 0, unasked.output)
        XCTAssertFalse(unasked.output.contains("[y/N]"), unasked.output)
        sharer.stop()
    }

    /// `--expire`: an unfetched share ends on time (exit 0, a "closed" event); a fetch
    /// after that finds no share.
    func testShareExpiresUnfetched() throws {
        let pair = try makePair()
        let file = pair.src.appendingPathComponent("brief.bin")
        try writeRandom(file, size: 1000)
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [file.path], extra: ["--expire", "2s"])
        let started = Date()
        XCTAssertEqual(sharer.waitForExit(timeout: 20), 0, sharer.stderrText)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.0)
        XCTAssertEqual(sharer.waitFor(event: "closed", timeout: 1)?["reason"] as? String, "expired")
        let late = try fetch(pair, sharer)
        XCTAssertNotEqual(late.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pair.dst.appendingPathComponent("brief.bin").path))
    }

    func testDirectoryTreeWithEmptyDirsSpacesAndUTF8() throws {
        let pair = try makePair()
        let tree = pair.src.appendingPathComponent("My Photos")
        try writeRandom(tree.appendingPathComponent("a.bin"), size: 1000)
        try writeRandom(tree.appendingPathComponent("nested/deeper/ünïcødé file.txt"), size: 300_000)
        try writeRandom(tree.appendingPathComponent("nested/zero"), size: 0)
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("empty/inner"),
                                                withIntermediateDirectories: true)
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [tree.path])
        let r = try fetch(pair, sharer)
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try json(r)
        XCTAssertEqual(j["names"] as? [String], ["My Photos"])
        XCTAssertEqual(j["files"] as? Int, 3)
        try assertSameTree(tree, pair.dst.appendingPathComponent("My Photos"))
        let partials = try FileManager.default.subpathsOfDirectory(atPath: pair.dst.path).filter { $0.contains("partial") }
        XCTAssertEqual(partials, [])
    }

    func testWrongCodeIsCountedAndTheShareClosesAfterThree() throws {
        let pair = try makePair()
        let file = pair.src.appendingPathComponent("secret.txt")
        try writeRandom(file, size: 5000)
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [file.path])
        let parts = sharer.code.split(separator: "-")
        // Same nameplate, different words: a wrong guess.
        let wrongWord = parts[1] == "abandon" ? "ability" : "abandon"
        let wrong = ([String(parts[0]), wrongWord] + parts.dropFirst(2).map(String.init)).joined(separator: "-")
        for attempt in 1...3 {
            let r = try fetch(pair, sharer, code: wrong)
            XCTAssertEqual(r.status, 77, "attempt \(attempt): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("code is wrong"), r.stderr)
            XCTAssertFalse(r.stderr.contains(sharer.code), "the real code leaked")
            XCTAssertNotNil(sharer.waitFor(event: "wrong_code", count: attempt, timeout: 10))
        }
        XCTAssertNotNil(sharer.waitFor(event: "closed", timeout: 10))
        XCTAssertEqual(sharer.waitForExit(timeout: 10), 77)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pair.dst.appendingPathComponent("secret.txt").path))
    }

    func testTicketNeedsNoPeerAddress() throws {
        let pair = try makePair()
        let file = pair.src.appendingPathComponent("t.bin")
        try writeRandom(file, size: 600_000)
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [file.path], extra: ["--ticket"])
        let ticket = try XCTUnwrap(sharer.ticket)
        XCTAssertTrue(ticket.hasPrefix("gigi1"))
        let r = try GigiProcess.run(["fetch", "--json", "-o", pair.dst.path, ticket],
                                    environment: GigiProcess.environment(home: pair.bob), timeout: 60)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path,
                                                        andPath: pair.dst.appendingPathComponent("t.bin").path))
    }

    func testExistingTargetIsRefusedUnlessOverwrite() throws {
        let pair = try makePair()
        let file = pair.src.appendingPathComponent("doc.txt")
        try writeRandom(file, size: 10_000)
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [file.path], extra: ["--keep"])
        let target = pair.dst.appendingPathComponent("doc.txt")
        try Data("mine".utf8).write(to: target)
        let refused = try fetch(pair, sharer)
        XCTAssertEqual(refused.status, 73, refused.stderr)
        XCTAssertEqual(try Data(contentsOf: target), Data("mine".utf8), "an existing file was touched")
        let r = try fetch(pair, sharer, extra: ["--overwrite"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: file.path, andPath: target.path))
        sharer.stop()
    }

    func testCodeFromEnvironmentAndBadCodes() throws {
        let pair = try makePair()
        let env = GigiProcess.environment(home: pair.bob)
        // Malformed codes fail before any network use, with exit 65.
        for bad in ["4821-notaword-lantern-velvet", "oops"] {
            let r = try GigiProcess.run(["fetch", "--peer", "/ip4/127.0.0.1/tcp/9", bad], environment: env)
            XCTAssertEqual(r.status, 65, "\(bad): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        // No code anywhere, no terminal: a usage error, not a hang.
        let none = try GigiProcess.run(["fetch", "--peer", "/ip4/127.0.0.1/tcp/9"], environment: env, timeout: 20)
        XCTAssertEqual(none.status, 64, none.stderr)

        let file = pair.src.appendingPathComponent("e.txt")
        try writeRandom(file, size: 100)
        let sharer = try SharerProcess(test: self, home: pair.alice, paths: [file.path])
        var withCode = env
        withCode["GIGI_CODE"] = sharer.code.uppercased().replacingOccurrences(of: "-", with: " ")
        let r = try GigiProcess.run(["fetch", "--peer", sharer.loopbackAddress, "-o", pair.dst.path],
                                    environment: withCode)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Verified"), r.stdout)
    }

    func testUnreachablePeerIsExit69() throws {
        let pair = try makePair()
        let r = try GigiProcess.run(["fetch", "--peer", "/ip4/127.0.0.1/tcp/1", "1234-abandon-ability-able"],
                                    environment: GigiProcess.environment(home: pair.bob), timeout: 60)
        XCTAssertEqual(r.status, 69, r.stderr)
    }

    func testSharingAMissingPathIsExit66() throws {
        let pair = try makePair()
        let r = try GigiProcess.run(["share", "--listen", "/ip4/127.0.0.1/tcp/0", pair.src.appendingPathComponent("nope").path],
                                    environment: GigiProcess.environment(home: pair.alice), timeout: 30)
        XCTAssertEqual(r.status, 66, r.stderr)
    }
}
