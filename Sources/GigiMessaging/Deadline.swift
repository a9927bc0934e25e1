// Timeouts for operations that do not observe cancellation themselves (host dials, stream reads).

import NIOConcurrencyHelpers

struct DMTimeoutError: Error, CustomStringConvertible {
    let what: String
    var description: String { "\(what) timed out" }
}

private struct DeadlineSlot<T: Sendable>: Sendable {
    var continuation: CheckedContinuation<T, any Error>?
    var result: Result<T, any Error>?
    var timer: Task<Void, Never>?
}

/// Runs `operation`; if it has not finished after `timeout`, or the calling task is
/// cancelled, returns by throwing (`DMTimeoutError` / `CancellationError`) and then runs
/// `onTimeout` (e.g. reset the stream so the abandoned operation ends too).
func withDeadline<T: Sendable>(_ timeout: Duration, _ what: String,
                               onTimeout: @escaping @Sendable () async -> Void = {},
                               _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let box = NIOLockedValueBox(DeadlineSlot<T>())
    @Sendable func finish(_ result: Result<T, any Error>) -> Bool {
        let (won, continuation, timer) = box.withLockedValue { s -> (Bool, CheckedContinuation<T, any Error>?, Task<Void, Never>?) in
            guard s.result == nil else { return (false, nil, nil) }
            s.result = result
            defer { s.continuation = nil; s.timer = nil }
            return (true, s.continuation, s.timer)
        }
        timer?.cancel()
        continuation?.resume(with: result)
        return won
    }
    let timer = Task {
        try? await Task.sleep(for: timeout)
        if Task.isCancelled { return }
        if finish(.failure(DMTimeoutError(what: what))) { await onTimeout() }
    }
    let armed = box.withLockedValue { s -> Bool in
        if s.result == nil { s.timer = timer }
        return s.result == nil
    }
    if !armed { timer.cancel() }
    Task {
        do { _ = finish(.success(try await operation())) } catch { _ = finish(.failure(error)) }
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let ready = box.withLockedValue { s -> Result<T, any Error>? in
                if let r = s.result { return r }
                s.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    } onCancel: {
        if finish(.failure(CancellationError())) { Task { await onTimeout() } }
    }
}
