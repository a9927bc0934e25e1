// What the CLI shows: JSON lines, progress on a terminal, sizes and rates,
// and Ctrl-C handling. Library code never prints; commands use these.

import Dispatch
import Foundation
import GigiNode

/// One JSON object per line on standard output (keys sorted), when enabled.
struct JSONLines: Sendable {
    let enabled: Bool

    func emit(_ object: [String: JSONValue]) {
        guard enabled else { return }
        Console.out(JSONValue.object(object).text)
    }
}

enum Console {
    /// A line on standard output, written at once (no stdio buffering: a
    /// reader on a pipe sees the share code while the sharer waits).
    static func out(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// A line on standard error.
    static func err(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// Human sizes and rates (binary units, as `ls -h` and rsync show).
enum ByteCount {
    static func text(_ n: UInt64) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        var v = Double(n) / 1024
        var i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return String(format: v < 10 ? "%.1f %@" : "%.0f %@", v, units[i])
    }

    static func rate(_ n: UInt64, seconds: Double) -> String {
        String(format: "%.1f MB/s in %.2f s", Double(n) / 1e6 / max(seconds, 1e-6), seconds)
    }
}

/// A one-line progress display on standard error, redrawn at most 10 times a second.
final class ProgressMeter: @unchecked Sendable {
    private let enabled: Bool
    private let label: String
    private let lock = NSLock()
    private let throttle = ProgressThrottle()
    private let start = Date()
    private var drawn = false

    init(enabled: Bool, label: String) {
        self.enabled = enabled
        self.label = label
    }

    func update(_ done: UInt64, _ total: UInt64) {
        guard enabled else { return }
        guard throttle.due(done, final: done == total) else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let pct = total == 0 ? 100 : Int(Double(done) * 100 / Double(total))
        let secs = max(now.timeIntervalSince(start), 0.001)
        let line = "\r\(label) \(pct)%  \(ByteCount.text(done)) / \(ByteCount.text(total))  \(String(format: "%.1f", Double(done) / 1e6 / secs)) MB/s   "
        FileHandle.standardError.write(Data(line.utf8))
        drawn = true
    }

    /// Runs `body` (which prints) with the meter's line erased; the next update redraws it.
    func printAbove(_ body: () -> Void) {
        lock.lock(); defer { lock.unlock() }
        if enabled && drawn { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
        drawn = false
        body()
    }

    func finish() {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
        drawn = false
    }
}

/// SIGINT and SIGTERM as an awaitable event, so commands end cleanly
/// (state saved, sockets closed) instead of dying mid-write.
final class SignalWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var sources: [DispatchSourceSignal] = []

    static func interrupts() -> SignalWatcher {
        let w = SignalWatcher()
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [weak w] in w?.fire() }
            s.resume()
            w.sources.append(s)
        }
        return w
    }

    private func fire() {
        lock.lock()
        fired = true
        let ws = waiters
        waiters = []
        lock.unlock()
        for w in ws { w.resume() }
    }

    /// Returns when a signal arrives (or the task is cancelled).
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                lock.lock()
                if fired { lock.unlock(); c.resume(); return }
                waiters.append(c)
                lock.unlock()
            }
        } onCancel: {
            self.fire()
        }
    }
}

/// The result of `work`, or nil if a signal arrives first (the work is then left
/// running; the command is about to exit, and every write gigi makes is crash-safe).
func untilInterrupted<T: Sendable>(_ interrupt: SignalWatcher,
                                   _ work: @escaping @Sendable () async -> T) async -> T? {
    let once = OnceFlag()
    return await withCheckedContinuation { (c: CheckedContinuation<T?, Never>) in
        Task {
            let r = await work()
            if once.claim() { c.resume(returning: r) }
        }
        Task {
            await interrupt.wait()
            if once.claim() { c.resume(returning: nil) }
        }
    }
}

/// True for the first caller of `claim` only.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    func claim() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}


enum DurationText {
    /// "90s", "30m", "2h", "7d" or a plain number of seconds; nil if malformed.
    static func parseSeconds(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let last = t.last else { return nil }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = units[last] { return Double(t.dropLast()).map { $0 * unit } }
        return Double(t)
    }
}
