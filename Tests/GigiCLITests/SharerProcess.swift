// A running `gigi share --json` process for end-to-end tests: its JSON lines
// are collected as they arrive, the first ("ready") gives the code, ticket and
// addresses, the next ("indexed") the manifest id and counts. The process is
// killed when the test ends.

import Foundation
import XCTest

final class SharerProcess: @unchecked Sendable {
    let process: Process
    private let lock = NSLock()
    private var buffer = Data()
    private var lines: [[String: Any]] = []
    private var stderrData = Data()
    private(set) var ready: [String: Any] = [:]
    /// The "indexed" line (manifest, files, directories, bytes, chunks); empty if not waited for.
    private(set) var indexed: [String: Any] = [:]

    var code: String { ready["code"] as! String }
    var ticket: String? { ready["ticket"] as? String }
    var addresses: [String] { ready["addrs"] as? [String] ?? [] }
    /// The loopback address (tests dial only loopback).
    var loopbackAddress: String { addresses.first { $0.hasPrefix("/ip4/127.") } ?? addresses[0] }

    /// Starts `gigi share --json --listen /ip4/127.0.0.1/tcp/0 extra... paths...` and waits for
    /// "ready", then (`waitForIndexed`) for "indexed".
    init(test: XCTestCase, home: URL, paths: [String], extra: [String] = [], timeout: TimeInterval = 60,
         maxOpenFiles: Int? = nil, waitForIndexed: Bool = true) throws {
        let out = Pipe(), err = Pipe()
        let args = ["share", "--json", "--listen", "/ip4/127.0.0.1/tcp/0"] + extra + paths
        process = try GigiProcess.start(args, environment: GigiProcess.environment(home: home), stdout: out, stderr: err,
                                        maxOpenFiles: maxOpenFiles)
        let p = process
        test.addTeardownBlock {
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            if d.isEmpty { h.readabilityHandler = nil; return }
            self.lock.lock()
            self.buffer.append(d)
            while let nl = self.buffer.firstIndex(of: 0x0a) {
                let line = self.buffer[self.buffer.startIndex..<nl]
                self.buffer.removeSubrange(self.buffer.startIndex...nl)
                if let obj = try? JSONSerialization.jsonObject(with: line) as? [String: Any] { self.lines.append(obj) }
            }
            self.lock.unlock()
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self else { return }
            if d.isEmpty { h.readabilityHandler = nil; return }
            self.lock.lock(); self.stderrData.append(d); self.lock.unlock()
        }
        guard let first = waitFor(event: "ready", timeout: timeout) else {
            kill(process.processIdentifier, SIGKILL)
            throw GigiTestError.timeout(args: args, stderr: stderrText)
        }
        ready = first
        if waitForIndexed {
            guard let i = waitFor(event: "indexed", timeout: timeout) else {
                kill(process.processIdentifier, SIGKILL)
                throw GigiTestError.timeout(args: args, stderr: stderrText)
            }
            indexed = i
        }
    }

    var stderrText: String { lock.lock(); defer { lock.unlock() }; return String(decoding: stderrData, as: UTF8.self) }

    /// Every JSON line so far.
    var events: [[String: Any]] { lock.lock(); defer { lock.unlock() }; return lines }

    /// The first line whose "event" is `event`, waiting up to `timeout`.
    func waitFor(event: String, count: Int = 1, timeout: TimeInterval = 30) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let matches = events.filter { $0["event"] as? String == event }
            if matches.count >= count { return matches[count - 1] }
            if !process.isRunning {
                let again = events.filter { $0["event"] as? String == event }
                return again.count >= count ? again[count - 1] : nil
            }
            usleep(20_000)
        }
        return nil
    }

    /// Waits for the process to exit; its status, or nil on timeout.
    func waitForExit(timeout: TimeInterval = 30) -> Int32? {
        GigiProcess.waitForExit(process, timeout: timeout)
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        _ = waitForExit(timeout: 10)
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }
}
