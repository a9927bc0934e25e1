// Bounding an operation in time when the operation itself cannot be cancelled
// (a network read waits for bytes; only resetting its stream stops it).

/// Runs `body`; if it has not finished `timeout` after the start (measured on
/// `clock`), calls `onTimeout` — which must make `body` return or throw soon,
/// e.g. by resetting the stream it reads — and throws `timeoutError()` once
/// `body` has ended. An error `body` throws first is rethrown as is.
public func withDeadline<T: Sendable, C: Clock>(
    after timeout: C.Duration, clock: C,
    onTimeout: @escaping @Sendable () async -> Void,
    timeoutError: @escaping @Sendable () -> any Error,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await clock.sleep(for: timeout)
            return nil
        }
        let first: T??
        do { first = try await group.next() } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
        if let finished = first, let value = finished { return value }
        await onTimeout()
        throw timeoutError()
    }
}
