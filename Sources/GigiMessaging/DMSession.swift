// Plumbing of `/gigi/dm/2.0.0` sessions (DMWire.swift has the format): the bounded FIFO
// that joins a session's writing side to its reading side.

import NIOConcurrencyHelpers

/// A FIFO between one producer and one consumer, bounded by a count and a byte total.
///
/// Capacity is taken by `push` and given back by `release`, not by `pop`: the consumer
/// decides when an item stops counting (a sender's request counts until its result is
/// committed; a receiver's batch until its answers are written).
final class DMBoundedQueue<Element: Sendable>: Sendable {
    private struct State: Sendable {
        var items: [(element: Element, count: Int, bytes: Int)] = []
        var head = 0
        var usedCount = 0
        var usedBytes = 0
        var finished = false
        var consumer: CheckedContinuation<Element?, Never>?
        var producer: CheckedContinuation<Void, Never>?
    }

    let maxCount: Int
    let maxBytes: Int
    private let state = NIOLockedValueBox(State())

    init(maxCount: Int, maxBytes: Int = .max) {
        self.maxCount = maxCount
        self.maxBytes = maxBytes
    }

    /// Free capacity (count, bytes); (0, 0) once finished.
    var space: (count: Int, bytes: Int) {
        state.withLockedValue { s in s.finished ? (0, 0) : (maxCount - s.usedCount, maxBytes - s.usedBytes) }
    }

    var isFinished: Bool { state.withLockedValue { $0.finished } }

    /// True if nothing pushed is still counted (all released).
    var isIdle: Bool { state.withLockedValue { $0.usedCount == 0 } }

    /// Whether an item of `bytes` fits now (one item always fits into an empty queue).
    func fits(count: Int, bytes: Int) -> Bool {
        state.withLockedValue { s in
            !s.finished && s.usedCount + count <= maxCount && (s.usedBytes + bytes <= maxBytes || s.usedCount == 0)
        }
    }

    /// Appends an item that takes `count` and `bytes` of capacity (the caller checked `fits`).
    /// False once finished (the item is dropped).
    @discardableResult
    func push(_ element: Element, count: Int = 1, bytes: Int = 0) -> Bool {
        let consumer = state.withLockedValue { s -> CheckedContinuation<Element?, Never>?? in
            guard !s.finished else { return nil }
            s.usedCount += count
            s.usedBytes += bytes
            if let c = s.consumer {
                s.consumer = nil
                return .some(c)
            }
            s.items.append((element, count, bytes))
            return .some(nil)
        }
        guard let consumer else { return false }
        consumer?.resume(returning: element)
        return true
    }

    /// The oldest item; nil once finished and empty.
    func pop() async -> Element? {
        await withCheckedContinuation { (c: CheckedContinuation<Element?, Never>) in
            let ready = state.withLockedValue { s -> Element?? in
                if s.head < s.items.count {
                    let e = s.items[s.head].element
                    s.head += 1
                    if s.head > 64, s.head * 2 > s.items.count {
                        s.items.removeFirst(s.head)
                        s.head = 0
                    }
                    return .some(e)
                }
                if s.finished { return .some(nil) }
                s.consumer = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }

    /// The oldest item if there is one (never waits).
    func popNow() -> Element? {
        state.withLockedValue { s in
            guard s.head < s.items.count else { return nil }
            let e = s.items[s.head].element
            s.head += 1
            return e
        }
    }

    /// Gives capacity back and wakes a producer waiting in `waitForSpace`.
    func release(count: Int, bytes: Int = 0) {
        let producer = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
            s.usedCount = max(0, s.usedCount - count)
            s.usedBytes = max(0, s.usedBytes - bytes)
            defer { s.producer = nil }
            return s.producer
        }
        producer?.resume()
    }

    /// Returns when some capacity is free, or the queue is finished.
    func waitForSpace() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { s -> Bool in
                if s.finished || s.usedCount < maxCount && s.usedBytes < maxBytes { return true }
                s.producer = c
                return false
            }
            if now { c.resume() }
        }
    }

    /// No more pushes; a waiting consumer gets nil once the queue is empty, a waiting
    /// producer returns. Returns the items not yet popped.
    @discardableResult
    func finish() -> [Element] {
        let (consumer, producer, rest) = state.withLockedValue {
            s -> (CheckedContinuation<Element?, Never>?, CheckedContinuation<Void, Never>?, [Element]) in
            s.finished = true
            let rest = s.items[s.head...].map(\.element)
            s.items = []
            s.head = 0
            defer { s.consumer = nil; s.producer = nil }
            return (s.consumer, s.producer, rest)
        }
        consumer?.resume(returning: nil)
        producer?.resume()
        return rest
    }

    /// No more pushes, but a consumer still gets the queued items, then nil.
    func finishProducing() {
        let (consumer, producer) = state.withLockedValue {
            s -> (CheckedContinuation<Element?, Never>?, CheckedContinuation<Void, Never>?) in
            s.finished = true
            let done = s.head >= s.items.count
            defer { if done { s.consumer = nil }; s.producer = nil }
            return (done ? s.consumer : nil, s.producer)
        }
        consumer?.resume(returning: nil)
        producer?.resume()
    }
}
