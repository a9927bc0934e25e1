// Deadlines without a timer task per message: one loop per service fires the actions of
// expired deadlines (reset a stalled stream, answer a waiting `send`). Arming and
// disarming is a dictionary operation under a lock.

import NIOConcurrencyHelpers

final class DMWatchdog: Sendable {
    typealias Action = @Sendable () async -> Void

    private struct Entry: Sendable {
        let deadline: ContinuousClock.Instant
        let action: Action
    }

    private struct State: Sendable {
        var next: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var closed = false
    }

    private let state = NIOLockedValueBox(State())
    private let clock = ContinuousClock()

    /// Runs `action` once `timeout` has passed, unless disarmed first. Returns the token.
    /// After `close`, the action runs at once instead (nothing may outlive a stopped service).
    func arm(after timeout: Duration, _ action: @escaping Action) -> UInt64 {
        let deadline = clock.now + timeout
        let (token, closed) = state.withLockedValue { s -> (UInt64, Bool) in
            s.next += 1
            if !s.closed { s.entries[s.next] = Entry(deadline: deadline, action: action) }
            return (s.next, s.closed)
        }
        if closed { Task { await action() } }
        return token
    }

    /// Fires every deadline now and every later one as soon as it is armed.
    func close() async {
        state.withLockedValue { $0.closed = true }
        await fire(all: true)
    }

    /// Cancels a deadline; false if it already fired (or never existed).
    @discardableResult
    func disarm(_ token: UInt64) -> Bool {
        state.withLockedValue { $0.entries.removeValue(forKey: token) } != nil
    }

    /// Fires every expired deadline (or all of them, at shutdown).
    func fire(all: Bool = false) async {
        let now = clock.now
        let due: [Action] = state.withLockedValue { s in
            let expired = all ? Array(s.entries.keys) : s.entries.compactMap { $0.value.deadline <= now ? $0.key : nil }
            return expired.compactMap { s.entries.removeValue(forKey: $0)?.action }
        }
        for action in due { await action() }
    }

    /// Checks every `interval` until the task is cancelled.
    func run(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            await fire()
        }
    }

    var armed: Int { state.withLockedValue { $0.entries.count } }
}

struct DMTimeoutError: Error, CustomStringConvertible {
    let what: String
    var description: String { "\(what) timed out" }
}
