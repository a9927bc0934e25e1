// End-to-end tests of `gigi hash` (the built binary) against b3sum and
// sha256sum, implementations nobody here wrote.

import Foundation
import XCTest

final class HashCommandTests: XCTestCase {
    static let b3sum = "/usr/bin/b3sum"
    static let chunk = 256 * 1024

    /// Runs a reference tool; returns its standard output.
    func tool(_ path: String, _ args: [String], stdin: Data? = nil) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe(), inPipe = Pipe()
        p.standardOutput = out
        p.standardInput = inPipe
        try p.run()
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try inPipe.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Deterministic bytes: a simple LCG, so chunks differ from each other.
    static func bytes(_ count: Int, seed: UInt32 = 1) -> Data {
        var x = seed
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            x = x &* 1_664_525 &+ 1_013_904_223
            out[i] = UInt8(truncatingIfNeeded: x >> 24)
        }
        return Data(out)
    }

    func setUpDir() throws -> (home: URL, env: [String: String]) {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Self.b3sum), "b3sum not installed")
        let home = try GigiProcess.temporaryDirectory(for: self, "gigi-hash")
        return (home, GigiProcess.environment(home: home))
    }

    func testChunksOfThreeChunksPlusFiveBytesMatchB3sumOfThePieces() throws {
        let (dir, env) = try setUpDir()
        let data = Self.bytes(3 * Self.chunk + 5)
        let file = dir.appendingPathComponent("sample.bin")
        try data.write(to: file)
        let r = try GigiProcess.run(["hash", "--chunks", file.path], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, try tool(Self.b3sum, [file.path]).trimmingCharacters(in: .newlines))
        let chunkLines = lines.filter { $0.hasPrefix("  chunk ") }
        XCTAssertEqual(chunkLines.count, 4, r.stdout)
        for (i, line) in chunkLines.enumerated() {
            let f = line.split(separator: " ").map(String.init)
            // chunk I offset O length L blake3 H
            XCTAssertEqual(f.count, 8, line)
            guard f.count == 8 else { continue }
            let offset = i * Self.chunk, length = i < 3 ? Self.chunk : 5
            XCTAssertEqual([f[0], f[1], f[2], f[3], f[4], f[5], f[6]],
                           ["chunk", "\(i)", "offset", "\(offset)", "length", "\(length)", "blake3"])
            let piece = data.subdata(in: offset..<(offset + length))
            let expected = try tool(Self.b3sum, ["--no-names"], stdin: piece).trimmingCharacters(in: .newlines)
            XCTAssertEqual(f[7], expected, "chunk \(i)")
        }
    }

    func testOutputEqualsB3sumForSeveralFilesAndStrangeNames() throws {
        let (dir, env) = try setUpDir()
        var paths: [String] = []
        let names = ["empty", "one byte", "back\\slash", "new\nline", "both\\and\nthis", "cr\rname",
                     "one chunk", "big", "ünïcode"]
        let sizes = [0, 1, 10, 20, 30, 40, Self.chunk, 9 * 1024 * 1024 + 3, 1025]
        for (i, (name, size)) in zip(names, sizes).enumerated() {
            let url = dir.appendingPathComponent(name)
            try Self.bytes(size, seed: UInt32(i + 7)).write(to: url)
            paths.append(url.path)
        }
        let r = try GigiProcess.run(["hash"] + paths, environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, try tool(Self.b3sum, paths))
        // One thread and the portable kernel give the same output.
        let one = try GigiProcess.run(["hash", "--threads", "1"] + paths,
                                      environment: env.merging(["GIGI_BLAKE3_KERNEL": "portable"]) { $1 })
        XCTAssertEqual(one.stdout, r.stdout)
    }

    func testNonUTF8NameIsOpenedAndShownAsB3sumShowsIt() throws {
        let (dir, env) = try setUpDir()
        var raw = Array(dir.path.utf8) + Array("/bad".utf8) + [0xff] + Array("name".utf8)
        raw.append(0)
        let fd = open(raw.map { CChar(bitPattern: $0) }, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(write(fd, "abc", 3), 3)
        close(fd)
        // The argument goes through the shell as raw bytes; Process would re-encode it.
        let script = "cd \"$1\" && \"$2\" hash bad$'\\xff'name; echo \"rc=$?\"; \"$3\" bad$'\\xff'name"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script, "bash", dir.path, GigiProcess.binary.path, Self.b3sum]
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3, text)
        guard lines.count == 3 else { return }
        XCTAssertEqual(lines[1], "rc=0")
        XCTAssertEqual(lines[0], lines[2])
        XCTAssertTrue(lines[0].hasSuffix("  bad\u{FFFD}name"), lines[0])
    }

    func testStandardInputEqualsB3sum() throws {
        let (_, env) = try setUpDir()
        let input = String(repeating: "gigi hash from a pipe\n", count: 5000)
        let expected = try tool(Self.b3sum, [], stdin: Data(input.utf8))
        XCTAssertTrue(expected.hasSuffix("  -\n"))
        for args in [["hash"], ["hash", "-"]] {
            let r = try GigiProcess.run(args, environment: env, input: input)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, expected, "\(args)")
        }
    }

    func testMissingFileIsOneSentenceAndExit66AndOthersStillHashed() throws {
        let (dir, env) = try setUpDir()
        let r = try GigiProcess.run(["hash", "missing.txt"], environment: env)
        XCTAssertEqual(r.status, 66)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "gigi: missing.txt: no such file; check the name and try again.\n")

        let good = dir.appendingPathComponent("good")
        try Data("good".utf8).write(to: good)
        let both = try GigiProcess.run(["hash", "missing.txt", good.path], environment: env)
        XCTAssertEqual(both.status, 66)
        XCTAssertEqual(both.stdout, try tool(Self.b3sum, [good.path]))
        XCTAssertEqual(both.stderr.split(separator: "\n").count, 1, both.stderr)
    }

    func testDirectoryIsAClearErrorWithExit66() throws {
        let (dir, env) = try setUpDir()
        let r = try GigiProcess.run(["hash", dir.path], environment: env)
        XCTAssertEqual(r.status, 66)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("is a directory; gigi hash takes files (use gigi share for directories)"),
                      r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }

    func testFileThatCannotBeOpenedIsExit74() throws {
        let (dir, env) = try setUpDir()
        // A symlink loop fails to open (ELOOP) even for root, unlike mode 000.
        let loop = dir.appendingPathComponent("loop")
        XCTAssertEqual(symlink(loop.path, loop.path), 0)
        let r = try GigiProcess.run(["hash", loop.path], environment: env)
        XCTAssertEqual(r.status, 74, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot be opened"), r.stderr)
    }

    func testFullStandardOutputIsExit74() throws {
        let (dir, env) = try setUpDir()
        let file = dir.appendingPathComponent("f")
        try Data("x".utf8).write(to: file)
        let full = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))  // every write fails: ENOSPC
        let err = Pipe()
        let p = Process()
        p.executableURL = GigiProcess.binary
        p.arguments = ["hash", file.path]
        p.environment = env
        p.standardOutput = full
        p.standardError = err
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 74)
        XCTAssertTrue(message.contains("writing standard output failed"), message)
    }

    func testJSONParsesAndMatchesB3sumAndSha256sum() throws {
        let (dir, env) = try setUpDir()
        let data = Self.bytes(2 * Self.chunk + 100)
        let file = dir.appendingPathComponent("j \"quoted\".bin")
        try data.write(to: file)
        let empty = dir.appendingPathComponent("empty")
        try Data().write(to: empty)
        let r = try GigiProcess.run(["hash", "--json", "--sha256", "--chunks", file.path, empty.path], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        guard lines.count == 2 else { return }
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        XCTAssertEqual(obj["name"] as? String, file.path)
        XCTAssertEqual(obj["size"] as? Int, data.count)
        XCTAssertEqual(obj["blake3"] as? String, try tool(Self.b3sum, ["--no-names", file.path]).trimmingCharacters(in: .newlines))
        let sha = try tool("/usr/bin/sha256sum", [file.path]).split(separator: " ").first.map(String.init)
        XCTAssertEqual(obj["sha256"] as? String, sha)
        let chunks = try XCTUnwrap(obj["chunks"] as? [[String: Any]])
        XCTAssertEqual(chunks.map { $0["length"] as? Int }, [Self.chunk, Self.chunk, 100])
        XCTAssertEqual(chunks.map { $0["offset"] as? Int }, [0, Self.chunk, 2 * Self.chunk])
        XCTAssertEqual(chunks.map { $0["index"] as? Int }, [0, 1, 2])
        let last = try tool(Self.b3sum, ["--no-names"], stdin: data.subdata(in: 2 * Self.chunk..<data.count))
        XCTAssertEqual(chunks.last?["blake3"] as? String, last.trimmingCharacters(in: .newlines))

        let e = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        XCTAssertEqual(e["size"] as? Int, 0)
        XCTAssertEqual((e["chunks"] as? [[String: Any]])?.count, 1)  // an empty file has one empty chunk
        XCTAssertEqual(e["sha256"] as? String, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

        let plain = try GigiProcess.run(["hash", "--json", empty.path], environment: env)
        let p = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        XCTAssertNil(p["sha256"])
        XCTAssertNil(p["chunks"])
    }

    func testSha256LineMatchesSha256sum() throws {
        let (dir, env) = try setUpDir()
        let file = dir.appendingPathComponent("s.bin")
        try Self.bytes(9 * 1024 * 1024 + 17).write(to: file)
        let r = try GigiProcess.run(["hash", "--sha256", file.path], environment: env)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let sha = try tool("/usr/bin/sha256sum", [file.path]).split(separator: " ").first.map(String.init) ?? "?"
        XCTAssertEqual(lines, [try tool(Self.b3sum, [file.path]).trimmingCharacters(in: .newlines), "  sha256  \(sha)"])
    }
}
