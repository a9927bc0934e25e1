// One rule for progress reports (terminal meter, `--json` lines, daemon events).

import Foundation

/// Lets a progress value through at most `perSecond` times a second, always the
/// final one, and never the same value twice in a row.
public final class ProgressThrottle: @unchecked Sendable {
    private let interval: TimeInterval
    private let lock = NSLock()
    private var last = Date.distantPast
    private var lastValue: UInt64?

    public init(perSecond: Double = 10) { interval = 1 / perSecond }

    public func due(_ value: UInt64, final: Bool) -> Bool {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard value != lastValue, final || now.timeIntervalSince(last) >= interval else { return false }
        last = now
        lastValue = value
        return true
    }
}
