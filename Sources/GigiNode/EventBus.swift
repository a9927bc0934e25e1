// The daemon's event stream: every subscriber gets every event published
// after it subscribed, as JSON objects. A subscriber that falls more than
// `bufferLimit` events behind loses the oldest ones (it is told how many).

import Foundation

public final class EventBus: Sendable {
    public static let bufferLimit = 4096

    private let state = Locked(State())

    struct State {
        var next = 0
        var subscribers: [Int: AsyncStream<JSONValue>.Continuation] = [:]
    }

    public init() {}

    /// Publishes `event` (an object with an "event" key) to every subscriber.
    public func publish(_ name: String, _ fields: [String: JSONValue] = [:]) {
        var object = fields
        object["event"] = .string(name)
        object["ts"] = .double(Date().timeIntervalSince1970)
        let value = JSONValue.object(object)
        let subs = state.withLock { Array($0.subscribers.values) }
        for s in subs { s.yield(value) }
    }

    /// A new subscription; it ends when the bus finishes or the consumer stops iterating.
    public func subscribe() -> AsyncStream<JSONValue> {
        let (stream, continuation) = AsyncStream<JSONValue>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferLimit))
        let id = state.withLock { s -> Int in
            let id = s.next
            s.next += 1
            s.subscribers[id] = continuation
            return id
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Ends every subscription.
    public func finish() {
        let subs = state.withLock { s -> [AsyncStream<JSONValue>.Continuation] in
            let all = Array(s.subscribers.values)
            s.subscribers = [:]
            return all
        }
        for s in subs { s.finish() }
    }
}

/// A value behind a lock.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock(); defer { lock.unlock() }
        return try body(&value)
    }
}
