// Runs the py-libp2p 0.8.1 peers of Tests/Interop/peers as child processes.

import Foundation
import NIOConcurrencyHelpers
import XCTest

/// Where the interop pieces live: the repo's `.venv-interop` (made by scripts/setup-interop)
/// and `Tests/Interop/peers`.
enum Interop {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let peers = repoRoot.appendingPathComponent("Tests/Interop/peers")
    static let python = repoRoot.appendingPathComponent(".venv-interop/bin/python")

    /// The venv's python, or: a failure on CI (where scripts/test must have set it up),
    /// a visible skip elsewhere.
    static func requirePython() throws -> URL {
        if FileManager.default.isExecutableFile(atPath: python.path) { return python }
        let why = "py-libp2p is not installed: \(python.path) is missing; run scripts/setup-interop"
        if ProcessInfo.processInfo.environment["CI"] != nil {
            throw GigiInteropFailure(why + " (CI is set, so the interop tests must run)")
        }
        throw XCTSkip(why)
    }
}

/// One py peer process. Its stdout is collected line by line; stderr goes to a
/// temporary file shown when something fails. `stop()` ends it (closing stdin
/// first, which the listener exits on, then SIGTERM, then SIGKILL).
final class PyPeer: @unchecked Sendable {
    let name: String
    private let process = Process()
    private let stdin = Pipe()
    private let stdout = Pipe()
    private let stderrURL: URL
    private let output = NIOLockedValueBox((lines: [String](), partial: [UInt8](), closed: false))

    init(_ script: String, _ arguments: [String]) throws {
        name = script
        let python = try Interop.requirePython()
        stderrURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("gigi-interop-\(script)-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = python
        process.arguments = [Interop.peers.appendingPathComponent(script).path] + arguments
        process.currentDirectoryURL = Interop.peers
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
        let handle = stdout.fileHandleForReading
        let output = self.output
        Thread.detachNewThread {
            while true {
                let data = handle.availableData
                output.withLockedValue { state in
                    guard !data.isEmpty else { state.closed = true; return }
                    state.partial += data
                    while let newline = state.partial.firstIndex(of: UInt8(ascii: "\n")) {
                        state.lines.append(String(decoding: state.partial[..<newline], as: UTF8.self))
                        state.partial.removeSubrange(...newline)
                    }
                }
                if data.isEmpty { return }
            }
        }
    }

    deinit { stop() }

    var lines: [String] { output.withLockedValue { $0.lines } }
    var stderrText: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Line `index` (0-based) of stdout, waiting at most `timeout`.
    func line(_ index: Int, within timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (lines, closed) = output.withLockedValue { ($0.lines, $0.closed) }
            if lines.count > index { return lines[index] }
            if closed { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw GigiInteropFailure("\(name) printed no line \(index + 1) within \(timeout); stderr:\n\(stderrText.suffix(3000))")
    }

    /// The exit status, waiting at most `timeout` (then the process is killed and this throws).
    func exitStatus(within timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard !process.isRunning else {
            let failure = GigiInteropFailure("\(name) did not finish within \(timeout); stderr:\n\(stderrText.suffix(3000))")
            stop()
            throw failure
        }
        // Let the reader thread drain the pipe.
        for _ in 0..<250 where !output.withLockedValue({ $0.closed }) { try await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }

    /// Ends the process if it still runs and deletes its stderr file.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        if process.isRunning {
            process.terminate()
            for _ in 0..<100 where process.isRunning { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: stderrURL)
    }
}

struct GigiInteropFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
