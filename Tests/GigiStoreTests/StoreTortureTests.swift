import Foundation
import XCTest
@testable import GigiStore

/// Crash safety and multi-process use, with real processes: `gigi-store-tool torture`
/// commits transactions as fast as it can and reports each commit on stdout.
final class StoreTortureTests: XCTestCase {
    var toolPath: String {
        // The test bundle sits next to the package's executables in .build/<config>/.
        let bundle = Bundle(for: StoreTortureTests.self).bundleURL
        let candidates = [bundle, bundle.deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        let paths = candidates.map { $0.appendingPathComponent("gigi-store-tool").path }
        return paths.first { FileManager.default.isExecutableFile(atPath: $0) } ?? paths[0]
    }

    /// A running `gigi-store-tool torture DIR`, spawned directly (no Foundation.Process:
    /// its exit monitoring adds latency to every round).
    struct Writer {
        let pid: pid_t
        let stdout: Int32
    }

    func startWriter(_ dir: String) throws -> Writer {
        let tool = toolPath
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            throw StoreTorture.Violation(description: "\(tool) missing: run `swift build` first")
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw StoreTorture.Violation(description: "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(tool), strdup("torture"), strdup(dir), nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, tool, &actions, nil, argv, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw StoreTorture.Violation(description: "posix_spawn failed: \(rc)")
        }
        return Writer(pid: pid, stdout: fds[0])
    }

    /// Reads one line of the writer's output (blocking).
    func readLine(_ w: Writer) -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(w.stdout, &byte, 1) == 1, byte != 0x0a { line.append(byte) }
        return String(decoding: line, as: UTF8.self)
    }

    /// Kills the writer with SIGKILL and returns the highest sequence number it reported as
    /// committed, and whether it died of the signal (rather than on its own).
    func kill(_ w: Writer) -> (reported: UInt64, killed: Bool) {
        Glibc.kill(w.pid, SIGKILL)
        var status: Int32 = 0
        waitpid(w.pid, &status, 0)
        var rest: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(w.stdout, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            rest.append(contentsOf: buffer[0..<n])
        }
        close(w.stdout)
        let reported = String(decoding: rest, as: UTF8.self).split(separator: "\n").compactMap { line in
            line.hasPrefix("committed ") ? UInt64(line.dropFirst("committed ".count)) : nil
        }.max() ?? 0
        let killed = (status & 0x7f) == SIGKILL  // WIFSIGNALED && WTERMSIG == SIGKILL
        return (reported, killed)
    }

    func testSIGKILLAtRandomMomentsNeverLosesOrTearsACommit() throws {
        let dir = try makeTemporaryDirectory(self)
        var lastHead: UInt64 = 0
        var killsMidRun = 0
        for round in 0..<50 {
            let writer = try startWriter(dir)
            // Wait for the first commit report, then kill at a random moment of the write loop.
            let first = readLine(writer)
            XCTAssertTrue(first.hasPrefix("committed "), "round \(round): \(first)")
            usleep(UInt32.random(in: 0...30_000))
            let (last, killed) = kill(writer)
            let reported = max(last, UInt64(first.dropFirst("committed ".count)) ?? 0)
            XCTAssertTrue(killed, "round \(round): the writer died on its own")
            let torture = try StoreTorture(path: dir)
            let head = try torture.verify()  // throws if any invariant is broken
            torture.store.environment.close()
            // Everything reported committed is there; at most the one commit whose report the kill cut off is extra.
            XCTAssertGreaterThanOrEqual(head, max(reported, lastHead), "round \(round)")
            if reported > 0 {
                XCTAssertLessThanOrEqual(head, reported + 1, "round \(round)")
                killsMidRun += 1
            }
            lastHead = head
        }
        XCTAssertEqual(killsMidRun, 50, "every kill lands while transactions are being committed")
        XCTAssertGreaterThan(lastHead, StoreTorture.window, "the run should reach the delete window")
    }

    func testOneProcessWritesWhileAnotherReads() throws {
        let dir = try makeTemporaryDirectory(self)
        let writer = try startWriter(dir)
        defer { _ = kill(writer) }
        // This process reads while the other one writes (and grows the map).
        let reader = try StoreTorture(path: dir)
        defer { reader.store.environment.close() }
        var seen: [UInt64] = []
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let head = try reader.verify()
            if seen.last != head { seen.append(head) }
            if head > 150 && seen.count > 3 { break }
        }
        XCTAssertGreaterThan(seen.count, 3, "the reader saw the writer's progress: \(seen)")
        XCTAssertEqual(seen, seen.sorted(), "snapshots never go backwards")
        XCTAssertGreaterThan(seen.last ?? 0, 150)
    }
}
